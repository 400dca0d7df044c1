"""Hostile tensors for a KServe V2 gRPC model, and what its answers must be.

Each case breaks one rule of the model's metadata or of the protocol: a wrong datatype, a wrong
shape, values that do not fill the shape, an empty tensor, an oversized one, no inputs, an unknown
model. A refusal must be a status the client can act on (INVALID_ARGUMENT, NOT_FOUND,
RESOURCE_EXHAUSTED...); UNKNOWN or INTERNAL (the server's own fault), a dropped stream (UNAVAILABLE
after the server was ready) or no answer in time is a finding. OK is a finding only where no
reading of the protocol allows it (an unknown model; values that do not fill their shape): a
server may lawfully coerce a datatype, answer an empty batch, or feed a one-input model its one
tensor whatever its name (MLServer's sklearn runtime does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from benchbox.adversarial.model import AdversarialSection, ClassStats
from benchbox.contract.model import Contract
from benchbox.findings import Finding, group
from benchbox.grpc_v2.calls import Answer, Client
from benchbox.grpc_v2.contract import finding
from benchbox.grpc_v2.tensors import to_request

# The server's own fault, whatever it was sent.
FAULT_CODES = frozenset({"UNKNOWN", "INTERNAL", "DATA_LOSS"})
OVERSIZED_BYTES = 4 * 1024 * 1024 + 65536  # just past grpcio's default receive limit (4 MiB)
_OTHER_TYPE = {"FP32": "INT32", "FP64": "INT64", "FP16": "FP32", "BF16": "FP32", "BYTES": "FP32", "BOOL": "FP32"}


def _cases(contract: Contract, base: Mapping[str, Any], model: str, version: str) -> list[tuple[str, bool, Any]]:
    """(class name, OK is wrong, request) for each hostile case, derived from one valid request."""
    first = dict(base["inputs"][0])
    rest = list(base["inputs"][1:])
    dtype = str(first["datatype"])
    other = _OTHER_TYPE.get(dtype, "FP32")
    n = len(first["data"]) if isinstance(first["data"], list) else 0
    cases: list[tuple[str, bool, Any]] = []

    def add(name: str, strict: bool, inputs: list[Any], model_name: str = model) -> None:
        try:
            cases.append((name, strict, to_request({"id": name, "inputs": inputs}, model_name, version)))
        except ValueError:  # a tensor this datatype cannot carry typed: nothing to send
            pass

    ints = [int(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0 for v in _flat(first["data"])]
    floats = [float(v) if isinstance(v, (int, float)) else 0.0 for v in _flat(first["data"])]
    add(
        "wrong datatype",
        False,
        [{**first, "datatype": other, "data": floats if other.startswith("FP") else ints}, *rest],
    )
    add("unknown datatype", True, [{**first, "datatype": "NOT_A_DATATYPE", "data": []}, *rest])
    add("wrong shape", True, [{**first, "shape": [*first["shape"], 2]}, *rest])  # and too few values for it
    if len(first["shape"]) >= 2 and n:  # the same values, one rank lower: a shape the metadata rules out
        add("wrong rank", False, [{**first, "shape": [n]}, *rest])
    if n:
        add("data shorter than shape", True, [{**first, "data": _flat(first["data"])[:-1]}, *rest])
    add("empty tensor", False, [{**first, "shape": [0, *first["shape"][1:]], "data": []}, *rest])
    add("no inputs", True, [])
    add("unknown input name", False, [{**first, "name": "benchbox-no-such-input"}, *rest])
    if dtype in ("FP32", "FP64") and len(first["shape"]) >= 1:
        width = 4 if dtype == "FP32" else 8
        row = max(1, math.prod(d for d in first["shape"][1:] if d > 0))
        batch = OVERSIZED_BYTES // (width * row) + 1
        add(
            "oversized tensor", False, [{**first, "shape": [batch, *first["shape"][1:]], "data": [0.5] * (batch * row)}]
        )
    add("unknown model", True, [first, *rest], model_name="benchbox-no-such-model")
    return cases


def _flat(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(x, list) for x in data):  # already flat (an oversized probe's millions of values)
        return data
    return [x for item in data for x in _flat(item)]


def judge(name: str, strict: bool, answer: Answer, deadline_s: float) -> tuple[str, str, str] | None:
    """(rule, severity, message) when the answer breaks a rule, else None."""
    if answer.code in FAULT_CODES:
        return "grpc_server_error", "high", f"an invalid input must be refused with a client status, not {answer.code}"
    if answer.code == "UNAVAILABLE":
        return "grpc_dropped", "high", "the server dropped the call (UNAVAILABLE) instead of refusing the input"
    if answer.code == "DEADLINE_EXCEEDED":
        return "grpc_hang", "high", f"no answer within {deadline_s:g}s to an invalid input"
    if answer.code == "OK" and strict:
        return "grpc_accepted_invalid", "medium", f"an input with {name} must be refused, not answered OK"
    return None


def run_adversarial(
    client: Client,
    plan: Any,
    contract: Contract,
    base: Mapping[str, Any],
    secret_headers: Mapping[str, str],
    notify: Callable[[str], None],
) -> AdversarialSection:
    from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

    started = time.monotonic()
    t = client.target
    timeout_s = min(5.0, plan.request.timeout_s)
    found: list[Finding] = []
    stats: list[ClassStats] = []
    sent = 0
    pause = 1.0 / plan.brakes.max_rps if plan.brakes.max_rps else 0.0
    cases = _cases(contract, base, t.model, t.version)
    if plan.api_key_env:  # the key is required: the same valid call without it must be refused
        bare = Client(t, {}, timeout_s, plan.insecure, plan.request.max_body_bytes)
        valid = to_request(base, t.model, t.version)
        answer = bare.call("ModelInfer", valid, timeout_s)
        bare.close()
        sent += 1
        if answer.code == "OK":
            found.append(
                finding(
                    client,
                    _without_key(plan),
                    {},
                    kind="adversarial",
                    severity="high",
                    rule="auth_missing_accepted",
                    message="a call without the authorization metadata must be refused (UNAUTHENTICATED)",
                    request=valid,
                    answer=answer,
                )
            )
        stats.append(ClassStats("no authorization", 1, 1, {answer.code: 1}, answer.latency_ms, len(found)))
    for name, strict, request in cases:
        if time.monotonic() - started > plan.adversarial.budget_s:
            notify(f"adversarial: budget of {plan.adversarial.budget_s:g}s spent; {name} and later cases not sent")
            break
        if pause:
            time.sleep(pause)
        answer = client.call("ModelInfer", request, timeout_s)
        sent += 1
        broke = judge(name, strict, answer, timeout_s)
        if broke:
            rule, severity, message = broke
            found.append(
                finding(
                    client,
                    plan,
                    secret_headers,
                    kind="adversarial",
                    severity=severity,
                    rule=rule,
                    message=message,
                    request=request,
                    answer=answer,
                    detail=f"{name}: {answer.code} {answer.details}"[:300],
                    pointer=f"/{name.replace(' ', '_')}",
                )
            )
        stats.append(ClassStats(name, 1, 1, {answer.code: 1}, round(answer.latency_ms, 3), 1 if broke else 0))
    live = client.call("ServerLive", pb.ServerLiveRequest(), timeout_s)
    ready = client.call("ModelReady", pb.ModelReadyRequest(name=t.model, version=t.version), timeout_s)
    healthy = live.code == "OK" and live.reply.live and ready.code == "OK" and ready.reply.ready
    grouped = group(found)
    open_ = [f for f in grouped if f.id not in plan.contract.accept]
    accepted = [f for f in grouped if f.id in plan.contract.accept]
    medians = sorted(s.median_ms for s in stats if s.median_ms is not None)
    return AdversarialSection(
        url=plan.target,
        method="ModelInfer",
        seed=plan.seed,
        cases=len(stats),
        requests=sent + 2,
        passed=not any(f.severity != "low" for f in open_) and bool(healthy),
        findings=tuple(open_),
        accepted=tuple(accepted),
        healthy_after=bool(healthy),
        budget_s=plan.adversarial.budget_s,
        elapsed_s=time.monotonic() - started,
        median_ms=medians[len(medians) // 2] if medians else None,
        by_class=tuple(stats),
    )


def _without_key(plan: Any) -> Any:
    """The plan as the keyless call saw it: no authorization header (so its grpcurl line sends none)."""
    import dataclasses

    headers = tuple((k, v) for k, v in plan.request.headers if k.lower() != "authorization")
    return dataclasses.replace(plan, request=dataclasses.replace(plan.request, headers=headers))
