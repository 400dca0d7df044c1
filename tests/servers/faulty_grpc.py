"""A KServe V2 gRPC server (the demo's model) with one planted fault, for the gRPC adversarial tests.

`--fault internal-on-datatype`: a tensor of another datatype than FP32/FP64 gets INTERNAL with a
traceback-like message (the server's own fault, where INVALID_ARGUMENT is owed).
`--fault hang-on-empty`: an empty tensor (batch 0) is never answered (the call runs into its deadline).
`--fault dies-on-shape`: a tensor of another rank than 2 kills the server mid-call (a dropped call).
`--fault none`: the demo's own face. Prints `LISTENING http://127.0.0.1:PORT` (the harness's line;
the port speaks gRPC) and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from typing import Any

import grpc

from benchbox.demo.grpc_face import DemoInference, start
from benchbox.demo.options import DemoOptions


def faulty(fault: str) -> type[DemoInference]:
    class Faulty(DemoInference):
        def ModelInfer(self, request: Any, context: Any) -> Any:
            inputs = list(request.inputs)
            if fault == "internal-on-datatype" and inputs and inputs[0].datatype not in ("FP32", "FP64"):
                context.abort(grpc.StatusCode.INTERNAL, "Traceback (most recent call last): KeyError: 'INT32'")
            if fault == "hang-on-empty" and inputs and list(inputs[0].shape)[:1] == [0]:
                time.sleep(3600)
            if fault == "dies-on-shape" and inputs and len(inputs[0].shape) != 2:
                os._exit(1)
            return super().ModelInfer(request, context)

    return Faulty


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--fault", choices=("none", "internal-on-datatype", "hang-on-empty", "dies-on-shape"), default="none"
    )
    args = parser.parse_args()
    server, port = start(DemoOptions(), "127.0.0.1", args.port, servicer_class=faulty(args.fault))
    print(f"LISTENING http://127.0.0.1:{port}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(grace=0)
    os._exit(0)  # a hung handler's thread would otherwise hold the interpreter's exit for its hour


if __name__ == "__main__":
    raise SystemExit(main())
