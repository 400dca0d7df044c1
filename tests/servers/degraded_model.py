"""The demo model, deliberately degraded: a known share of its answers moved to the wrong class.

Why: the evaluation gate must fail a version that got worse, at the threshold its own answers put
it at. This server answers the demo's predict API with the demo's v1 model, except that for every
input whose features hash into the first `--degrade` share of buckets it answers the next class,
with that class's probability swapped to the top (so the answer stays a valid, confident softmax:
the kind of regression a bad training run ships). Deterministic: the same input always gets the
same answer, in any batch.

    python tests/servers/degraded_model.py --degrade 0.2 --port 0

Prints ``LISTENING http://127.0.0.1:PORT`` once ready; `GET /health`, `GET /ready`,
`POST /v1/models/demo/predict`. Exits on SIGTERM/SIGINT or when the process that started it is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchbox, for the demo model itself

import numpy as np
from lifecycle import serve_threaded

from benchbox.demo.model import fit_model

PREDICT = "/v1/models/demo/predict"
MODEL = fit_model("v1")


def degraded(features: list[float], share: float) -> bool:
    """Whether this input is one of the moved ones: a stable hash of its exact features."""
    digest = hashlib.sha256(json.dumps(features).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


class Handler(BaseHTTPRequestHandler):
    share = 0.0
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args: Any) -> None:  # quiet: tests read stderr only on failure
        pass

    def send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Model-Version", "v1-degraded")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path in ("/health", "/ready"):
            self.send_json(200, {"status": "ready", "model_version": "v1-degraded"})
        else:
            self.send_json(404, {"detail": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
            rows = [[float(v) for v in row] for row in body["instances"]]
            if self.path != PREDICT or not rows or any(len(r) != 4 for r in rows):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            self.send_json(422, {"detail": 'expected {"instances": [[4 numbers], ...]}'})
            return
        proba = MODEL.predict_proba(np.array(rows))
        predictions = []
        for features, p in zip(rows, proba.tolist()):
            c = int(np.argmax(p))
            if degraded(features, self.share):
                wrong = (c + 1) % len(p)
                p[c], p[wrong] = p[wrong], p[c]
                c = wrong
            predictions.append({"label": MODEL.labels[c], "class_index": c, "probabilities": p})
        self.send_json(200, {"model": "demo", "model_version": "v1-degraded", "predictions": predictions})


async def serve(args: argparse.Namespace) -> None:
    Handler.share = args.degrade
    await serve_threaded(ThreadingHTTPServer((args.host, args.port), Handler), args.host)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--degrade", type=float, default=0.2, help="share of inputs answered with the wrong class")
    asyncio.run(serve(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
