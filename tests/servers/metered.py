"""A target with real Prometheus metrics (prometheus_client), for the server-metrics tests.

    python tests/servers/metered.py --port 0 [--leak-mb-per-s X] [--metrics full|bare|none]

Every request (except /metrics) is answered `{"ok": true}` at once. `--leak-mb-per-s` makes the
process keep X MB more every second from its start (a real leak: its resident memory, as the
process collector reads it from /proc, climbs). `--metrics full` serves the process collector's series
and a request counter; `bare` only the counter (a page without the memory series a gate may ask
for); `none` answers /metrics with 404 (a target without metrics). A cold start: `--load-s S`
keeps /ready at 503 for S seconds after start, `--warm-requests N --warm-ms M` makes the first N
requests to `/` (or any POST: not the probes of other paths) M ms slow.

Prints one ``LISTENING http://127.0.0.1:PORT`` line, exits 0 on SIGTERM/SIGINT or when the test
process that started it ($BENCHBOX_SERVER_PARENT_PID) is gone.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, ProcessCollector, generate_latest

KEPT: list[bytearray] = []


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--leak-mb-per-s", type=float, default=0.0)
    parser.add_argument("--metrics", choices=("full", "bare", "none"), default="full")
    parser.add_argument("--load-s", type=float, default=0.0, help="/ready answers 503 this long after start")
    parser.add_argument("--warm-requests", type=int, default=0, help="this many first requests are slow...")
    parser.add_argument("--warm-ms", type=float, default=0.0, help="...by this much each")
    args = parser.parse_args()
    started = time.monotonic()
    warm = [args.warm_requests]
    lock = threading.Lock()

    registry = CollectorRegistry()
    served = Counter("metered_requests", "Requests answered.", registry=registry)
    if args.metrics == "full":
        ProcessCollector(registry=registry)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/metrics":
                if args.metrics == "none":
                    self._answer(404, b'{"detail": "Not Found"}')
                else:
                    self._answer(200, generate_latest(registry), "text/plain; version=0.0.4")
                return
            if "ready" in self.path and time.monotonic() - started < args.load_s:
                self._answer(503, b'{"status": "loading"}')
                return
            self._served()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self._served()

        def _served(self) -> None:
            if self.path == "/" or self.command == "POST":  # the endpoint, not a probe of other paths
                with lock:
                    slow, warm[0] = warm[0] > 0, warm[0] - 1
                if slow:
                    time.sleep(args.warm_ms / 1000.0)
            served.inc()
            self._answer(200, b'{"ok": true}')

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True

    def leak() -> None:
        while True:
            time.sleep(0.1)
            block = bytearray(int(args.leak_mb_per_s * 1e5))
            block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not just reserved
            KEPT.append(block)

    def watch_parent() -> None:
        parent = int(os.environ.get("BENCHBOX_SERVER_PARENT_PID", "0") or 0)
        while parent:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except OSError:
                os._exit(0)

    if args.leak_mb_per_s > 0:
        threading.Thread(target=leak, daemon=True).start()
    threading.Thread(target=watch_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
