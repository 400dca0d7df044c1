"""Turn a failing case into a Finding (through findings.build_finding, so secrets are redacted),
with a curl line a shell can run even when the body is over a megabyte, and the part of the
contract (or of benchbox's own rules) the finding relied on."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import replace

from benchbox.adversarial.cases import Case
from benchbox.adversarial.judge import Outcome, Problem, headers_for
from benchbox.adversarial.model import SEVERITY
from benchbox.contract.model import Contract
from benchbox.findings import Finding, build_finding, curl_line, scrub, secret_values

CURL_BODY_LIMIT = 32_000  # well under the kernel's 128 KiB per-argument limit
_RUN = re.compile(r"(.)\1{999,}", re.S)


def finding(
    case: Case,
    out: Outcome,
    problem: Problem,
    *,
    url: str,
    headers: Mapping[str, str],
    minimal: bool,
    secret_headers: Mapping[str, str],
    extra_detail: str = "",
    basis: str = "",
) -> Finding:
    sent = headers_for(headers, case)
    text = case.text()
    f = build_finding(
        kind=problem.kind,
        severity=SEVERITY[problem.kind],  # type: ignore[arg-type]
        rule=problem.rule,
        message=problem.message,
        method=case.method,
        url=url,
        headers=sent,
        body=text,
        status=out.status,
        content_type=out.content_type,
        response_body=out.content,
        pointer=problem.pointer,
        detail=problem.detail + extra_detail,
        minimal=minimal,
        error=out.error,
        secret_headers=secret_headers,
        basis=basis,
    )
    if text is not None and len(text) > CURL_BODY_LIMIT:
        f = replace(f, curl=scrub(piped_curl(case.method, url, sent, text, secret_headers), secret_values(sent)))
    return f


def piped_curl(method: str, url: str, headers: Mapping[str, str], text: str, secret_headers: Mapping[str, str]) -> str:
    """`python3 -c "<writes the body>" | curl ... --data-binary @-`: the long run of one character
    that makes a body huge is written as `'A' * n`, so the line stays short."""
    m = _RUN.search(text)
    if m:
        expr = f"{text[: m.start()]!r} + {m.group(1)!r} * {m.end() - m.start()} + {text[m.end() :]!r}"
    else:
        expr = repr(text)
    writer = "python3 -c " + shlex.quote(f"import sys; sys.stdout.write({expr})")
    return f"{writer} | {curl_line(method, url, headers, None, secret_headers)} --data-binary @-"


def basis_of(contract: Contract | None, case: Case, problem: Problem) -> str:
    """Which part of the contract the finding relied on."""
    doc = (contract.described_by if contract is not None else "") or "no contract document"
    if problem.kind == "status_mismatch":
        if case.cls == "malformed_json":
            return f"the documented request body (required, JSON): {doc}"
        return f"the request schema: {doc}"
    if problem.kind == "contract_violation":
        return f"the response contract: {doc}"
    if problem.kind == "auth_missing":
        route = f"; route from {case.what}" if case.cls == "auth_route" else ""
        return "--api-key-env (the endpoint needs a key)" + route
    if problem.kind == "rate_limit_missing":
        return "--expect-rate-limit"
    if problem.kind == "slow_input":
        return "benchbox's slow-input rule (--slow-input), no schema needed"
    if problem.kind == "timeout":
        return "--timeout"
    return "benchbox's robustness rule (no 5xx, no hang, no leak, alive after), no schema needed"
