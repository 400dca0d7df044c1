"""A lean keep-alive HTTP connection for the load phase, on geventhttpclient.

Locust's FastHttpUser spends most of its CPU in its wrapper around geventhttpclient (field
notes: 81 %); driving geventhttpclient's HTTPClient directly does the same wire work at about
twice the speed. Each Locust user owns one Connection, so one user is one TCP connection, as in
wrk. Only this module and its siblings import gevent; they run in the generator process.
A failure is counted under benchbox.error_kinds' vocabulary, the one the parent's requests use.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

import gevent
from geventhttpclient import HTTPClient

from benchbox.error_kinds import BodyTooLarge, classify
from benchbox.load.spec import RequestSpec
from benchbox.version import __version__

_READ_BLOCK = 65536
SAMPLE_BYTES = 65536


class Outcome:
    """What one request came to; a plain slotted class because one is made per request."""

    __slots__ = ("status", "error_kind", "detail", "sent_at", "done_at", "keep", "body", "content_type")

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep  # keep the answer's first bytes: a sample for the contract checks
        self.body = b""
        self.content_type = ""
        self.status: int | None = None
        self.error_kind: str | None = None
        self.detail = ""
        self.sent_at = 0.0
        self.done_at = 0.0


_TLS_CONTEXTS: dict[bool, ssl.SSLContext] = {}


def _tls_context(insecure: bool) -> Callable[..., ssl.SSLContext]:
    """One TLS context per process, shared by every connection.

    geventhttpclient builds a context (loading the CA bundle, ~10-20 ms of CPU) per client; with
    hundreds of connections that blocked the hub for seconds and timed out requests in flight.
    --insecure: geventhttpclient's own `insecure` only skips the host-name check and still
    rejects a self-signed certificate, so accepting any certificate needs CERT_NONE too."""

    def factory(cafile: str | None = None) -> ssl.SSLContext:
        context = _TLS_CONTEXTS.get(insecure)
        if context is None:
            import gevent.ssl

            context = gevent.ssl.create_default_context(cafile=cafile)
            if insecure:
                context.check_hostname = False
                context.verify_mode = gevent.ssl.CERT_NONE
            _TLS_CONTEXTS[insecure] = context
        return context

    return factory


@lru_cache(maxsize=16)
def _address(url: str) -> tuple[str, int | None, bool, str]:
    """Host, port, TLS and request path of a URL: parsed once per phase, not once per user (a
    probe spawns up to thousands of users, and their start-up is the gap between probes)."""
    parts = urlsplit(url)
    uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname or "localhost", parts.port, parts.scheme == "https", uri


class Connection:
    """One keep-alive connection to the target, rebuilt after any error."""

    def __init__(self, request: RequestSpec, *, insecure: bool = False) -> None:
        self._host, self._port, self._ssl, self.uri = _address(request.url)
        self._insecure = insecure or request.insecure
        self.method = request.method.upper()
        self.timeout = request.timeout_s
        self.max_body = request.max_body_bytes
        headers = {"User-Agent": f"benchbox/{__version__}"}
        headers.update(dict(request.headers))
        self._headers = headers
        self._sock: socket.socket | None = None
        self._client = self._new_client()

    def _new_client(self) -> HTTPClient:
        client = HTTPClient(
            self._host,
            self._port,
            headers=self._headers,
            concurrency=1,
            ssl=self._ssl,
            insecure=self._insecure,
            connection_timeout=self.timeout,
            network_timeout=self.timeout,
            ssl_context_factory=(_tls_context(self._insecure) if self._ssl else None),
        )
        # geventhttpclient does not set TCP_NODELAY; without it loopback runs show 40 ms
        # delayed-ACK stalls (field notes). We also keep the socket to close it on a timeout.
        client._connection_pool.after_connect = self._after_connect  # type: ignore[method-assign]
        return client

    def _after_connect(self, sock: socket.socket) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self._sock = sock

    def _reset(self, rebuild: bool = True) -> None:
        """Throw the connection away: after a timeout or an error its state is unknown."""
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing a broken client must not fail the run
            pass
        if rebuild:
            self._client = self._new_client()

    def send(self, body: bytes | None, out: Outcome, headers: dict[str, str] | None = None) -> Outcome:
        """Send one request and read the whole answer (in blocks, never keeping more than one)."""
        timer = gevent.Timeout(self.timeout)
        timer.start()
        out.sent_at = time.perf_counter()
        try:
            response = self._client.request(self.method, self.uri, body=body, headers=headers)
            try:
                kept = bytearray()
                seen = 0
                while block := response.read(_READ_BLOCK):
                    seen += len(block)
                    if seen > self.max_body:
                        raise BodyTooLarge(
                            f"answer body over {self.max_body} bytes (--max-body): reading stopped there"
                        )
                    if out.keep and len(kept) < SAMPLE_BYTES:
                        kept += block
                if out.keep:
                    out.body = bytes(kept[:SAMPLE_BYTES])
                    ctype = response.get("content-type")
                    out.content_type = ctype if isinstance(ctype, str) else (ctype[0] if ctype else "")
            finally:
                response.release()
            out.status = response.status_code
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            out.error_kind, out.detail = "timeout", f"no complete answer within {self.timeout:g}s"
            self._reset()
        except Exception as exc:  # noqa: BLE001 - every failure is data about the target
            out.error_kind, out.detail = classify(exc), f"{type(exc).__name__}: {exc}"
            self._reset()
        finally:
            timer.close()
        out.done_at = time.perf_counter()
        return out

    def close(self) -> None:
        self._reset(rebuild=False)
