"""A KServe V2 gRPC connection for the load phase: one channel per Locust user, as one HTTP user
owns one keep-alive connection.

grpcio runs its own I/O threads; under gevent they must cooperate with the hub, or every call
blocks the whole generator and throughput collapses to a few requests per second (Locust PR #1016,
#3221). `grpc.experimental.gevent.init_gevent()` is called once, on this module's import, in the
generator process (already monkey-patched), before any channel exists.
The V2 JSON bodies are turned into serialized ModelInferRequests once per phase; answers are read
as bytes and decoded only when kept as a sample, so the hot path is grpcio's and nothing else.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

import grpc
import grpc.experimental.gevent as grpc_gevent

from benchbox.grpc_v2.calls import GrpcTarget, metadata, no_answer_kind, open_channel, over_our_limit, parse_target
from benchbox.load.client import SAMPLE_BYTES, Outcome
from benchbox.load.spec import RequestSpec

grpc_gevent.init_gevent()

_METHOD = "/inference.GRPCInferenceService/ModelInfer"
# The code names a failed call is counted under (UNAVAILABLE: no answer from the server at all).
_NO_ANSWER = frozenset({"UNAVAILABLE"})


@lru_cache(maxsize=4096)  # above the input pool (100 bodies, sent round-robin: a smaller LRU would always miss)
def _encoded(url: str, body: bytes | None) -> bytes:
    """A V2 JSON body as the serialized ModelInferRequest (once per phase and body, not per call)."""
    from benchbox.grpc_v2.tensors import to_request

    target = parse_target(url)
    doc = json.loads(body) if body else {"inputs": []}
    return bytes(to_request(doc, target.model, target.version).SerializeToString())


class GrpcConnection:
    """One channel to the target; `send` has the HTTP Connection's contract (benchbox.load.client)."""

    def __init__(self, request: RequestSpec) -> None:
        self.request = request
        self.target: GrpcTarget = parse_target(request.url)
        self.timeout = request.timeout_s
        self.metadata = metadata(dict(request.headers)) or None
        self.channel: Any = None
        self.call: Any = None
        self._connect()  # here, outside any call's clock; a failure is retried by the first send

    def _connect(self) -> str | None:
        """The channel, opened on first use (with --insecure that reads the server's certificate, which
        can fail like a connect): the failure is this call's, the next call tries again."""
        if self.channel is None:
            try:
                self.channel = open_channel(self.target, self.request.insecure, self.request.max_body_bytes)
            except OSError as exc:
                return f"cannot read the server's TLS certificate: {type(exc).__name__}: {exc}"
            # Identity (de)serializers: bytes in, bytes out; decoding is only for kept samples.
            self.call = self.channel.unary_unary(_METHOD)
        return None

    def send(self, body: bytes | None, out: Outcome) -> Outcome:
        """One ModelInfer call. `out.status` is the gRPC code's name ("OK", "INVALID_ARGUMENT"...);
        a call that got no answer (UNAVAILABLE, DEADLINE_EXCEEDED) is a failure, as a lost HTTP
        connection or a timeout is."""
        out.sent_at = time.perf_counter()
        try:
            payload = _encoded(self.request.url, body)
        except (ValueError, KeyError, TypeError) as exc:  # a --body that is no V2 request: nothing to send
            out.done_at = time.perf_counter()
            out.error_kind, out.detail = "client", f"not a KServe V2 request: {type(exc).__name__}: {exc}"[:300]
            return out
        failed = self._connect()
        if failed:
            out.done_at = time.perf_counter()
            out.error_kind, out.detail = "connect", failed
            return out
        try:
            answer = self.call(payload, timeout=self.timeout, metadata=self.metadata)
        except grpc.RpcError as exc:
            out.done_at = time.perf_counter()
            code = exc.code().name if hasattr(exc, "code") and exc.code() else "UNKNOWN"
            detail = f"{code}: {exc.details() if hasattr(exc, 'details') else exc}"
            if code == "DEADLINE_EXCEEDED":
                out.error_kind, out.detail = "timeout", f"no complete answer within {self.timeout:g}s"
            elif code in _NO_ANSWER:
                out.error_kind, out.detail = no_answer_kind(detail), detail
            elif over_our_limit(code, detail):
                out.error_kind, out.detail = (
                    "too_large",
                    f"answer over {self.request.max_body_bytes} bytes (--max-body)",
                )
            else:
                out.status, out.detail = code, detail  # type: ignore[assignment]  # an answer, with a code
            return out
        out.done_at = time.perf_counter()
        out.status = "OK"  # type: ignore[assignment]
        if out.keep:
            from benchbox.grpc_v2.tensors import to_json
            from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

            out.body = json.dumps(to_json(pb.ModelInferResponse.FromString(answer))).encode()[:SAMPLE_BYTES]
            out.content_type = "application/grpc"
        return out

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
