"""A KServe V2 server in the shape of MLServer 1.7 serving a scikit-learn model, for benchbox's tests.

Why: run against the real MLServer with nothing but the URL, benchbox reported three things that
did not hold on inspection. This server reproduces the shape of that server's behaviour without
depending on it:

- its model metadata lists no inputs (`"inputs": []`), and its `/openapi.json` is the generic
  Open Inference Protocol document: `POST /v2/models/{model_name}/infer` takes any list of
  `{name, shape, datatype, data}` tensors, with no `minItems`;
- the model takes exactly one FP32/FP64 tensor of shape [N, 4]; any other count of tensors, shape
  or datatype gets a 400 with a JSON error, as MLServer's codecs answer;
- data that is not a flat or nested list of numbers (a string, an empty list inside a list)
  gets a 500 whose body is a Python traceback (MLServer runs Starlette with debug on);
- after a 500 the connection is dropped: uvicorn closes it once the app raised, without a
  `Connection: close` header, so the next request sent on that kept-alive connection gets no
  answer. Here that race is made certain: the next request on the connection is read and the
  connection closed without an answer.

    python tests/servers/kserve_envelope.py --port 0

Prints ``LISTENING http://127.0.0.1:PORT`` once ready; exits on SIGTERM/SIGINT or when the
process that started it is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lifecycle import serve_threaded  # beside this script (run as `python tests/servers/X.py`)

MODEL = "iris"
INFER = f"/v2/models/{MODEL}/infer"
TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "datatype": {"type": "string", "enum": ["BOOL", "INT64", "FP32", "FP64", "BYTES"]},
        "data": {"type": "array"},
    },
}
OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "generic V2 dataplane", "version": "2.0"},
    "paths": {
        "/v2/models/{model_name}/infer": {
            "post": {
                "parameters": [{"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["inputs"],
                                "properties": {"id": {"type": "string"}, "inputs": {"type": "array", "items": TENSOR}},
                            }
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
                                    "required": ["model_name", "outputs"],
                                    "properties": {"model_name": {"type": "string"}, "outputs": {"type": "array"}},
                                }
                            }
                        },
                    }
                },
            }
        },
        "/v2/models/{model_name}": {"get": {"responses": {"200": {"description": "metadata"}}}},
        "/v2/health/live": {"get": {"responses": {"200": {"description": "OK"}}}},
        "/v2/health/ready": {"get": {"responses": {"200": {"description": "OK"}}}},
    },
}
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/srv/app/codecs/numpy.py", line 77, in _to_ndarray\n'
    "    return np.array(data, dtype)\nValueError: could not convert the data to a tensor\n"
)


def predict(body: Any) -> tuple[int, Any]:
    """(status, answer): 400 for what the codec refuses, 500 (a crash) for data it cannot read."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or len(inputs) != 1:
        return 400, {
            "error": f"the 'np' codec only supports a single input tensor "
            f"({len(inputs) if isinstance(inputs, list) else 0} were received)"
        }
    t = inputs[0]
    if not isinstance(t, dict) or not all(k in t for k in ("name", "shape", "datatype", "data")):
        return 400, {"error": "each input needs name, shape, datatype and data"}
    data = t["data"]
    if not isinstance(data, list) or any(isinstance(v, list) and not v for v in data):
        return 500, None
    flat = [x for v in data for x in (v if isinstance(v, list) else [v])]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
        return 500, None
    shape = t["shape"]
    if (
        t["datatype"] not in ("FP32", "FP64")
        or not isinstance(shape, list)
        or len(shape) != 2
        or shape[1] != 4
        or not isinstance(shape[0], int)
        or shape[0] < 1
        or len(flat) != shape[0] * 4
    ):
        return 400, {"error": "expected one FP32 tensor of shape [N, 4] with N*4 values"}
    rows = [flat[i : i + 4] for i in range(0, len(flat), 4)]
    labels = [0 if r[2] < 2.5 else (1 if r[2] < 4.9 else 2) for r in rows]
    return 200, {
        "model_name": MODEL,
        "model_version": "v1",
        "id": str(body.get("id", "x")),
        "parameters": {},
        "outputs": [{"name": "predict", "shape": [len(rows), 1], "datatype": "INT64", "data": labels}],
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    poisoned = False  # per connection: the app raised on this connection's previous request

    def log_message(self, *args: Any) -> None:
        pass

    def _drop_if_poisoned(self) -> bool:
        if not self.poisoned:
            return False
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.close_connection = True  # closed with no answer, as uvicorn's close after the 500 does
        return True

    def _send(self, status: int, doc: Any, ctype: str = "application/json") -> None:
        raw = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self._drop_if_poisoned():
            return
        if self.path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{MODEL}/ready"):
            self._send(200, "", "text/plain")
        elif self.path == f"/v2/models/{MODEL}":
            self._send(200, {"name": MODEL, "versions": [], "platform": "", "inputs": [], "outputs": []})
        elif self.path == "/openapi.json":
            self._send(200, OPENAPI)
        else:
            self._send(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        if self._drop_if_poisoned():
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != INFER:
            self._send(404, {"detail": "Not Found"})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(422, {"detail": "invalid JSON"})
            return
        status, doc = predict(body)
        if status == 500:
            self._send(500, TRACEBACK, "text/plain; charset=utf-8")
            self.poisoned = True
        else:
            self._send(status, doc)


async def serve(args: argparse.Namespace) -> None:
    await serve_threaded(ThreadingHTTPServer((args.host, args.port), Handler), args.host)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    asyncio.run(serve(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
