"""Judge one answer against the contract: status, content type, JSON, schema, ML invariants.

`evaluate` is the pure core (no I/O): the runner uses it for the contract phase and to re-check
shrunk inputs; `check_response` wraps it into Findings for callers that only hold the bytes of
an answer (the load phase checking a sample of its responses).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema.exceptions import best_match

from benchbox.contract import kserve
from benchbox.contract.consistency import check_consistency
from benchbox.contract.invariants import check_batch, check_finite, check_probabilities, probability_keys
from benchbox.contract.model import Contract
from benchbox.contract.problem import Problem, pointer
from benchbox.contract.schema import validator
from benchbox.findings import Finding, build_finding, pointer_pattern

Expect = Literal["valid", "invalid"]
_AUTH = (401, 403)


@dataclass
class Judgement:
    """What one answer showed: problems found, and every rule that was actually checked."""

    problems: list[Problem] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    doc: Any = None  # the parsed JSON answer, when there was one

    def add(self, rule: str, problems: list[Problem] | None) -> None:
        if problems is None:
            return
        self.checked.add(rule)
        # One problem per rule per answer: the count of a finding is how many answers showed it.
        self.problems.extend(problems[:1])

    @property
    def rules(self) -> set[str]:
        return {p.rule for p in self.problems}


def evaluate(
    contract: Contract,
    request_body: Any,
    status: int,
    content_type: str | None,
    body: bytes,
    expect: Expect = "valid",
    prob_tolerance: float = 1e-3,
) -> Judgement:
    j = Judgement()
    if expect == "invalid":
        j.add("rejects_invalid", _status_invalid(status))
        return j
    j.add("status", _status_valid(status))
    if not 200 <= status < 300:
        return j
    j.add("content_type", _content_type(contract.content_type, content_type))
    try:
        # Lenient on purpose: NaN/Infinity tokens parse, so `finite` can say where they are.
        j.doc = json.loads(body) if body else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        j.add(
            "json",
            [
                Problem(
                    "contract_violation", "high", "json", "a 2xx answer must be JSON", "", f"not JSON: {str(exc)[:120]}"
                )
            ],
        )
        return j
    j.add("json", [])
    doc = j.doc
    j.add("finite", check_finite(doc))
    if contract.response_schema is not None:
        j.add("response_schema", _schema(contract.response_schema, doc))
    if contract.protocol == "kserve-v2":
        for rule, problems in kserve.check_answer(contract, request_body, doc, prob_tolerance).items():
            j.add(rule, problems)
    else:
        j.add("batch_size", check_batch(request_body, doc))
        j.add("self_consistent", check_consistency(doc))
        extra, excluded = probability_keys(contract.response_schema or {})
        probs = check_probabilities(doc, prob_tolerance, extra, excluded)
        if probs is not None:
            j.add("probability_range", [p for p in probs if p.rule == "probability_range"])
            j.add("probability_sum", [p for p in probs if p.rule == "probability_sum"])
    return j


_SCHEMA_PART = {
    "status": "the request schema (this input is valid, so it must be accepted)",
    "rejects_invalid": "the request schema (this input breaks it, so it must be rejected)",
    "response_schema": "the response schema",
    "content_type": "the documented response media type",
    "json": "the documented response media type",
}
_PLAIN_RULE = {
    "deadline": "--timeout",
    "kserve_shape": "the KServe V2 protocol (shape vs data)",
    "kserve_id": "the KServe V2 protocol (id echo)",
    "kserve_metadata": "the model's KServe V2 metadata",
    "health": "the documented health/readiness path",
    "transport": "HTTP: every request gets an answer",
    "versioned": "benchbox's release rule (a versioned endpoint)",
    "input_latency": "benchbox's slow-input rule (--slow-input), no schema needed",
    "same_model": "the same model on two faces (--tolerance), no schema needed",
    "determinism": "benchbox's ML rule: same input, same answer (--tolerance)",
}


def basis_of(contract: Contract, rule: str) -> str:
    """Which part of the contract a rule relied on, for the finding (a reviewer can then judge it)."""
    if rule in _PLAIN_RULE:
        return _PLAIN_RULE[rule]
    if rule in _SCHEMA_PART:
        where = contract.described_by or (
            "the KServe V2 protocol"
            if contract.protocol == "kserve-v2"
            else "no contract document (benchbox's generic rule)"
        )
        return f"{_SCHEMA_PART[rule]}: {where}"
    return "benchbox's ML invariant on the answer itself, no schema needed"


def _status_valid(status: int) -> list[Problem]:
    if 200 <= status < 300:
        return []
    if status >= 500:
        return [
            Problem(
                "server_error",
                "high",
                "status",
                "a valid input must get a 2xx answer",
                "",
                f"valid input answered {status}",
            )
        ]
    hint = " (missing or wrong credentials? see --api-key-env)" if status in _AUTH else ""
    return [
        Problem(
            "status_mismatch",
            "high",
            "status",
            "a valid input must get a 2xx answer",
            "",
            f"valid input rejected with {status}{hint}",
        )
    ]


def _status_invalid(status: int) -> list[Problem]:
    if 400 <= status < 500:
        return []
    if status >= 500:
        return [
            Problem(
                "server_error",
                "high",
                "rejects_invalid",
                "an invalid input must get a 4xx answer, not a server error",
                "",
                f"invalid input answered {status}",
            )
        ]
    return [
        Problem(
            "status_mismatch",
            "medium",
            "rejects_invalid",
            "an invalid input must get a 4xx answer",
            "",
            f"invalid input accepted with {status}",
        )
    ]


def _content_type(expected: str, got: str | None) -> list[Problem]:
    media = (got or "").split(";")[0].strip().lower()
    want = expected.split(";")[0].strip().lower()
    json_like = want == "application/json" or want.endswith("+json")
    ok = media == want or (json_like and (media == "application/json" or media.endswith("+json")))
    if ok:
        return []
    return [
        Problem(
            "contract_violation",
            "medium",
            "content_type",
            f"a 2xx answer must be {want}",
            "",
            f"Content-Type: {got or '(none)'}",
        )
    ]


def _schema(schema: Mapping[str, Any], doc: Any) -> list[Problem] | None:
    try:
        error = best_match(validator(schema).iter_errors(doc))
    except Exception:  # noqa: BLE001 - e.g. a pattern Python's re cannot compile: not the answer's fault
        return None
    if error is None:
        return []
    where = pointer(error.absolute_path)
    return [
        Problem(
            "contract_violation",
            "high",
            "response_schema",
            f"the answer must match the documented schema ({error.validator} at {pointer_pattern(where) or '/'})",
            where,
            error.message[:240],
        )
    ]


def to_finding(
    problem: Problem,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body_text: str | None,
    status: int | None,
    content_type: str | None,
    response: bytes | None,
    minimal: bool = False,
    error: str | None = None,
    secret_headers: Mapping[str, str] | None = None,
    basis: str = "",
) -> Finding:
    return build_finding(
        basis=basis,
        kind=problem.kind,
        severity=problem.severity,
        rule=problem.rule,
        message=problem.message,
        method=method,
        url=url,
        headers=headers,
        body=body_text,
        status=status,
        content_type=content_type,
        response_body=response,
        pointer=problem.pointer,
        detail=problem.detail,
        minimal=minimal,
        error=error,
        secret_headers=secret_headers,
    )


def body_text(body: Any) -> str:
    """The exact text sent for a body: compact, ASCII-only (a curl line stays plain ASCII)."""
    try:
        return json.dumps(body, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a user's example may hold NaN on purpose
        return json.dumps(body, separators=(",", ":"))


def check_response(
    contract: Contract,
    request_body: Any,
    status: int,
    content_type: str | None,
    body_bytes: bytes,
    *,
    expect: Expect = "valid",
    headers: Mapping[str, str] | None = None,
    url: str | None = None,
    method: str | None = None,
    prob_tolerance: float = 1e-3,
    secret_headers: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Findings for one answer (ungrouped). For load sampling, pass only answers you want
    judged: a 429/503 under overload is the load phase's error budget, not a contract finding."""
    judged = evaluate(contract, request_body, status, content_type, body_bytes, expect, prob_tolerance)
    text = body_text(request_body) if request_body is not None else None
    return [
        to_finding(
            p,
            method=method or contract.method,
            url=url or contract.url,
            headers=headers or {},
            body_text=text,
            status=status,
            content_type=content_type,
            response=body_bytes,
            secret_headers=secret_headers,
            basis=basis_of(contract, p.rule),
        )
        for p in judged.problems
    ]
