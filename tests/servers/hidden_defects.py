"""A model server with defects that one-request-at-a-time judging misses (issue 15), or none.

Why: each kind needs its own detector in benchbox (an input-tied latency outlier, an edge-sized
batch, an unguarded sibling route, an answer that contradicts itself, two faces that disagree);
the clean twin (`--defect none`) proves those detectors stay quiet on an honest server. It is the
faulty_models server (same OpenAPI document, JSON face and KServe V2 face) plus an API key on
every route but health/readiness and the documents, a `POST /echo` route whose document asks for
no body, and `GET /__stats` -> {"slow": n} (how many answers were made slow on purpose: a replayed
curl line can be shown to hit the defect without timing anything). Defects, comma-separated:

    slow-input      a row whose first feature is >= 99 takes --slow-s longer (answered correctly)
    slow-batch      a batch of more than 32 rows (the schema allows 64) takes --slow-s longer
    open-route      the KServe V2 infer route serves without the key (the JSON route checks it)
    contradiction   rows whose second feature is negative get a label that is not their top class
    faces-differ    the V2 face adds 0.3 to one logit: the same rows, other probabilities
    slow-reject     a body with an undeclared field is refused (422) only after --slow-s

    python tests/servers/hidden_defects.py --defect slow-input,open-route --key-env KEY --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

import faulty_models as fm  # beside this script
from lifecycle import serve_threaded

DEFECTS = ("none", "slow-input", "slow-batch", "open-route", "contradiction", "faces-differ", "slow-reject")
PUBLIC = ("/health", "/ready", "/openapi.json", "/v2/health/live", "/v2/health/ready", "/__stats")
OPENAPI = copy.deepcopy(fm.OPENAPI)
OPENAPI["paths"]["/echo"] = {"post": {"responses": {"200": {"description": "the body, as sent"}}}}


class Handler(fm.Handler):
    defects: frozenset[str] = frozenset()
    key: str | None = None
    slow_s = 0.7
    slow = 0
    lock = threading.Lock()

    def authorized(self, path: str) -> bool:
        if self.key is None or path in PUBLIC:
            return True
        if path == fm.INFER and "open-route" in self.defects:
            return True
        if self.headers.get("Authorization") == f"Bearer {self.key}":
            return True
        self.send_json(401, {"detail": "missing or wrong API key"})
        return False

    def stall(self) -> None:
        with Handler.lock:
            Handler.slow += 1
        time.sleep(self.slow_s)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/__stats":
            return self.send_json(200, {"slow": Handler.slow})
        if not self.authorized(path):
            return None
        if path == "/openapi.json":
            return self.send_json(200, OPENAPI)
        return super().do_GET()

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        if not self.authorized(path):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return None
        if path == "/echo":
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return self.send_json(200, {"received": raw.decode("utf-8", "replace")})
        return super().do_POST()

    def invalid(self, body: Any) -> str | None:
        try:
            return super().invalid(body)
        except OverflowError:  # 10**400 is a JSON number too: refused, not a dropped connection
            return "features must be finite numbers"

    def infer(self, body: Any) -> None:
        try:
            return super().infer(body)
        except OverflowError:
            return self.send_json(400, {"error": "invalid inference request"})

    def predict(self, body: Any) -> None:
        if "slow-reject" in self.defects and isinstance(body, dict) and set(body) - {"instances"}:
            self.stall()
        if self.invalid(body) is None:
            rows = body["instances"]
            if ("slow-input" in self.defects and any(row[0] >= 99 for row in rows)) or (
                "slow-batch" in self.defects and len(rows) > 32
            ):
                self.stall()
        if "contradiction" not in self.defects or self.invalid(body) is not None:
            return super().predict(body)
        rows = body["instances"]
        preds = []
        for row, p in zip(rows, fm.softmax_rows(rows, noise=False)):
            c = max(range(3), key=p.__getitem__)
            if row[1] < 0:
                c = (c + 1) % 3  # the label no longer is the class its own probabilities rank first
            preds.append({"label": fm.LABELS[c], "class_index": c, "probabilities": p})
        self.send_json(
            200, {"model": fm.MODEL, "model_version": fm.VERSION, "predictions": preds}, {"X-Model-Version": fm.VERSION}
        )

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        if "faces-differ" in self.defects and isinstance(payload, dict) and "outputs" in payload:
            payload = _shifted(payload)
        super().send_json(status, payload, headers)


def _shifted(answer: dict[str, Any]) -> dict[str, Any]:
    """The V2 face's probabilities with 0.3 added to the first logit (labels kept consistent)."""
    import math

    probs = next(o for o in answer["outputs"] if o["name"] == "probabilities")
    n = probs["shape"][0]
    rows = []
    for r in range(n):
        p = probs["data"][r * 3 : (r + 1) * 3]
        logits = [math.log(max(v, 1e-300)) for v in p]
        logits[0] += 0.3
        top = max(logits)
        exps = [math.exp(z - top) for z in logits]
        rows.append([e / sum(exps) for e in exps])
    out = copy.deepcopy(answer)
    for o in out["outputs"]:
        if o["name"] == "probabilities":
            o["data"] = [v for row in rows for v in row]
        if o["name"] == "label":
            o["data"] = [max(range(3), key=row.__getitem__) for row in rows]
    return out


async def serve(args: argparse.Namespace) -> None:
    Handler.defects = frozenset(d for d in args.defect.split(",") if d and d != "none")
    Handler.key = os.environ[args.key_env] if args.key_env else None
    Handler.slow_s = args.slow_s
    await serve_threaded(ThreadingHTTPServer((args.host, args.port), Handler), args.host)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--defect", default="none", help="comma-separated: " + ", ".join(DEFECTS))
    p.add_argument("--key-env", default=None, help="environment variable holding the API key (none: no auth)")
    p.add_argument("--slow-s", type=float, default=0.7)
    args = p.parse_args(argv)
    unknown = set(args.defect.split(",")) - set(DEFECTS)
    if unknown:
        p.error(f"unknown defect {min(unknown)!r}: expected {', '.join(DEFECTS)}")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
