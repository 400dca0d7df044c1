"""The load phase's lean HTTP/1.1 client: pre-built request bytes and a small answer reader.

Why: profiling the generator (closed loop, one core) showed ~15 % of its CPU in geventhttpclient
rebuilding the same request for every send and ~10 % in its general response parser. A load
phase sends one template again and again, so its bytes are built once per body and written to a
keep-alive socket as they are; the answer is read by a reader that knows only what an HTTP/1.1
answer can be: a status line, headers, then a body framed by Content-Length, chunked encoding or
the end of the connection. Anything it does not understand is a `protocol` error, as it was with
geventhttpclient (`Connection` in client.py stays for a user's locustfile and the LLM stream).
Timing, sampling, errors and their kinds are the same as `Connection`'s, so the figures keep
their meaning: `sent_at` before the connect (if any) and the write, `done_at` after the last
body byte.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

import gevent

from benchbox.error_kinds import BodyTooLarge, classify
from benchbox.load.client import SAMPLE_BYTES, Connection, Outcome, _address, _tls_context
from benchbox.load.spec import RequestSpec
from benchbox.version import __version__

_READ = 65536
MAX_HEAD_BYTES = 65536  # a status line and headers longer than this are not an answer we can use
MAX_CACHED_BYTES = 8 * 1024 * 1024  # pre-built requests kept per template (a few large bodies)
# The full client instead of this one (a diagnostic and benchmark switch: benchmarks/generator.py
# compares both in one run).
CLIENT_ENV = "BENCHBOX_LOAD_CLIENT"
Recv = Callable[[int], bytes]
_TOKEN = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # RFC 9110 field names and values
_FIELD_VALUE = re.compile(r"\A[\t\x20-\x7e\x80-\xff]*\Z")


class ProtocolError(ValueError):
    """Not a valid HTTP/1.x answer (error_kinds counts a ValueError as `protocol`)."""


class _Stale(Exception):
    """A reused keep-alive connection was closed by the target before any byte of the answer."""


def connection_class(request: RequestSpec) -> type[Connection] | type[WireConnection]:
    """The lean client, unless the diagnostic switch asks for geventhttpclient."""
    return Connection if os.environ.get(CLIENT_ENV) == "geventhttpclient" else WireConnection


class Template:
    """One request's bytes: the head built once, the whole request once per distinct body."""

    def __init__(self, request: RequestSpec) -> None:
        parts = urlsplit(request.url)
        _, _, _, uri = _address(request.url)
        method = request.method.upper()
        given = {name.lower() for name, _ in request.headers}
        lines = [f"{method} {uri} HTTP/1.1"]
        if "host" not in given:
            lines.append(f"Host: {parts.netloc.rpartition('@')[2]}")
        if "user-agent" not in given:
            lines.append(f"User-Agent: benchbox/{__version__}")
        lines += [f"{name}: {value}" for name, value in request.headers if name.lower() != "content-length"]
        # A header that would break the request's framing (a CR or LF in a value) fails each send as
        # geventhttpclient's check did: counted as an error of the phase, never written to the wire.
        self._invalid = next(
            (
                f"invalid header field {name!r}"
                for name, value in request.headers
                if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value)
            ),
            None,
        )
        self._head = ("\r\n".join(lines) + "\r\n").encode("utf-8")
        # geventhttpclient said Content-Length: 0 for a body-less POST/PUT/PATCH; some servers insist.
        empty = b"Content-Length: 0\r\n" if method in ("POST", "PUT", "PATCH") else b""
        self._no_body = self._head + empty + b"\r\n"
        self._cache: dict[bytes, bytes] = {}
        self._cached = 0

    def bytes_for(self, body: bytes | None) -> bytes:
        if self._invalid is not None:
            raise ValueError(self._invalid)
        if body is None:
            return self._no_body
        built = self._cache.get(body)
        if built is None:
            built = b"%sContent-Length: %d\r\n\r\n%s" % (self._head, len(body), body)
            if self._cached + len(built) <= MAX_CACHED_BYTES:
                self._cache[body] = built
                self._cached += len(built)
        return built


@lru_cache(maxsize=16)
def template(request: RequestSpec) -> Template:
    """Shared by every connection of a phase (a probe may open thousands)."""
    return Template(request)


class WireConnection:
    """One keep-alive connection to the target, reopened after any error or a `close` answer."""

    def __init__(self, request: RequestSpec, *, insecure: bool = False) -> None:
        host, port, self._tls, self.uri = _address(request.url)
        self._host, self._port = host, port or (443 if self._tls else 80)
        self._insecure = insecure or request.insecure
        self._template = template(request)
        self._bodiless = request.method.upper() == "HEAD"
        self.timeout = request.timeout_s
        self.max_body = request.max_body_bytes
        self._sock: socket.socket | None = None
        self._reused = False
        self._rest = b""  # bytes read past the previous answer

    def send(self, body: bytes | None, out: Outcome) -> Outcome:
        """Send one request and read its whole answer; on a failure, count its kind and reconnect."""
        # A fresh Timeout per request: restarting one after cancel() fires at the first start's
        # deadline on gevent's libev loop (measured: every request "timed out" after 10 s).
        timer = gevent.Timeout(self.timeout)
        timer.start()
        out.sent_at = time.perf_counter()
        try:
            data = self._template.bytes_for(body)
            try:
                self._exchange(data, out)
            except _Stale:  # as geventhttpclient did: a reused connection the target had closed
                self._reset()
                self._exchange(data, out)
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

    def _exchange(self, data: bytes, out: Outcome) -> None:
        sock = self._sock
        if sock is None:
            sock = self._sock = self._connect()
        try:
            # One non-blocking send() writes a small request whole; gevent's sendall would first
            # ask the kernel for the buffer size (a getsockopt per request) and slice a memoryview.
            sent = sock.send(data)
            if sent < len(data):
                sock.sendall(data[sent:])
        except OSError:
            if self._reused:
                raise _Stale() from None
            raise
        keep_alive = self._read(sock, out)
        self._reused = True
        if not keep_alive:
            self._reset()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self._host, self._port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
        if self._tls:
            sock = _tls_context(self._insecure)().wrap_socket(sock, server_hostname=self._host)
        self._reused = False
        self._rest = b""
        return sock

    def _read(self, sock: socket.socket, out: Outcome) -> bool:
        """Read one answer; True when the connection may carry the next request."""
        recv = sock.recv
        buf = self._rest
        while True:  # the head; interim 1xx answers are skipped
            end = buf.find(b"\r\n\r\n")
            while end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    raise ProtocolError(f"no end of the answer's headers within {MAX_HEAD_BYTES} bytes")
                try:
                    block = recv(_READ)
                except OSError:
                    if not buf and self._reused:
                        raise _Stale() from None
                    raise
                if not block:
                    if not buf and self._reused:
                        raise _Stale()
                    raise ConnectionResetError("the target closed the connection before a complete answer")
                buf += block
                end = buf.find(b"\r\n\r\n")
            head, buf = buf[:end], buf[end + 4 :]
            status = _status(head)
            if status >= 200 or status == 101:
                break
        lower = head.lower()
        if out.keep:
            out.content_type = _header(head, lower, b"\r\ncontent-type:")
        if head[5:8] == b"1.1":
            keep_alive = b"\r\nconnection: close" not in lower
        else:
            keep_alive = b"\r\nconnection: keep-alive" in lower
        if self._bodiless or status in (204, 304) or status < 200:
            self._rest = buf
        elif b"\r\ntransfer-encoding:" in lower and "chunked" in _header(lower, lower, b"\r\ntransfer-encoding:"):
            self._rest = self._chunked(recv, buf, out)
        else:
            length = _header(head, lower, b"\r\ncontent-length:")
            if length:
                self._rest = self._sized(recv, buf, _length(length), out)
            else:  # the body ends where the connection does
                self._until_close(recv, buf, out)
                self._rest, keep_alive = b"", False
        out.status = status
        return keep_alive

    def _sized(self, recv: Recv, buf: bytes, length: int, out: Outcome) -> bytes:
        if length > self.max_body:
            raise BodyTooLarge(f"answer body of {length} bytes is over {self.max_body} (--max-body): not read")
        if len(buf) >= length:
            if out.keep:
                out.body = buf[: min(length, SAMPLE_BYTES)]
            return buf[length:]
        kept = bytearray(buf[:SAMPLE_BYTES]) if out.keep else None
        left = length - len(buf)
        while left > 0:
            block = recv(min(_READ, left))
            if not block:
                raise ConnectionResetError("the target closed the connection in the middle of the body")
            left -= len(block)
            if kept is not None and len(kept) < SAMPLE_BYTES:
                kept += block
        if kept is not None:
            out.body = bytes(kept[:SAMPLE_BYTES])
        return b""

    def _until_close(self, recv: Recv, buf: bytes, out: Outcome) -> None:
        kept = bytearray(buf[:SAMPLE_BYTES]) if out.keep else None
        seen = len(buf)
        while block := recv(_READ):
            seen += len(block)
            if seen > self.max_body:
                raise BodyTooLarge(f"answer body over {self.max_body} bytes (--max-body): reading stopped there")
            if kept is not None and len(kept) < SAMPLE_BYTES:
                kept += block
        if kept is not None:
            out.body = bytes(kept[:SAMPLE_BYTES])

    def _chunked(self, recv: Recv, buf: bytes, out: Outcome) -> bytes:
        """A chunked body: sizes in hex, each chunk followed by CRLF, then a zero chunk and trailers."""
        kept = bytearray() if out.keep else None
        seen = 0
        while True:
            line_end = buf.find(b"\r\n")
            while line_end < 0:
                buf = _more(recv, buf)
                line_end = buf.find(b"\r\n")
            try:
                size = int(buf[:line_end].split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {buf[:line_end][:40]!r}") from None
            buf = buf[line_end + 2 :]
            if size == 0:
                while not buf.startswith(b"\r\n"):  # trailers, if any, up to the empty line
                    cut = buf.find(b"\r\n\r\n")
                    if cut >= 0:
                        buf = buf[cut + 2 :]
                        break
                    buf = _more(recv, buf)
                if kept is not None:
                    out.body = bytes(kept[:SAMPLE_BYTES])
                return buf[2:]
            seen += size
            if seen > self.max_body:
                raise BodyTooLarge(f"answer body over {self.max_body} bytes (--max-body): reading stopped there")
            while len(buf) < size + 2:
                buf = _more(recv, buf)
            if kept is not None and len(kept) < SAMPLE_BYTES:
                kept += buf[:size]
            buf = buf[size + 2 :]

    def _reset(self) -> None:
        """Throw the connection away: after an error its state is unknown."""
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        self._rest = b""
        self._reused = False

    def close(self) -> None:
        self._reset()


def _more(recv: Recv, buf: bytes) -> bytes:
    block = recv(_READ)
    if not block:
        raise ConnectionResetError("the target closed the connection in the middle of a chunked body")
    if len(buf) > MAX_HEAD_BYTES + _READ and b"\r\n" not in buf:
        raise ProtocolError("a chunk size line with no end")
    return buf + block


def _status(head: bytes) -> int:
    """The status code of `HTTP/1.x NNN reason`."""
    if not head.startswith(b"HTTP/1.") or head[8:9] != b" ":
        raise ProtocolError(f"not an HTTP/1.x status line: {head[:40]!r}")
    code = head[9:12]
    if not code.isdigit() or head[12:13] not in (b" ", b"\r", b""):
        raise ProtocolError(f"not an HTTP/1.x status line: {head[:40]!r}")
    return int(code)


def _header(head: bytes, lower: bytes, name: bytes) -> str:
    """The first value of a header (`name` lower-case, with its leading CRLF and colon), or ''."""
    at = lower.find(name)
    if at < 0:
        return ""
    start = at + len(name)
    stop = head.find(b"\r\n", start)
    return head[start : stop if stop >= 0 else len(head)].strip().decode("latin-1")


def _length(value: str) -> int:
    if not value.isdigit():
        raise ProtocolError(f"bad Content-Length {value[:40]!r}")
    return int(value)
