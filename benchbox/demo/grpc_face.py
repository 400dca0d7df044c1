"""The demo model's KServe V2 face over gRPC (`inference.GRPCInferenceService`).

The same model as the HTTP faces (fit_model is seeded, so both faces answer alike), served by
grpcio's thread-pool server. Every refusal is a gRPC status a client can act on:
NOT_FOUND for another model, INVALID_ARGUMENT for a tensor the model cannot take,
UNAUTHENTICATED without the key, UNAVAILABLE while the model loads, RESOURCE_EXHAUSTED past
grpcio's message size limit. Run alone (`python -m benchbox.demo.grpc_face --port 8081`) or
beside the HTTP face (`python -m benchbox.demo --grpc-port 8081`).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import threading
import time
from collections.abc import Sequence
from concurrent import futures
from typing import Any

import numpy as np

from benchbox.demo import schemas as s
from benchbox.demo.model import SoftmaxModel, fit_model
from benchbox.demo.options import DemoOptions
from benchbox.version import __version__

MAX_MESSAGE_BYTES = 1 << 20  # as the HTTP face's body limit: a valid request is a few KB


class DemoInference:
    """The servicer; built on the generated base class at serve() time (grpcio is imported lazily)."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.model: SoftmaxModel | None = None
        self.slots = threading.BoundedSemaphore(options.concurrency) if options.concurrency else None
        threading.Thread(target=self._load, daemon=True).start()

    def _load(self) -> None:
        time.sleep(self.options.startup_delay_s)
        self.model = fit_model(self.options.model_version)

    def _auth(self, context: Any) -> None:
        import grpc

        key = self.options.api_key
        if key is None:
            return
        sent = dict(context.invocation_metadata()).get("authorization")
        if sent != f"Bearer {key}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong 'authorization: Bearer KEY' metadata")

    def _model(self, name: str, version: str, context: Any) -> None:
        import grpc

        if name != s.MODEL_NAME or version not in ("", self.options.model_version):
            context.abort(grpc.StatusCode.NOT_FOUND, f"no model {name!r} version {version!r}; this server has 'demo'")

    def ServerLive(self, request: Any, context: Any) -> Any:
        from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

        return pb.ServerLiveResponse(live=True)

    def ServerReady(self, request: Any, context: Any) -> Any:
        from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

        return pb.ServerReadyResponse(ready=self.model is not None)

    def ServerMetadata(self, request: Any, context: Any) -> Any:
        from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

        return pb.ServerMetadataResponse(name="benchbox-demo", version=__version__)

    def ModelReady(self, request: Any, context: Any) -> Any:
        from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

        self._auth(context)
        self._model(request.name, request.version, context)
        return pb.ModelReadyResponse(ready=self.model is not None)

    def ModelMetadata(self, request: Any, context: Any) -> Any:
        from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

        self._auth(context)
        self._model(request.name, request.version, context)
        doc = s.model_metadata(self.options.model_version)
        T = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=doc["name"],
            versions=doc["versions"],
            platform=doc["platform"],
            inputs=[T(**t) for t in doc["inputs"]],
            outputs=[T(**t) for t in doc["outputs"]],
        )

    def ModelInfer(self, request: Any, context: Any) -> Any:
        import grpc

        from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

        self._auth(context)
        self._model(request.model_name, request.model_version, context)
        model = self.model
        if model is None:
            context.abort(grpc.StatusCode.UNAVAILABLE, "model not ready")
        problem, batch = _batch(request)
        if problem:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        with self.slots or contextlib.nullcontext():
            if self.options.service_ms:
                time.sleep(self.options.service_ms / 1000.0)
            proba = model.predict_proba(batch)  # type: ignore[union-attr]
        n = proba.shape[0]
        answer = pb.ModelInferResponse(model_name=s.MODEL_NAME, model_version=self.options.model_version)
        answer.id = request.id
        p = answer.outputs.add(name="probabilities", datatype="FP32", shape=[n, model.n_classes])  # type: ignore[union-attr]
        p.contents.fp32_contents.extend(proba.astype(np.float32).ravel().tolist())
        label = answer.outputs.add(name="label", datatype="INT64", shape=[n])
        label.contents.int64_contents.extend(proba.argmax(axis=1).tolist())
        return answer


def _batch(request: Any) -> tuple[str | None, Any]:
    """The request's (B, 4) batch, or what is wrong with it (the HTTP face's rules)."""
    if len(request.inputs) != 1:
        return f"this model takes one input, {s.INPUT_NAME!r}; got {len(request.inputs)}", None
    inp = request.inputs[0]
    if inp.name != s.INPUT_NAME:
        return f"unknown input {inp.name!r}; this model has one input, {s.INPUT_NAME!r}", None
    if inp.datatype not in ("FP32", "FP64"):
        return f"input datatype must be FP32 or FP64, got {inp.datatype!r}", None
    shape = list(inp.shape)
    if len(shape) != 2 or shape[1] != s.N_FEATURES:
        return f"input shape must be [batch, {s.N_FEATURES}], got {shape}", None
    if not 1 <= shape[0] <= s.MAX_BATCH:
        return f"batch size must be between 1 and {s.MAX_BATCH}, got {shape[0]}", None
    if request.raw_input_contents:
        raw = request.raw_input_contents[0]
        values = list(np.frombuffer(raw, dtype="<f4" if inp.datatype == "FP32" else "<f8")) if raw else []
    else:
        values = list(inp.contents.fp32_contents if inp.datatype == "FP32" else inp.contents.fp64_contents)
    if len(values) != shape[0] * shape[1]:
        return f"input has {len(values)} values but shape {shape} needs {shape[0] * shape[1]}", None
    if not all(math.isfinite(v) and s.FEATURE_MIN <= v <= s.FEATURE_MAX for v in values):
        return f"every value must be finite and within [{s.FEATURE_MIN:g}, {s.FEATURE_MAX:g}]", None
    return None, np.array(values, dtype=np.float64).reshape(shape[0], shape[1])


def serve(options: DemoOptions, host: str, port: int, tls: tuple[str, str] | None = None) -> Any:
    """Start the gRPC face (it serves from its own threads); returns the started grpc.Server."""
    return start(options, host, port, tls)[0]


def start(
    options: DemoOptions,
    host: str,
    port: int,
    tls: tuple[str, str] | None = None,
    servicer_class: type[DemoInference] = DemoInference,
    threads: int = 16,
) -> tuple[Any, int]:
    """The started grpc.Server and the port it bound (port 0: a free one)."""
    import grpc

    from benchbox.kserve_grpc import grpc_predict_v2_pb2_grpc as pbg

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    servicer = type("Servicer", (servicer_class, pbg.GRPCInferenceServiceServicer), {})(options)
    pbg.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    address = f"{host}:{port}"
    if tls is not None:
        cert, key = (open(p, "rb").read() for p in tls)
        bound = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    else:
        bound = server.add_insecure_port(address)
    server.start()
    return server, bound


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchbox.demo.grpc_face", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--service-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--tls-cert", default=None, help="serve TLS with this PEM certificate (needs --tls-key)")
    parser.add_argument("--tls-key", default=None)
    args = parser.parse_args(argv)
    try:
        options = DemoOptions(service_ms=args.service_ms, concurrency=args.concurrency, api_key=args.api_key)
    except ValueError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert and args.tls_key else None
    server, port = start(options, args.host, args.port, tls)
    print(f"serving the demo model over gRPC on {args.host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.wait_for_termination()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
