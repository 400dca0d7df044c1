"""The contract of a KServe V2 gRPC model: read from ModelMetadata, checked with the HTTP face's rules.

Valid tensors are drawn by Hypothesis from the metadata (benchbox.contract.kserve.request_strategy),
sent as ModelInferRequests, and each answer, read back into the V2 JSON form, goes through the same
checks as an HTTP answer: output names, datatypes and shapes against the metadata, the batch, the
id echoed, probabilities in range and summing to one. A valid input refused is a finding too.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from benchbox.contract.model import Contract, ContractSection, RuleCount, TensorSpec
from benchbox.contract.problem import Problem
from benchbox.findings import Finding, build_finding, group
from benchbox.grpc_v2.calls import Answer, Client, GrpcTarget, grpcurl_line, over_our_limit, request_json
from benchbox.grpc_v2.tensors import to_json, to_request

Notify = Callable[[str], None]
PROTOCOL = "kserve-v2-grpc"


def read_metadata(client: Client) -> tuple[Contract | None, str]:
    """The model's contract from ModelMetadata, or None and why not."""
    from benchbox.contract.kserve import DATATYPES
    from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

    t = client.target
    answer = client.call("ModelMetadata", pb.ModelMetadataRequest(name=t.model, version=t.version))
    if answer.code != "OK":
        return None, f"ModelMetadata answered {answer.code}: {answer.details}"
    reply = answer.reply

    def tensors(items: Any) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(x.name, x.datatype, tuple(x.shape)) for x in items)

    inputs, outputs = tensors(reply.inputs), tensors(reply.outputs)
    bad = [x for x in inputs + outputs if x.datatype not in DATATYPES]
    if not inputs or bad:
        return None, f"ModelMetadata names no inputs, or an unknown datatype: {bad[:1] or 'no inputs'}"
    contract = Contract(
        url=f"{'grpcs' if t.tls else 'grpc'}://{t.address}/{t.model}",
        method="ModelInfer",
        protocol="kserve-v2",
        source="kserve-v2",
        model_name=reply.name or t.model,
        inputs=inputs,
        outputs=outputs,
        described_by="ModelMetadata (gRPC)",
    )
    return contract, ""


def finding(
    client: Client,
    plan: Any,
    secret_headers: Mapping[str, str],
    *,
    kind: str,
    severity: Any,
    rule: str,
    message: str,
    request: Any,
    answer: Answer,
    method: str = "ModelInfer",
    pointer: str = "",
    detail: str = "",
    basis: str = "",
) -> Finding:
    """A Finding for one gRPC call; its replay line is grpcurl's, the body the protobuf JSON."""
    from google.protobuf import json_format

    headers = dict(plan.request.headers)
    headers.pop("Content-Type", None)
    body, _ = request_json(request)
    shown = json_format.MessageToJson(answer.reply, indent=None) if answer.reply is not None else answer.details
    made = build_finding(
        kind=kind,
        severity=severity,
        rule=rule,
        message=message,
        method="POST",
        url=f"{plan.target.rstrip('/')}/{method}",
        headers=headers,
        body=body,
        content_type="application/grpc",
        response_body=f"grpc-status {answer.code}: {shown}" if answer.code != "OK" else shown,
        error=None if answer.code == "OK" else f"grpc status {answer.code}",
        pointer=pointer,
        detail=detail,
        secret_headers=secret_headers,
        basis=basis,
    )
    line = grpcurl_line(client.target, method, request, headers, plan.insecure, secret_headers)
    return dataclasses.replace(made, curl=line)


def run_contract(
    client: Client, plan: Any, secret_headers: Mapping[str, str], notify: Notify
) -> tuple[ContractSection, Contract | None]:
    """Contract from metadata, then `plan.contract.cases` valid tensors sent and their answers checked."""
    from benchbox.contract import valid_inputs
    from benchbox.contract.kserve import check_answer

    started = time.monotonic()
    contract, why = read_metadata(client)
    t: GrpcTarget = client.target
    if contract is None:
        return ContractSection(
            source=None,
            protocol=PROTOCOL,
            url=plan.target,
            method="ModelInfer",
            seed=plan.seed,
            requests=1,
            cases=0,
            invalid_cases=0,
            passed=False,
            skipped=why,
            elapsed_s=time.monotonic() - started,
        ), None
    notes: list[str] = []
    docs = valid_inputs(contract, plan.contract.cases, plan.seed, notes)
    problems: list[Finding] = []
    counts: dict[str, list[int]] = {}
    latencies = []
    for doc in docs:
        request = to_request(doc, t.model, t.version)
        answer = client.call("ModelInfer", request)
        latencies.append(answer.latency_ms)
        if over_our_limit(answer.code, answer.details):  # answered, only past --max-body: not the model's fault
            if not any(n.startswith("answers over --max-body") for n in notes):
                notes.append(f"answers over --max-body ({plan.request.max_body_bytes} bytes) were not checked")
            continue
        refused = counts.setdefault("valid_input_accepted", [0, 0])
        refused[0] += 1
        if answer.code != "OK":
            refused[1] += 1
            problems.append(
                finding(
                    client,
                    plan,
                    secret_headers,
                    kind="contract_violation",
                    severity="high",
                    rule="valid_input_accepted",
                    message="a valid input (by the model metadata) must be answered OK",
                    request=request,
                    answer=answer,
                    detail=f"{answer.code}: {answer.details}"[:300],
                    basis="ModelMetadata inputs",
                )
            )
            continue
        found = check_answer(contract, {"id": request.id, **doc}, to_json(answer.reply), plan.contract.tolerance)
        for rule, items in found.items():
            c = counts.setdefault(rule, [0, 0])
            c[0] += 1
            c[1] += 1 if items else 0
            problems += [_from_problem(client, plan, secret_headers, p, request, answer) for p in items]
    open_ = [f for f in group(problems) if f.id not in plan.contract.accept]
    accepted = [f for f in group(problems) if f.id in plan.contract.accept]
    latencies.sort()
    return ContractSection(
        source="kserve-v2",
        protocol=PROTOCOL,
        url=plan.target,
        method="ModelInfer",
        seed=plan.seed,
        requests=len(docs) + 1,
        cases=len(docs),
        invalid_cases=0,
        passed=not open_,
        violations=tuple(open_),
        accepted=tuple(accepted),
        checks=tuple(RuleCount(rule, n, failed) for rule, (n, failed) in sorted(counts.items())),
        notes=(f"contract from ModelMetadata: {_describe(contract)}", *notes),
        elapsed_s=time.monotonic() - started,
        median_ms=latencies[len(latencies) // 2] if latencies else None,
    ), contract


def _from_problem(
    client: Client, plan: Any, secret_headers: Mapping[str, str], p: Problem, request: Any, answer: Answer
) -> Finding:
    return finding(
        client,
        plan,
        secret_headers,
        kind=p.kind,
        severity=p.severity,
        rule=p.rule,
        message=p.message,
        request=request,
        answer=answer,
        pointer=p.pointer,
        detail=p.detail,
        basis="ModelMetadata outputs",
    )


def _describe(contract: Contract) -> str:
    def one(t: TensorSpec) -> str:
        return f"{t.name} {t.datatype}{list(t.shape)}"

    return "inputs " + ", ".join(map(one, contract.inputs)) + "; outputs " + ", ".join(map(one, contract.outputs))


def check_load_samples(section: ContractSection, contract: Contract, phases: Any, plan: Any) -> ContractSection:
    """The contract holds under load too: the OK answers the load phase kept (benchbox.load.grpc_client
    keeps them in the V2 JSON form, status 0 = OK) go through the same checks."""
    import json

    from benchbox.contract.kserve import check_answer
    from benchbox.findings import build_finding

    new: list[Finding] = []
    checked = 0
    for sample in (s for p in phases for s in p.samples if s.status == 0 and s.content_type == "application/grpc"):
        try:
            request, answer = json.loads(sample.request_body or "null"), json.loads(sample.body)
        except json.JSONDecodeError:
            continue
        checked += 1
        for items in check_answer(contract, request, answer, plan.contract.tolerance).values():
            new += [
                build_finding(
                    kind=p.kind,
                    severity=p.severity,
                    rule=p.rule,
                    message=p.message,
                    method="POST",
                    url=f"{plan.target.rstrip('/')}/ModelInfer",
                    headers={},
                    body=sample.request_body,
                    content_type="application/grpc",
                    response_body=sample.body,
                    pointer=p.pointer,
                    detail=p.detail,
                    basis="ModelMetadata outputs (an answer kept from the load phase)",
                )
                for p in items
            ]
    open_new = [f for f in new if f.id not in plan.contract.accept]
    note = f"{checked} answers from the load phase checked too: {len(open_new)} findings"
    return dataclasses.replace(
        section,
        violations=group([*section.violations, *open_new]),
        notes=(*section.notes, note),
        passed=section.passed and not open_new,
    )
