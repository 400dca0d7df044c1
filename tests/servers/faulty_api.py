"""A predict API that breaks exactly one adversarial expectation, for benchbox's adversarial tests.

Why: the adversarial phase must be shown to find each fault by the right kind, with a minimal
input, and to stay quiet about an honest server. Otherwise this behaves like the demo's v1
predict API (4 features in [-100, 100], batches of 1..64, 422 for invalid input, an honest
`/openapi.json`, optional Bearer key and rate limit):

    none               honest
    nan-500            500 when any number is NaN or +-Infinity (the non-JSON tokens)
    emoji-500          500 when any string holds an emoji
    missing-field-500  500 instead of 422 when `instances` is missing
    large-batch-hang   never answers a batch of more than 32 rows
    traceback-4xx      a 400 whose body carries a Python traceback, for any invalid input
    dies-on-nesting    the process exits on JSON nested more than 50 deep
    no-auth            accepts any request although --api-key is set
    no-rate-limit      never answers 429 although --rate-limit is set

    python tests/servers/faulty_api.py --fault MODE [--api-key-env VAR] [--rate-limit R] --port 0

Prints ``LISTENING http://127.0.0.1:PORT`` once ready; exits on SIGTERM/SIGINT or when the
process that started it is gone. The key comes from an environment variable, never argv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lifecycle import serve_threaded  # beside this script (run as `python tests/servers/X.py`)

FAULTS = (
    "none",
    "nan-500",
    "emoji-500",
    "missing-field-500",
    "large-batch-hang",
    "traceback-4xx",
    "dies-on-nesting",
    "no-auth",
    "no-rate-limit",
)
PREDICT = "/v1/models/faulty/predict"
LABELS = ("setosa", "versicolor", "virginica")
MAX_BATCH, LOW, HIGH = 64, -100.0, 100.0

OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "faulty api", "version": "1.0"},
    "paths": {
        PREDICT: {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["instances"],
                                "properties": {
                                    "instances": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": MAX_BATCH,
                                        "items": {
                                            "type": "array",
                                            "minItems": 4,
                                            "maxItems": 4,
                                            "items": {"type": "number", "minimum": LOW, "maximum": HIGH},
                                        },
                                    }
                                },
                            },
                            "example": {"instances": [[5.1, 3.5, 1.4, 0.2]]},
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["predictions"],
                                    "properties": {
                                        "predictions": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["label", "probabilities"],
                                                "properties": {
                                                    "label": {"type": "string", "enum": list(LABELS)},
                                                    "probabilities": {
                                                        "type": "array",
                                                        "items": {"type": "number", "minimum": 0, "maximum": 1},
                                                    },
                                                },
                                            },
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "422": {"description": "invalid input"},
                },
            }
        },
        "/health": {"get": {"responses": {"200": {"description": "OK"}}}},
        "/ready": {"get": {"responses": {"200": {"description": "OK"}}}},
    },
}


def _depth(raw: bytes) -> int:
    """Bracket depth, ignoring brackets inside strings (good enough for a test server)."""
    depth = best = 0
    in_str = esc = False
    for b in raw:
        if in_str:
            esc, in_str = (False, True) if esc else (b == 0x5C, b != 0x22)
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):
            depth += 1
            best = max(best, depth)
        elif b in (0x5D, 0x7D):
            depth -= 1
    return best


def _walk(doc: Any) -> list[Any]:
    out = [doc]
    for v in doc.values() if isinstance(doc, dict) else doc if isinstance(doc, list) else ():
        out += _walk(v)
    return out


def _emoji(s: str) -> bool:
    return any(0x1F000 <= ord(c) <= 0x1FAFF or 0x2600 <= ord(c) <= 0x27BF for c in s)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    fault = "none"
    api_key: str | None = None
    rate: float | None = None
    bucket = [0.0, 0.0]  # tokens, last refill
    lock = threading.Lock()

    def log_message(self, *args: Any) -> None:
        pass

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def drain(self) -> None:
        """Read any body, so it cannot be parsed as the next request on this connection."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        self.drain()
        routes = {"/openapi.json": OPENAPI, "/health": {"status": "ok"}, "/ready": {"status": "ready"}}
        path = self.path.split("?")[0]
        if path in routes:
            return self.send_json(200, routes[path])
        if path == PREDICT:
            return self.send_json(405, {"detail": "method not allowed"})
        self.send_json(404, {"detail": "not found"})

    def other(self) -> None:
        self.drain()
        self.send_json(405 if self.path.split("?")[0] == PREDICT else 404, {"detail": "method not allowed"})

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = do_PROPFIND = do_HEAD = other

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0] != PREDICT:
            return self.send_json(404, {"detail": "not found"})
        if self.api_key and self.fault != "no-auth" and self.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self.send_json(401, {"detail": "missing or wrong api key"})
        if self.rate and self.fault != "no-rate-limit" and not self._take():
            return self.send_json(429, {"detail": "slow down"}, {"Retry-After": "1"})
        if len(raw) > 1_000_000:
            return self.send_json(413, {"detail": "body too large"})
        if self.fault == "dies-on-nesting" and _depth(raw) > 50:
            os._exit(3)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return self.reject("body is not JSON")
        values = _walk(body)
        if self.fault == "nan-500" and any(isinstance(v, float) and not math.isfinite(v) for v in values):
            return self.send_json(500, {"detail": "internal server error"})
        if self.fault == "emoji-500" and any(isinstance(v, str) and _emoji(v) for v in values):
            return self.send_json(500, {"detail": "internal server error"})
        if self.fault == "missing-field-500" and isinstance(body, dict) and "instances" not in body:
            return self.send_json(500, {"detail": "internal server error"})
        rows = body.get("instances") if isinstance(body, dict) else None
        if self.fault == "large-batch-hang" and isinstance(rows, list) and len(rows) > 32:
            threading.Event().wait()
        error = self.invalid(body)
        if error:
            return self.reject(error)
        preds = []
        for row in rows:
            logits = [row[0] / 10, row[1] / 10, row[2] / 10]
            top = max(logits)
            exps = [math.exp(z - top) for z in logits]
            probs = [e / sum(exps) for e in exps]
            preds.append({"label": LABELS[probs.index(max(probs))], "probabilities": probs})
        self.send_json(200, {"predictions": preds})

    def reject(self, error: str) -> None:
        if self.fault == "traceback-4xx":
            try:
                raise ValueError(error)
            except ValueError:
                return self.send_json(400, {"detail": error, "trace": traceback.format_exc()})
        self.send_json(422, {"detail": error})

    @staticmethod
    def invalid(body: Any) -> str | None:
        if not isinstance(body, dict) or set(body) != {"instances"}:
            return "body must be an object with exactly one field, 'instances'"
        rows = body["instances"]
        if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_BATCH:
            return f"'instances' must be a list of 1..{MAX_BATCH} rows"
        for row in rows:
            if not isinstance(row, list) or len(row) != 4:
                return "each row must be 4 numbers"
            for v in row:
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v != v or not LOW <= v <= HIGH:
                    return f"features must be finite numbers in [{LOW:g}, {HIGH:g}]"
        return None

    def _take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            cap = max(1.0, self.rate or 1.0)
            tokens, last = self.bucket
            tokens = min(cap, tokens + (now - last) * (self.rate or 0)) if last else cap
            ok = tokens >= 1
            Handler.bucket = [tokens - 1 if ok else tokens, now]
            return ok


async def serve(args: argparse.Namespace) -> None:
    Handler.fault = args.fault
    Handler.api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    Handler.rate = args.rate_limit
    await serve_threaded(ThreadingHTTPServer((args.host, args.port), Handler), args.host)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--fault", choices=FAULTS, default="none")
    p.add_argument("--api-key-env", default=None, help="environment variable holding the expected Bearer key")
    p.add_argument("--rate-limit", type=float, default=None, help="requests/s on predict (burst = max(1, R))")
    asyncio.run(serve(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
