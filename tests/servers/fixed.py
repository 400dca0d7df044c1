"""A fast HTTP/1.1 target with a fixed service time and its own record of every request.

Why it exists: benchbox's integration tests and benchmarks need a target whose behaviour is known
exactly (service time, periodic stalls, status, body) and which keeps its *own* count and its own
clock of each request, so what benchbox measured can be compared with what the server saw.

    python tests/servers/fixed.py --port 0 [--service-ms 20] [--freeze-every S --freeze-for F]
                                  [--status 200] [--body JSON] [--no-uvloop]

Prints exactly one line ``LISTENING http://127.0.0.1:PORT`` on stdout once it accepts connections,
then serves until SIGTERM/SIGINT and exits 0.

Every request except the stats endpoints is answered with the configured status and body after
``--service-ms`` (concurrent requests, pipelined ones included, are served concurrently; responses on
one connection stay in request order, as HTTP/1.1 requires).

Stats endpoints (matched on the path only, any method, never counted, never delayed):
    GET  /__stats  -> {"count": N, "latencies_us": [...], "freezes": [[start, end], ...]}
    POST /__reset  -> clears all three
``count`` is the number of requests fully received; ``latencies_us`` holds, in completion order, one
entry per response written: microseconds from the moment the whole request was parsed to the moment
its response was handed to the transport (time.perf_counter). ``freezes`` are the stall windows in
time.perf_counter() seconds (CLOCK_MONOTONIC on Linux: comparable with other processes' perf_counter).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from lifecycle import run_async, serve_protocols  # beside this script (run as `python tests/servers/X.py`)

MAX_HEAD = 64 * 1024
MAX_CHUNK_LINE = 4096

# Parser states.
_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _DEAD = range(7)

perf_counter = time.perf_counter


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def build_response(
    status: int, body: bytes, content_type: str = "application/json", close: bool = False, head: bool = False
) -> bytes:
    """Pre-render a whole response; the hot path only ever copies ready-made bytes."""
    lines = [
        f"HTTP/1.1 {status} {_reason(status)}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close" if close else "Connection: keep-alive",
    ]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return raw if head else raw + body


class Stats:
    """The server's own view, shared by all connections."""

    __slots__ = ("count", "latencies_us", "freezes")

    def __init__(self) -> None:
        self.count = 0
        # array, not list: 8 bytes per entry, so a 60 s benchmark at 60k req/s stays ~30 MB
        self.latencies_us = array.array("q")
        self.freezes: list[list[float]] = []

    def reset(self) -> None:
        self.count = 0
        self.latencies_us = array.array("q")
        self.freezes = []

    def to_json(self) -> bytes:
        return json.dumps(
            {"count": self.count, "latencies_us": self.latencies_us.tolist(), "freezes": self.freezes},
            separators=(",", ":"),
        ).encode()


class Config:
    """What every connection needs, computed once."""

    def __init__(self, status: int, body: bytes, service_ms: float) -> None:
        self.delay = service_ms / 1000.0
        self.responses = {  # (head, close) -> bytes
            (h, c): build_response(status, body, close=c, head=h) for h in (False, True) for c in (False, True)
        }


class HttpProtocol(asyncio.Protocol):
    """One connection: an incremental HTTP/1.1 request parser plus an in-order response queue.

    Hand-written rather than httptools so the file has no dependency but (optionally) uvloop, and so
    the cost per request stays a few bytes.find/split calls.
    """

    def __init__(self, cfg: Config, stats: Stats, conns: set[HttpProtocol], loop: asyncio.AbstractEventLoop) -> None:
        self.cfg = cfg
        self.stats = stats
        self.conns = conns
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.state = _HEAD
        self.remaining = 0  # body / chunk bytes still to skip
        self.req: tuple[bytes, bytes, bool] | None = None  # method, path, keep_alive of request in progress
        # Responses waiting for an earlier one on this connection: [t0, response, ready, counted, close]
        self.pending: deque[list[Any]] = deque()
        self.out: list[bytes] = []  # responses ready to write at the end of this data_received
        self.out_t: list[float] = []  # their parse times (counted requests only)
        self.closing = False

    # -- asyncio callbacks ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conns.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, AttributeError):
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.conns.discard(self)
        self.transport = None
        self.state = _DEAD
        self.pending.clear()

    def pause_writing(self) -> None:
        # The client is not reading its responses: stop reading its requests (pipelining flood).
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and self.state != _DEAD:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.state == _DEAD:
            return
        buf = self.buf + data if self.buf else data
        self.buf = b""
        try:
            self._parse(buf)
        finally:
            if self.out:
                self._write_out()

    # -- parsing -------------------------------------------------------------------------------
    def _parse(self, buf: bytes) -> None:
        pos = 0
        n = len(buf)
        while pos < n:
            state = self.state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    if n - pos > MAX_HEAD:
                        return self._fail(431)
                    self.buf = buf[pos:]
                    return
                if end - pos > MAX_HEAD:
                    return self._fail(431)
                if not self._parse_head(buf[pos:end]):
                    return
                pos = end + 4
            elif state == _BODY:
                take = min(self.remaining, n - pos)
                pos += take
                self.remaining -= take
                if self.remaining:
                    return
                self._complete()
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if n - pos > MAX_CHUNK_LINE:
                        return self._fail(400)
                    self.buf = buf[pos:]
                    return
                try:
                    size = int(buf[pos:end].split(b";", 1)[0].strip(), 16)
                except ValueError:
                    return self._fail(400)
                if size < 0:
                    return self._fail(400)
                pos = end + 2
                if size == 0:
                    self.state = _TRAILERS
                else:
                    self.remaining = size
                    self.state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                take = min(self.remaining, n - pos)
                pos += take
                self.remaining -= take
                if self.remaining:
                    return
                self.state = _CHUNK_CRLF
            elif state == _CHUNK_CRLF:
                if n - pos < 2:
                    self.buf = buf[pos:]
                    return
                if buf[pos : pos + 2] != b"\r\n":
                    return self._fail(400)
                pos += 2
                self.state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if n - pos > MAX_HEAD:
                        return self._fail(400)
                    self.buf = buf[pos:]
                    return
                line_empty = end == pos
                pos = end + 2
                if line_empty:
                    self._complete()
            else:  # _DEAD: after Connection: close or an error, ignore the rest
                return
        # Zero-length remainder of a HEAD state is fine; a completed body may leave state _HEAD.

    def _parse_head(self, head: bytes) -> bool:
        """Parse request line + headers; set up body skipping. False if the connection is failed."""
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            # Tolerate a stray empty line between pipelined requests (RFC 9112 2.2).
            while lines and not lines[0]:
                lines.pop(0)
            parts = lines[0].split(b" ") if lines else []
            if len(parts) != 3:
                self._fail(400)
                return False
        method, target, version = parts
        if version == b"HTTP/1.1":
            keep_alive = True
        elif version == b"HTTP/1.0":
            keep_alive = False
        else:
            self._fail(505 if version.startswith(b"HTTP/") else 400)
            return False
        length = -1
        chunked = False
        expect_continue = False
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                self._fail(400)
                return False
            name = name.lower()
            if name == b"content-length":
                try:
                    v = int(value.strip())
                except ValueError:
                    self._fail(400)
                    return False
                if v < 0 or (length >= 0 and v != length):
                    self._fail(400)
                    return False
                length = v
            elif name == b"transfer-encoding":
                if b"chunked" in value.lower():
                    chunked = True
            elif name == b"connection":
                tokens = value.lower()
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
            elif name == b"expect" and b"100-continue" in value.lower():
                expect_continue = True
        q = target.find(b"?")
        path = target if q < 0 else target[:q]
        self.req = (method, path, keep_alive)
        if chunked:
            self.state = _CHUNK_SIZE
        elif length > 0:
            self.remaining = length
            self.state = _BODY
        else:
            self._complete()
            return True
        if expect_continue and self.transport is not None and not self.pending and not self.out:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def _fail(self, status: int) -> None:
        """Answer a malformed request and close: the stream can no longer be trusted."""
        self.state = _DEAD
        body = json.dumps({"error": _reason(status)}).encode()
        self._enqueue(perf_counter(), build_response(status, body, close=True), False, True, True)

    # -- answering -----------------------------------------------------------------------------
    def _complete(self) -> None:
        """A whole request has been received."""
        t0 = perf_counter()
        method, path, keep_alive = self.req  # type: ignore[misc]
        self.req = None
        close = not keep_alive
        self.state = _DEAD if close else _HEAD
        if path.startswith(b"/__"):
            if path == b"/__stats":
                body = self.stats.to_json()
                self._enqueue(t0, build_response(200, body, close=close, head=method == b"HEAD"), False, close, True)
                return
            if path == b"/__reset":
                self.stats.reset()
                self._enqueue(t0, build_response(200, b'{"ok":true,"reset":true}', close=close), False, close, True)
                return
        self.stats.count += 1
        resp = self.cfg.responses[(method == b"HEAD", close)]
        delay = self.cfg.delay
        if delay > 0:
            slot = [t0, resp, False, True, close]
            self.pending.append(slot)
            self.loop.call_later(delay, self._fire, slot)
        else:
            self._enqueue(t0, resp, True, close, True)

    def _enqueue(self, t0: float, resp: bytes, counted: bool, close: bool, ready: bool) -> None:
        if self.pending:  # an earlier response on this connection is still being served
            self.pending.append([t0, resp, ready, counted, close])
            return
        self.out.append(resp)
        if counted:
            self.out_t.append(t0)
        if close:
            self.closing = True

    def _fire(self, slot: list[Any]) -> None:
        """The service time of one request is over (timer callback)."""
        if self.transport is None:
            return
        now = perf_counter()
        left = slot[0] + self.cfg.delay - now
        if left > 0:  # some loops (libuv: 1 ms ticks, cached clock) fire early; never serve short
            self.loop.call_later(left, self._fire, slot)
            return
        slot[2] = True
        pending = self.pending
        while pending and pending[0][2]:
            t0, resp, _, counted, close = pending.popleft()
            self.out.append(resp)
            if counted:
                self.out_t.append(t0)
            if close:
                self.closing = True
                pending.clear()
                break
        if self.out:
            self._write_out()

    def _write_out(self) -> None:
        transport = self.transport
        out, times = self.out, self.out_t
        self.out, self.out_t = [], []
        if transport is None:
            return
        transport.write(out[0] if len(out) == 1 else b"".join(out))
        if times:
            now = perf_counter()
            lat = self.stats.latencies_us
            for t0 in times:
                lat.append(int((now - t0) * 1e6))
        if self.closing:
            self.state = _DEAD
            self.pending.clear()
            transport.close()


def _freeze_scheduler(
    loop: asyncio.AbstractEventLoop, every: float, duration: float, stats: Stats
) -> Callable[[], None]:
    """Every `every` s block the whole loop for `duration` s: a stop-the-world stall (GC, swap)."""
    start = loop.time()
    k = 1

    def freeze() -> None:
        nonlocal k
        t = perf_counter()
        time.sleep(duration)
        stats.freezes.append([t, perf_counter()])
        now = loop.time()
        k += 1
        while start + k * every <= now:  # a freeze longer than the period swallows the next one
            k += 1
        loop.call_at(start + k * every, freeze)

    loop.call_at(start + every, freeze)
    return freeze


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    body = args.body.encode()
    cfg = Config(args.status, body, args.service_ms)
    stats = Stats()
    conns: set[HttpProtocol] = set()
    server = await loop.create_server(
        lambda: HttpProtocol(cfg, stats, conns, loop), args.host, args.port, backlog=4096, reuse_address=True
    )
    if args.freeze_every and args.freeze_for:
        _freeze_scheduler(loop, args.freeze_every, args.freeze_for, stats)
    await serve_protocols(server, args.host, conns)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--service-ms", type=float, default=0.0, help="time each request takes")
    p.add_argument(
        "--freeze-every", type=float, default=0.0, metavar="S", help="every S seconds the whole server stalls ..."
    )
    p.add_argument("--freeze-for", type=float, default=0.0, metavar="F", help="... for F seconds")
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--body", default='{"ok":true}', help="response body, sent verbatim")
    p.add_argument("--no-uvloop", action="store_true", help="use the stdlib asyncio loop")
    args = p.parse_args(argv)
    if (args.freeze_every > 0) != (args.freeze_for > 0):
        p.error("--freeze-every and --freeze-for go together")
    if not 100 <= args.status <= 999:
        p.error("--status must be 100..999")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_async(serve(args), args.no_uvloop)


if __name__ == "__main__":
    sys.exit(main())
