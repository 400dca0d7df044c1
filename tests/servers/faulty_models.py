"""A model server that breaks exactly one contract rule, for benchbox's contract tests.

Why: the contract stage must be shown to catch each fault by the right rule, and to stay quiet
about everything else. Otherwise this server behaves like the demo's predict API (a softmax
classifier over 4 features in [-100, 100], batches of 1..64, `X-Model-Version`), with a KServe
V2 face, and its `/openapi.json` (OpenAPI 3.0, with $refs) describes the honest contract:

    none                    honest
    probs-not-summing       probabilities scaled by 0.9 (each still in [0, 1])
    short-batch             one prediction short for a batch of three or more
    nan-output              NaN (the non-JSON token) as the first probability
    nondeterministic        a little noise on the logits, so the same input gets another answer
    rejects-valid           422 for a valid input that has a negative feature
    accepts-invalid         200 for features beyond [-100, 100] (silently clamped)
    kserve-shape-mismatch   V2 `probabilities` output one value short of its declared shape
    flip-some               (for compare) about 1 row in 5, chosen by a hash of the row, gets the next
                            class's answer: the same label shares overall, different answers
    shift-classes           (for compare) about 4 rows in 10 answer class 0 (setosa) whatever their
                            input: class shares move

    python tests/servers/faulty_models.py --fault MODE --port 0

Prints ``LISTENING http://127.0.0.1:PORT`` once ready; exits on SIGTERM/SIGINT or when the
process that started it is gone. Threads from the stdlib: speed does not matter here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lifecycle import serve_threaded  # beside this script (run as `python tests/servers/X.py`)

FAULTS = (
    "none",
    "probs-not-summing",
    "short-batch",
    "nan-output",
    "nondeterministic",
    "rejects-valid",
    "accepts-invalid",
    "kserve-shape-mismatch",
    "flip-some",
    "shift-classes",
)
MODEL = "faulty"
VERSION = "v1"
PREDICT = f"/v1/models/{MODEL}/predict"
INFER = f"/v2/models/{MODEL}/infer"
LABELS = ("setosa", "versicolor", "virginica")
WEIGHTS = ((0.9, 0.4, -1.2, -0.8), (0.1, -0.6, 0.3, 0.2), (-0.7, -0.3, 1.1, 1.3))
BIAS = (0.2, 0.5, -0.4)
MAX_BATCH, LOW, HIGH = 64, -100.0, 100.0

METADATA = {
    "name": MODEL,
    "versions": [VERSION],
    "platform": "python",
    "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}],
    "outputs": [
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "label", "datatype": "INT64", "shape": [-1]},
    ],
}


def _ok(schema_ref: str) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "faulty model server", "version": "1.0"},
    "paths": {
        PREDICT: {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
                },
                "responses": {
                    "200": _ok("#/components/schemas/PredictResponse"),
                    "422": {"description": "invalid input"},
                },
            }
        },
        "/health": {"get": {"responses": {"200": _ok("#/components/schemas/Status")}}},
        "/ready": {"get": {"responses": {"200": _ok("#/components/schemas/Status")}}},
    },
    "components": {
        "schemas": {
            "Feature": {"type": "number", "format": "double", "minimum": LOW, "maximum": HIGH},
            "PredictRequest": {
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
                            "items": {"$ref": "#/components/schemas/Feature"},
                        },
                    }
                },
            },
            "Prediction": {
                "type": "object",
                "required": ["label", "class_index", "probabilities"],
                "properties": {
                    "label": {"type": "string", "enum": list(LABELS)},
                    "class_index": {"type": "integer", "minimum": 0, "maximum": 2},
                    "probabilities": {
                        "type": "array",
                        "minItems": 3,
                        "maxItems": 3,
                        "items": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "explanation": {"type": "string", "nullable": True},
                },
            },
            "PredictResponse": {
                "type": "object",
                "required": ["model", "model_version", "predictions"],
                "properties": {
                    "model": {"type": "string"},
                    "model_version": {"type": "string"},
                    "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}},
                },
            },
            "Status": {"type": "object", "properties": {"status": {"type": "string"}}},
        }
    },
}


def softmax_rows(rows: list[list[float]], noise: bool) -> list[list[float]]:
    out = []
    for x in rows:
        logits = [sum(w * v for w, v in zip(ws, x)) / 10 + b for ws, b in zip(WEIGHTS, BIAS)]
        if noise:
            logits = [z + random.gauss(0.0, 0.05) for z in logits]
        top = max(logits)
        exps = [math.exp(z - top) for z in logits]
        total = sum(exps)
        out.append([e / total for e in exps])
    return out


def _is_feature(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    fault = "none"

    def log_message(self, *args: Any) -> None:  # quiet: tests read stderr only on failure
        pass

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()  # allow_nan: nan-output needs the token
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        routes = {
            "/openapi.json": OPENAPI,
            "/health": {"status": "ok"},
            "/ready": {"status": "ready"},
            "/v2/health/live": {"live": True},
            "/v2/health/ready": {"ready": True},
            f"/v2/models/{MODEL}": METADATA,
            f"/v2/models/{MODEL}/ready": {"name": MODEL, "ready": True},
        }
        if path in routes:
            self.send_json(200, routes[path])
        else:
            self.send_json(404, {"detail": "not found"})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_json(422 if path == PREDICT else 400, {"detail": "body is not JSON"})
        if path == PREDICT:
            return self.predict(body)
        if path == INFER:
            return self.infer(body)
        self.send_json(404, {"detail": "not found"})

    def predict(self, body: Any) -> None:
        error = self.invalid(body)
        if error:
            return self.send_json(422, {"detail": error})
        rows = body["instances"]
        if self.fault == "rejects-valid" and any(v < 0 for row in rows for v in row):
            return self.send_json(422, {"detail": "negative features are not supported"})
        rows = [[min(HIGH, max(LOW, v)) for v in row] for row in rows]  # only reached out of range in accepts-invalid
        noisy = softmax_rows(rows, noise=self.fault == "nondeterministic")
        probs = [self.compare_fault(row, p) for row, p in zip(rows, noisy)]
        preds = []
        for p in probs:
            c = max(range(3), key=p.__getitem__)
            shown = [v * 0.9 for v in p] if self.fault == "probs-not-summing" else list(p)
            if self.fault == "nan-output":
                shown[0] = float("nan")
            preds.append({"label": LABELS[c], "class_index": c, "probabilities": shown})
        if self.fault == "short-batch" and len(preds) >= 3:
            preds.pop()
        self.send_json(
            200, {"model": MODEL, "model_version": VERSION, "predictions": preds}, {"X-Model-Version": VERSION}
        )

    def compare_fault(self, row: list[float], p: list[float]) -> list[float]:
        """A candidate model that answers some inputs differently, picked by the input itself so
        the same input always gets the same (wrong) answer."""
        bucket = zlib.crc32(json.dumps(row).encode()) % 10
        if self.fault == "flip-some" and bucket < 2:
            return p[-1:] + p[:-1]  # class k's probability moves to class k+1
        if self.fault == "shift-classes" and bucket < 4:
            return [0.9, 0.05, 0.05]
        return p

    def invalid(self, body: Any) -> str | None:
        if not isinstance(body, dict) or set(body) != {"instances"}:
            return "body must be an object with exactly one field, 'instances'"
        rows = body["instances"]
        if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_BATCH:
            return f"'instances' must be a list of 1..{MAX_BATCH} rows"
        for row in rows:
            if not isinstance(row, list) or len(row) != 4 or not all(_is_feature(v) for v in row):
                return "each row must be 4 finite numbers"
            if self.fault != "accepts-invalid" and not all(LOW <= v <= HIGH for v in row):
                return f"features must lie in [{LOW:g}, {HIGH:g}]"
        return None

    def infer(self, body: Any) -> None:
        try:
            (inp,) = body["inputs"]
            shape, data = inp["shape"], inp["data"]
            ok = (
                inp["name"] == "input-0"
                and inp["datatype"] in ("FP32", "FP64")
                and len(shape) == 2
                and shape[1] == 4
                and 1 <= shape[0] <= MAX_BATCH
                and len(data) == shape[0] * 4
                and all(_is_feature(v) and LOW <= v <= HIGH for v in data)
            )
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            return self.send_json(400, {"error": "invalid inference request"})
        n = shape[0]
        probs = softmax_rows([data[i * 4 : (i + 1) * 4] for i in range(n)], noise=False)
        flat = [v for row in probs for v in row]
        if self.fault == "kserve-shape-mismatch":
            flat = flat[:-1]
        out: dict[str, Any] = {
            "model_name": MODEL,
            "model_version": VERSION,
            "outputs": [
                {"name": "probabilities", "datatype": "FP32", "shape": [n, 3], "data": flat},
                {
                    "name": "label",
                    "datatype": "INT64",
                    "shape": [n],
                    "data": [max(range(3), key=r.__getitem__) for r in probs],
                },
            ],
        }
        if "id" in body:
            out["id"] = body["id"]
        self.send_json(200, out, {"X-Model-Version": VERSION})


async def serve(args: argparse.Namespace) -> None:
    Handler.fault = args.fault
    await serve_threaded(ThreadingHTTPServer((args.host, args.port), Handler), args.host)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--fault", choices=FAULTS, default="none")
    asyncio.run(serve(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
