"""What the faulty OpenAI-compatible servers (faulty_chat, faulty_embeddings) share: the handler's
JSON answers, /health and /v1/models, a plain-text 500, and the command line that serves it."""

from __future__ import annotations

import argparse
import asyncio
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lifecycle import serve_threaded  # beside this script (run as `python tests/servers/X.py`)


class OpenAIHandler(BaseHTTPRequestHandler):
    """A handler that breaks the rule named by `fault` ("none": honest) and serves `model`."""

    fault = "none"
    model = ""
    post_path = ""  # the one POST route; its request body goes to answer()

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()  # NaN goes out as NaN, as Python servers send it
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _traceback(self, error: str) -> None:
        """A 500 with a plain-text traceback, as a server with an unhandled exception answers."""
        data = f"Traceback (most recent call last):\n  {error}\n".encode()
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.model, "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        if self.path != self.post_path:
            return self._json(404, {"error": {"message": "not found"}})
        return self.answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def answer(self, raw: bytes) -> None:
        raise NotImplementedError


def serve(handler: type[OpenAIHandler], faults: tuple[str, ...], description: str, **extra: Any) -> int:
    """Parse `--fault`, `--host`, `--port` (and `--NAME N` for each integer class attribute named
    in `extra`, whose value is its help), set them on `handler` and serve until stopped."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--fault", choices=faults, default="none")
    for name, help_text in extra.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(handler, name), help=help_text)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    handler.fault = args.fault
    for name in extra:
        setattr(handler, name, getattr(args, name))
    server = ThreadingHTTPServer((args.host, args.port), handler)
    asyncio.run(serve_threaded(server, args.host))
    return 0
