"""A server that remembers when each request arrived, on which route: for replay and mix tests.

Why: a replayed trace is right only if the target saw the trace's rhythm, and a mix only if the
target saw its shares; the server's own record says so without trusting benchbox's. Keep-alive
HTTP/1.1 on asyncio streams (a few hundred req/s is all the tests need).

    --service-ms MS       every answer after MS (default 1), without blocking other requests
    --slow ROUTE=MS       this route's answers take MS instead (repeatable)
    --stall-at N          when the N-th request arrives, the whole process blocks...
    --stall-for S         ...for S seconds (a stop-the-world stall: every request in flight waits)
    --status ROUTE=CODE   this route answers CODE (repeatable)
    --slots ROUTE=N       this route serves N requests at once, the rest queue (a capacity: N / its time)

GET /__stats -> {"count", "latencies_us", "arrivals": [[perf_counter, method, path, body_bytes]],
"by_path": {path: n}, "stalls": [[start, end]]}; POST /__reset. Neither is counted. perf_counter
is CLOCK_MONOTONIC on Linux, comparable across processes.

    python tests/servers/arrivals.py --port 0 --slow /slow=80
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import run_async, until_stopped


class State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.service_s = args.service_ms / 1000.0
        self.slow = {r: float(ms) / 1000.0 for r, ms in (s.split("=", 1) for s in args.slow)}
        self.status = {r: int(c) for r, c in (s.split("=", 1) for s in args.status)}
        self.slots = {r: asyncio.Semaphore(int(n)) for r, n in (s.split("=", 1) for s in args.slots)}
        self.stall_at, self.stall_for = args.stall_at, args.stall_for
        self.reset()

    def reset(self) -> None:
        self.arrivals: list[list[object]] = []
        self.latencies: list[int] = []
        self.by_path: dict[str, int] = {}
        self.stalls: list[list[float]] = []

    def stats(self) -> bytes:
        return json.dumps(
            {
                "count": len(self.arrivals),
                "latencies_us": self.latencies,
                "arrivals": self.arrivals,
                "by_path": self.by_path,
                "stalls": self.stalls,
            }
        ).encode()


async def handle(state: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            arrived = time.perf_counter()
            method, target, _ = line.decode("latin-1").split(" ", 2)
            length, close = 0, False
            while True:
                header = await reader.readline()
                if header in (b"\r\n", b"\n", b""):
                    break
                name, _, value = header.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
                elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                    close = True
            if length:
                await reader.readexactly(length)
            path = target.split("?", 1)[0]
            if path == "/__stats":
                body, status = state.stats(), 200
            elif path == "/__reset":
                state.reset()
                body, status = b"{}", 200
            else:
                state.arrivals.append([arrived, method, target, length])
                state.by_path[path] = state.by_path.get(path, 0) + 1
                if state.stall_at and len(state.arrivals) == state.stall_at:
                    time.sleep(state.stall_for)  # blocks the loop: nothing is read or answered meanwhile
                    state.stalls.append([arrived, time.perf_counter()])
                slots = state.slots.get(path)
                if slots is not None:
                    async with slots:
                        await asyncio.sleep(state.slow.get(path, state.service_s))
                else:
                    await asyncio.sleep(state.slow.get(path, state.service_s))
                status = state.status.get(path, 200)
                body = b'{"ok":true}'
                state.latencies.append(int((time.perf_counter() - arrived) * 1e6))
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            if close:
                return
    except (ConnectionError, ValueError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def main(args: argparse.Namespace) -> None:
    state = State(args)
    server = await asyncio.start_server(lambda r, w: handle(state, r, w), "127.0.0.1", args.port, backlog=1024)
    await until_stopped("127.0.0.1", server.sockets[0].getsockname()[1])
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--service-ms", type=float, default=1.0)
    parser.add_argument("--slow", action="append", default=[])
    parser.add_argument("--status", action="append", default=[])
    parser.add_argument("--slots", action="append", default=[])
    parser.add_argument("--stall-at", type=int, default=0)
    parser.add_argument("--stall-for", type=float, default=0.0)
    sys.exit(run_async(main(parser.parse_args()), no_uvloop=True))
