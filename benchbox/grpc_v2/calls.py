"""Calls to a KServe V2 gRPC target from the parent process, and the grpcurl line that replays one.

`grpc://host:port/model[/versions/v]` (or `grpcs://`) names the server and the model. Headers
(`--header`, `--api-key-env`'s `Authorization`) travel as metadata, lower-cased as HTTP/2 wants;
`--max-body` is the largest answer accepted; `--insecure` trusts whatever certificate the server
shows (grpcio has no "skip verification" switch, so the server's own certificate becomes the root).
"""

from __future__ import annotations

import json
import shlex
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from benchbox.findings import _AUTH_SCHEMES, env_name_for, is_secret_header

SERVICE = "inference.GRPCInferenceService"
SCHEMES = ("grpc", "grpcs")
# HTTP headers that are not metadata: grpcio sets these itself and refuses them from the caller.
_NOT_METADATA = frozenset({"content-type", "user-agent", "te", "host", "connection", "content-length"})


@dataclass(frozen=True)
class GrpcTarget:
    host: str
    port: int
    model: str
    version: str
    tls: bool

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def is_grpc(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES


def parse_target(url: str) -> GrpcTarget:
    """`grpc://host:port/model[/versions/v]`; ValueError says what is missing."""
    parts = urlsplit(url)
    segments = [p for p in parts.path.split("/") if p]
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError("expected grpc://host:port/model or grpcs://host:port/model")
    if not segments:
        raise ValueError("the URL names no model: expected grpc://host:port/MODEL")
    version = segments[2] if len(segments) >= 3 and segments[1] == "versions" else ""
    tls = parts.scheme == "grpcs"
    return GrpcTarget(parts.hostname, parts.port or (443 if tls else 80), segments[0], version, tls)


def over_our_limit(code: str, details: str) -> bool:
    """The answer passed --max-body on our side (grpcio says RESOURCE_EXHAUSTED for both sides' limits):
    the server answered, only larger than we agreed to read."""
    return code == "RESOURCE_EXHAUSTED" and "CLIENT: Received message larger than max" in details


def no_answer_kind(details: str) -> str:
    """An UNAVAILABLE call in benchbox.error_kinds' words: never connected, or the connection went."""
    text = details.lower()
    return "connect" if "connect" in text or "refused" in text else "reset"


def metadata(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((k.lower(), v) for k, v in headers.items() if k.lower() not in _NOT_METADATA)


def channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    """Answers up to --max-body; requests of any size (the server's limit is what a probe tests)."""
    return [("grpc.max_receive_message_length", max_message_bytes), ("grpc.max_send_message_length", -1)]


def credentials(target: GrpcTarget, insecure: bool) -> tuple[Any, list[tuple[str, Any]]]:
    """TLS credentials (and the channel options they need); --insecure trusts the server's own certificate."""
    import grpc

    if not insecure:
        return grpc.ssl_channel_credentials(), []
    pem, name = _shown_certificate(target.host, target.port)
    return grpc.ssl_channel_credentials(root_certificates=pem.encode()), [
        ("grpc.ssl_target_name_override", name or target.host)
    ]


@lru_cache(maxsize=16)
def _shown_certificate(host: str, port: int) -> tuple[str, str | None]:
    """The certificate the server shows, and its name; once per process, not once per load user's channel.
    (Read by hand rather than with ssl.get_server_certificate: gevent's patched one, in the
    generator, takes no timeout, and a gRPC server wants ALPN h2 offered.)"""
    import socket

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection((host, port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der or b"")
    return pem, _certificate_name(pem)


def _certificate_name(pem: str) -> str | None:
    """The certificate's first DNS/IP name, else its CN (what the name check must be told to expect)."""
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
        f.write(pem)
    try:
        decoded = ssl._ssl._test_decode_cert(f.name)  # type: ignore[attr-defined]  # the stdlib's only PEM reader
    except (ssl.SSLError, OSError):
        return None
    finally:
        os.unlink(f.name)
    for kind, value in decoded.get("subjectAltName", ()):
        if kind in ("DNS", "IP Address"):
            return str(value)
    for rdn in decoded.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def open_channel(target: GrpcTarget, insecure: bool, max_message_bytes: int) -> Any:
    import grpc

    options = channel_options(max_message_bytes)
    if not target.tls:
        return grpc.insecure_channel(target.address, options=options)
    creds, extra = credentials(target, insecure)
    return grpc.secure_channel(target.address, creds, options=options + extra)


@dataclass(frozen=True)
class Answer:
    """One call's outcome: the code's name ("OK", "INVALID_ARGUMENT"...), the reply when OK."""

    code: str
    reply: Any
    details: str
    latency_ms: float


class Client:
    """The stub with the run's metadata and timeout; every call answers an Answer, never raises an RpcError."""

    def __init__(
        self, target: GrpcTarget, headers: Mapping[str, str], timeout_s: float, insecure: bool, max_bytes: int
    ):
        self.target, self.timeout_s = target, timeout_s
        self.metadata = metadata(headers)
        self._insecure, self._max_bytes = insecure, max_bytes
        self.channel: Any = None
        self.stub: Any = None

    def _connect(self) -> str | None:
        """Open the channel on first use; with --insecure that first reads the server's certificate,
        which fails while the server is not up yet: then the call is UNAVAILABLE, as grpcio says."""
        from benchbox.kserve_grpc import grpc_predict_v2_pb2_grpc as pbg

        if self.channel is None:
            try:
                self.channel = open_channel(self.target, self._insecure, self._max_bytes)
            except OSError as exc:  # refused, reset, timed out, TLS failure (ssl.SSLError is an OSError)
                return f"cannot read the server's TLS certificate: {type(exc).__name__}: {exc}"
            self.stub = pbg.GRPCInferenceServiceStub(self.channel)
        return None

    def call(self, method: str, request: Any, timeout_s: float | None = None) -> Answer:
        import grpc

        started = time.perf_counter()
        failed = self._connect()
        if failed:
            return Answer("UNAVAILABLE", None, failed, _ms(started))
        try:
            reply = getattr(self.stub, method)(
                request, timeout=timeout_s or self.timeout_s, metadata=self.metadata or None
            )
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            return Answer(code.name if code else "UNKNOWN", None, details or "", _ms(started))
        return Answer("OK", reply, "", _ms(started))

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def grpcurl_line(
    target: GrpcTarget,
    method: str,
    request: Any,
    headers: Mapping[str, str],
    insecure: bool,
    secret_headers: Mapping[str, str] | None = None,
) -> str:
    """A shell line that replays the call with grpcurl (its JSON is the protobuf JSON mapping).
    Secret metadata reads its value from the environment, as findings' curl lines do."""

    env_for = {k.lower(): v for k, v in (secret_headers or {}).items()}
    parts = ["grpcurl"]
    if not target.tls:
        parts.append("-plaintext")
    elif insecure:
        parts.append("-insecure")
    for name, value in metadata(headers):
        if is_secret_header(name) or name in env_for:
            var = env_for.get(name) or env_name_for(name)
            scheme = next((s for s in _AUTH_SCHEMES if value.startswith(s)), "")
            parts += ["-H", shlex.quote(f"{name}: {scheme}") + f'"${var}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    body, program = request_json(request)
    from pathlib import Path

    import benchbox.kserve_grpc as shipped  # the .proto ships in the package: no server reflection needed

    parts += ["-import-path", shlex.quote(str(Path(shipped.__file__).parent)), "-proto", "grpc_predict_v2.proto"]
    if program is None:
        parts += ["-d", shlex.quote(body), target.address, f"{SERVICE}/{method}"]
        return " ".join(parts)
    parts += ["-d", "@", target.address, f"{SERVICE}/{method}"]  # the body from stdin: made by the program
    return f"python3 -c {shlex.quote(program)} | " + " ".join(parts)


INLINE_BYTES = 65536  # a request above this (the oversized probe's 4 MiB) is not inlined in a finding


def request_json(request: Any) -> tuple[str, str | None]:
    """The request in protobuf's JSON mapping (what grpcurl reads), and None; or, for a request of
    more than INLINE_BYTES whose big tensors repeat one value, that JSON with those values left
    out and a Python program printing the whole body (a 5 MB JSON in a result, and the 9 s
    json_format takes to write it, would say no more than `[0.5] * 1048577`)."""
    from google.protobuf import json_format

    if request.ByteSize() <= INLINE_BYTES:
        return json_format.MessageToJson(request, indent=None, preserving_proto_field_name=True), None
    small = type(request)()
    small.CopyFrom(request)
    fills = []
    for i, tensor in enumerate(small.inputs):
        for field in ("bool_contents", "int_contents", "int64_contents", "uint_contents", "uint64_contents",
                      "fp32_contents", "fp64_contents"):  # fmt: skip
            values = getattr(tensor.contents, field)
            if len(values) > 16 and len(set(values)) == 1:
                fills.append((i, field, values[0], len(values)))
                tensor.contents.ClearField(field)
    if not fills or small.ByteSize() > INLINE_BYTES:  # nothing that repeats: the whole body, slow as it is
        return json_format.MessageToJson(request, indent=None, preserving_proto_field_name=True), None
    doc = json_format.MessageToDict(small, preserving_proto_field_name=True)
    steps = "; ".join(f"d['inputs'][{i}].setdefault('contents', {{}})[{f!r}] = [{v!r}] * {n}" for i, f, v, n in fills)
    program = f"import json; d = json.loads({json.dumps(doc)!r}); {steps}; print(json.dumps(d))"
    elided = ", ".join(f"inputs[{i}].contents.{f} = [{v!r}] * {n}" for i, f, v, n in fills)
    return f"{json.dumps(doc)} (left out: {elided})", program
