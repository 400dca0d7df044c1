"""An HTTP/1.1 target of KNOWN capacity: `--slots` concurrent requests, each held exactly `--service-ms`.

Why it exists: the saturation search must be checked against a target whose capacity is known by
construction, capacity = slots / service time (slots 1 x 20 ms = 50 req/s; slots 10 x 20 ms =
500 req/s), and whose behaviour past capacity is chosen, so that each overload grade has a server
that shows it:

    python tests/servers/capacity.py --port 0 --slots N --service-ms MS
                                     [--overload queue|shed|fail] [--queue-limit K] [--fail-ms F]

- ``queue`` (default): a request with no free slot waits for one, without bound (latency grows).
- ``shed``: when every slot is busy and K requests already wait, answer ``429`` with
  ``Retry-After: 1`` at once (K = --queue-limit, default 0: no queue at all).
- ``fail``: past the same limit the request is held ``--fail-ms`` (an overwhelmed worker, default
  100 ms) and then either answered ``500`` or has its connection reset, alternately.

Same contract as fixed.py: one ``LISTENING http://127.0.0.1:PORT`` line on stdout, exit 0 on
SIGTERM/SIGINT, and stats endpoints that are never counted nor delayed:
    GET  /__stats -> {"count", "latencies_us", "served", "shed", "failed", "peak_waiting", "peak_busy"}
    POST /__reset -> clears them
``latencies_us``: one entry per response written, from the request parsed to its response written.

A client that goes away takes its waiting request with it (its handler is cancelled), so an
abandoned backlog never leaks into the next measurement. Requests on one connection are served in
order; bodies must have a Content-Length (chunked bodies are refused with 411): the load
generator and httpx both send one.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import socket
import sys
import time
from http import HTTPStatus

from lifecycle import run_async, serve_protocols  # beside this script (run as `python tests/servers/X.py`)

MAX_HEAD = 64 * 1024
perf_counter = time.perf_counter


def response(status: int, body: bytes, *, close: bool = False, extra: tuple[str, ...] = ()) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *extra,
        "Connection: close" if close else "Connection: keep-alive",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Capacity:
    """The slots every connection competes for, and the server's own record."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.slots = args.slots
        self.service_s = args.service_ms / 1000.0
        self.overload: str = args.overload
        self.queue_limit = args.queue_limit
        self.fail_s = args.fail_ms / 1000.0
        self.sem = asyncio.Semaphore(args.slots)
        self.busy = 0
        self.waiting = 0
        self.failures = 0  # across connections, so 500s and resets alternate
        self.reset()

    def reset(self) -> None:
        self.count = self.served = self.shed = self.failed = 0
        self.peak_waiting = self.peak_busy = 0
        self.latencies_us = array.array("q")

    def over_limit(self) -> bool:
        """No free slot and the queue is as long as allowed: a queueing server never says so."""
        return self.overload != "queue" and self.busy >= self.slots and self.waiting >= self.queue_limit

    async def serve(self) -> None:
        """Hold a slot for exactly the service time (timers may fire early: never serve short)."""
        self.waiting += 1
        self.peak_waiting = max(self.peak_waiting, self.waiting)
        try:
            await self.sem.acquire()
        finally:
            self.waiting -= 1
        self.busy += 1
        self.peak_busy = max(self.peak_busy, self.busy)
        try:
            end = perf_counter() + self.service_s
            while (left := end - perf_counter()) > 0:
                await asyncio.sleep(left)
        finally:
            self.busy -= 1
            self.sem.release()
        self.served += 1

    def stats_json(self) -> bytes:
        return json.dumps(
            {
                "count": self.count,
                "latencies_us": self.latencies_us.tolist(),
                "served": self.served,
                "shed": self.shed,
                "failed": self.failed,
                "peak_waiting": self.peak_waiting,
                "peak_busy": self.peak_busy,
            },
            separators=(",", ":"),
        ).encode()


OK_BODY = b'{"ok":true}'
SHED_BODY = b'{"error":"over capacity, retry later"}'
FAIL_BODY = b'{"error":"worker overloaded"}'


class Connection(asyncio.Protocol):
    """Parses requests into a queue; one task per connection answers them in order."""

    def __init__(self, cap: Capacity, conns: set[Connection]) -> None:
        self.cap = cap
        self.conns = conns
        self.buf = b""
        self.requests: asyncio.Queue[tuple[bytes, bytes, bool, float]] = asyncio.Queue()
        self.transport: asyncio.Transport | None = None
        self.worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conns.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.worker = asyncio.get_running_loop().create_task(self.work())

    def connection_lost(self, exc: Exception | None) -> None:
        self.conns.discard(self)
        self.transport = None
        if self.worker is not None:
            self.worker.cancel()  # the client is gone: its waiting request frees its place

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self.refuse(431)
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            parts = head[0].split(" ")
            if len(parts) != 3:
                return self.refuse(400)
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
            if "chunked" in headers.get("transfer-encoding", "").lower():
                return self.refuse(411)
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                return self.refuse(400)
            if len(self.buf) < end + 4 + length:
                return  # the body is still on its way
            self.buf = self.buf[end + 4 + length :]
            close = parts[2] == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
            path = parts[1].split("?", 1)[0]
            self.requests.put_nowait((parts[0].encode(), path.encode(), close, perf_counter()))

    def refuse(self, status: int) -> None:
        if self.transport is not None:
            self.transport.write(response(status, b'{"error":"bad request"}', close=True))
            self.transport.close()

    async def work(self) -> None:
        while True:
            method, path, close, t0 = await self.requests.get()
            if path in (b"/__stats", b"/__reset"):
                if path == b"/__reset":
                    self.cap.reset()
                self.write(
                    response(200, self.cap.stats_json() if path == b"/__stats" else b'{"ok":true}', close=close),
                    None,
                    close,
                )
                continue
            cap = self.cap
            cap.count += 1
            if not cap.over_limit():
                await cap.serve()
                self.write(response(200, OK_BODY, close=close), t0, close)
            elif cap.overload == "shed":
                cap.shed += 1
                self.write(response(429, SHED_BODY, close=close, extra=("Retry-After: 1",)), t0, close)
            else:
                cap.failed += 1
                await asyncio.sleep(cap.fail_s)
                cap.failures += 1
                if cap.failures % 2 and self.transport is not None:
                    self.transport.abort()  # a crashed worker: the client sees a reset
                    return
                self.write(response(500, FAIL_BODY, close=close), t0, close)

    def write(self, raw: bytes, t0: float | None, close: bool) -> None:
        if self.transport is None:
            return
        self.transport.write(raw)
        if t0 is not None:
            self.cap.latencies_us.append(int((perf_counter() - t0) * 1e6))
        if close:
            self.transport.close()


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    cap = Capacity(args)
    conns: set[Connection] = set()
    server = await loop.create_server(
        lambda: Connection(cap, conns), args.host, args.port, backlog=4096, reuse_address=True
    )
    await serve_protocols(server, args.host, conns)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--slots", type=int, default=1, help="requests served at once")
    p.add_argument("--service-ms", type=float, default=20.0, help="time each request holds its slot")
    p.add_argument("--overload", choices=("queue", "shed", "fail"), default="queue")
    p.add_argument(
        "--queue-limit",
        type=int,
        default=0,
        metavar="K",
        help="shed/fail: requests allowed to wait for a slot before the rest are refused",
    )
    p.add_argument("--fail-ms", type=float, default=100.0, help="fail: how long a refused request hangs")
    p.add_argument("--no-uvloop", action="store_true", help="use the stdlib asyncio loop")
    args = p.parse_args(argv)
    if args.slots < 1 or args.service_ms <= 0 or args.queue_limit < 0:
        p.error("--slots >= 1, --service-ms > 0 and --queue-limit >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_async(serve(args), args.no_uvloop)


if __name__ == "__main__":
    sys.exit(main())
