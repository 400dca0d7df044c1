"""How a request failed, in one vocabulary for every process: the parent's httpx layer
(benchbox.bounded) and the load generator's gevent client (benchbox.load.client) both classify here.

Why one module, low and import-free: `errors_by_kind` in a load phase and the `reset:`/`timeout:`
words of a contract finding or a preflight problem must name the same fault the same way, or a
reader comparing them is misled. Both clients end at the same OS-level cause (a refused
connection is ConnectionRefusedError under httpx's ConnectError and under geventhttpclient
alike), so that cause is read first; the clients' own exception types are only consulted when
the cause says nothing, and only if their library is already loaded (`sys.modules`): an httpx
error cannot exist in a process that never imported httpx, so importing either library here
would only cost time (and, in the generator, would import ssl before gevent patches it).
"""

from __future__ import annotations

import errno
import socket
import ssl
import sys
from collections.abc import Iterator
from typing import Literal, get_args

ErrorKind = Literal["connect", "dns", "tls", "timeout", "reset", "protocol", "too_large", "socket", "client"]
KINDS: tuple[str, ...] = get_args(ErrorKind)

TEXT_CHARS = 160  # of the exception's own words, in `describe`: a finding's error stays one short line
_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
_CONNECT_ERRNOS = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})


class BodyTooLarge(Exception):
    """The answer's body passed --max-body; reading stopped there. One class for both clients:
    a runaway body would otherwise hold a connection (and memory, and CPU) hostage."""


class AnswerTooSlow(TimeoutError):
    """The whole answer did not arrive within the deadline (bytes kept trickling in): httpx bounds
    each read, not the answer, so the parent's layer checks the clock itself."""


def classify(exc: BaseException) -> ErrorKind:
    """The kind of one failed request, from the exception either client raised."""
    chain = list(_chain(exc))
    for e in chain:  # the OS-level cause, whichever client wrapped it
        kind = _cause_kind(e)
        if kind is not None:
            return kind
    for e in chain:  # what the client itself said
        kind = _client_kind(e)
        if kind is not None:
            return kind
    return "client"


def finding_kind(kind: str | None) -> Literal["timeout", "crash"]:
    """What a request that got no answer is, as a finding: a `timeout` (the no_hang rule) or a
    `crash` (the target dropped it). The transport's kind stays first in the finding's error text."""
    return "timeout" if kind == "timeout" else "crash"


def describe(exc: BaseException) -> str:
    """One line about a failed request, its kind first (`timeout: ...`), for findings and problems."""
    kind = classify(exc)
    text = (str(exc) or type(exc).__name__)[:TEXT_CHARS]
    if kind == "tls":
        return f"tls: {text} (use --insecure to accept a self-signed certificate)"
    if kind == "timeout" and not isinstance(exc, AnswerTooSlow):
        return f"timeout: {type(exc).__name__}"
    if kind == "protocol":
        return f"protocol: not a valid HTTP answer ({text})"
    if kind == "client":
        return f"client: {type(exc).__name__}: {text}"
    return f"{kind}: {text}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _cause_kind(e: BaseException) -> ErrorKind | None:
    if isinstance(e, BodyTooLarge):
        return "too_large"
    if isinstance(e, socket.gaierror):
        return "dns"
    if isinstance(e, (ssl.SSLError, ssl.CertificateError)):
        return "tls"
    if isinstance(e, ConnectionRefusedError):
        return "connect"
    if isinstance(e, TimeoutError):  # socket.timeout too, and AnswerTooSlow
        return "timeout"
    if isinstance(e, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(e, OSError) and e.errno in _RESET_ERRNOS:
        return "reset"
    if isinstance(e, OSError) and e.errno in _CONNECT_ERRNOS:
        return "connect"
    return None


def _client_kind(e: BaseException) -> ErrorKind | None:
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(e, httpx.HTTPError):
        if isinstance(e, httpx.TimeoutException):
            return "timeout"
        if isinstance(e, httpx.ConnectError):
            return "connect"
        if isinstance(e, httpx.RemoteProtocolError) and _closed(str(e)):
            return "reset"  # the peer closed the connection: geventhttpclient says HTTPConnectionClosed
        if isinstance(e, (httpx.ProtocolError, httpx.DecodingError)):
            return "protocol"
        if isinstance(e, (httpx.ReadError, httpx.WriteError)):
            return "reset"
        if isinstance(e, httpx.NetworkError):
            return "socket"
        return "client"
    gevent_response = sys.modules.get("geventhttpclient.response")
    if gevent_response is not None:
        if isinstance(e, gevent_response.HTTPConnectionClosed):
            return "reset"
        if isinstance(e, gevent_response.HTTPParseError):
            return "protocol"
    gevent = sys.modules.get("gevent")
    if gevent is not None and isinstance(e, gevent.Timeout):
        return "timeout"
    if isinstance(e, ValueError):  # geventhttpclient's parser on a malformed status line or header
        return "protocol"
    if isinstance(e, OSError):
        return "socket"
    name = type(e).__name__.lower()  # requests' and urllib3's wrappers, from a user's locustfile
    if "timeout" in name:
        return "timeout"
    if "connect" in name:
        return "connect"
    return None


def _closed(text: str) -> bool:
    text = text.lower()
    return "disconnected" in text or "peer closed" in text or "connection closed" in text
