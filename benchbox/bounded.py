"""httpx clients with bounds: a body-size cap, a whole-answer deadline, pacing and TLS choice.

Why: httpx's timeouts bound each *read*, so a target that trickles one byte a second never times
out, and `response.content` keeps whatever a target sends (10 MB, or more). Every httpx client
benchbox makes (preflight, contract discovery and checks, adversarial) comes from `client()`
here, so no phase can be held forever or made to buffer without bound, and every phase respects
`--max-rps` and `--insecure` in one place. A transport wrapper (httpx's documented extension
point) is used rather than per-call code, so the bound holds for `.get()`, `.post()` and `.send()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from benchbox.brakes import Pacer

# The default of --max-body: bodies are cut off past it. A prediction is far smaller; a model
# that answers more is worth a look, and a flag away.
MAX_BODY_BYTES = 4 * 1024 * 1024


class BodyTooLarge(httpx.ReadError):
    """The answer's body passed MAX_BODY_BYTES; reading stopped there."""


class AnswerTooSlow(httpx.ReadTimeout):
    """The whole answer did not arrive within the deadline (bytes kept trickling in)."""


class _BoundedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, request: httpx.Request, max_bytes: int, deadline: float) -> None:
        self._inner, self._request = inner, request
        self._max_bytes, self._deadline = max_bytes, deadline

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            seen += len(chunk)
            if seen > self._max_bytes:
                raise BodyTooLarge(f"response body larger than {self._max_bytes // 1024} KiB: reading stopped there",
                                   request=self._request)
            if time.monotonic() > self._deadline:
                raise AnswerTooSlow("the body was still arriving at the request's deadline "
                                    f"({seen} bytes so far)", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class BoundedTransport(httpx.BaseTransport):
    """Wraps httpx's HTTPTransport: every answer bounded in size and total time, sends paced."""

    def __init__(self, *, timeout_s: float, verify: bool = True, max_rps: float | None = None,
                 max_bytes: int = MAX_BODY_BYTES) -> None:
        self._inner = httpx.HTTPTransport(verify=verify, retries=0)
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._pacer = Pacer(max_rps)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._pacer.wait()
        # The whole answer gets as long as one read may take (a per-request timeout= narrows it).
        read = (request.extensions.get("timeout") or {}).get("read")
        deadline = time.monotonic() + (read if read is not None else self._timeout_s)
        response = self._send(request)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            response.close()
            raise BodyTooLarge(f"response body of {int(length) // 1024} KiB announced, over the "
                               f"{self._max_bytes // 1024} KiB benchbox reads", request=request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_BoundedStream(response.stream, request, self._max_bytes, deadline),
                              extensions=response.extensions)

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send once; re-send once on a new connection when a kept-alive one was found closed.

        Why: servers may close a kept-alive connection right after an answer without saying
        `Connection: close` (uvicorn does after a 500 from the app). The next request on it then
        fails with no answer, and the failure would be blamed on an input that did nothing (its
        curl line gets a normal answer). httpx drops the dead connection, so the second send opens
        a new one; an input that really breaks the connection fails again and is reported as such.
        """
        try:
            return self._inner.handle_request(request)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            if not (_no_answer(exc) and isinstance(request.stream, httpx.ByteStream)):
                raise
            first = exc
        self._pacer.wait()
        try:
            return self._inner.handle_request(request)
        except httpx.ConnectError:
            raise first from None  # the target is gone: the first failure says more

    def close(self) -> None:
        self._inner.close()


def _no_answer(exc: httpx.HTTPError) -> bool:
    """A connection closed or reset before any byte of the answer (not a garbled answer)."""
    if isinstance(exc, httpx.RemoteProtocolError):
        return "without sending a response" in str(exc)
    return True


def client(*, timeout_s: float, headers: Mapping[str, str] | None = None, insecure: bool = False,
           max_rps: float | None = None, max_bytes: int = MAX_BODY_BYTES, trust_env: bool = True,
           **kwargs: Any) -> httpx.Client:
    """An httpx.Client whose every answer is bounded (see the module docstring)."""
    return httpx.Client(headers=dict(headers or {}), timeout=timeout_s, trust_env=trust_env,
                        transport=BoundedTransport(timeout_s=timeout_s, verify=not insecure, max_rps=max_rps,
                                                   max_bytes=max_bytes),
                        **kwargs)


def describe(exc: httpx.HTTPError) -> str:
    """One line about a transport failure, by kind, for findings and problems."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, BodyTooLarge):
        return f"too_large: {text}"
    if isinstance(exc, httpx.ConnectError) and ("CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower()):
        return f"tls: {text} (use --insecure to accept a self-signed certificate)"
    if isinstance(exc, httpx.ConnectError) and ("Name or service not known" in text or "nodename" in text
                                                or "name resolution" in text or "No address" in text):
        return f"dns: {text}"
    if isinstance(exc, httpx.ConnectError):
        return f"connect: {text}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout: {text if isinstance(exc, AnswerTooSlow) else type(exc).__name__}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError)):
        return f"protocol: not a valid HTTP answer ({text[:120]})"
    if isinstance(exc, httpx.ReadError):
        return f"reset: {text}"
    return f"{type(exc).__name__}: {text}"
