"""A minimal closed-loop HTTP/1.1 load loop, to measure how fast the test servers themselves are.

Why: the servers here are also the targets of generator benchmarks, so they must be known to be
much faster than any generator. wrk is not installed on these machines; this is the cheapest client
Python can be (uvloop protocol, one request in flight per keep-alive connection, no pipelining, the
response framed by Content-Length only), so it measures the server rather than a client library.

    python tests/servers/rawload.py URL [--connections 32] [--seconds 10] [--cpu 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from urllib.parse import urlsplit


class LoadConn(asyncio.Protocol):
    """Send a GET, wait for one whole response, send the next one."""

    def __init__(self, request: bytes, counter: list[int]) -> None:
        self.request = request
        self.counter = counter
        self.buf = b""
        self.need = -1  # bytes of the current response still missing (-1: head not parsed yet)
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                i = buf.find(b"Content-Length: ", 0, end)
                j = buf.find(b"\r\n", i)
                length = int(buf[i + 16 : j])
                buf = buf[end + 4 :]
                self.need = length
            if len(buf) < self.need:
                break
            buf = buf[self.need :]
            self.need = -1
            self.counter[0] += 1
            assert self.transport is not None
            self.transport.write(self.request)
        self.buf = buf

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


async def run(url: str, connections: int, seconds: float) -> tuple[int, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: rawload\r\nAccept: */*\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    counter = [0]
    conns = [(await loop.create_connection(lambda: LoadConn(request, counter), host, port)) for _ in range(connections)]
    await asyncio.sleep(1.0)  # warm-up
    n0, t0 = counter[0], time.perf_counter()
    await asyncio.sleep(seconds)
    n1, t1 = counter[0], time.perf_counter()
    for tr, _ in conns:
        tr.abort()
    return n1 - n0, t1 - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = p.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as r:
        n, dt = r.run(run(args.url, args.connections, args.seconds))
    print(
        f"{n} responses in {dt:.2f} s = {n / dt:,.0f} req/s "
        f"({args.connections} connections, closed loop, no pipelining)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
