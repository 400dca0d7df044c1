"""Hostile inputs against an OpenAI embeddings endpoint.

Classes: empty inputs (an empty string, an empty list, an empty string in a batch), huge inputs
(long strings, a batch past OpenAI's 2048 inputs) and wrong types (`input` a number, null, an
object, nested lists, floats; no `input`; a body that is not an object, or not JSON). Expectations:
no 5xx, no hang, a 4xx answer with a JSON error body; a wrong type must be refused (4xx), not
embedded; an empty or huge input may be embedded or refused, but a vector it gets must keep the
answer's rules (an empty string embedded as NaNs is a finding). Then one ordinary request and the
health paths: the target must still be up.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchbox import bounded
from benchbox.adversarial.model import AdversarialSection, ClassStats
from benchbox.embeddings import rules
from benchbox.embeddings.contract import Answer, headers_of, post
from benchbox.embeddings.setup import input_texts, vocabulary
from benchbox.findings import Finding, build_finding, group
from benchbox.llm.client import chat_client
from benchbox.plan import Plan
from benchbox.target import origin_of

Notify = Callable[[str], None]
LONG_INPUTS = (50_000, 1_000_000)  # characters
MANY_INPUTS = 2049  # one past OpenAI's limit per request


@dataclass(frozen=True)
class Case:
    cls: str
    body: Any  # a JSON value, or a str sent as it is
    refuse: bool  # True: only a 4xx is right (a wrong type); False: a 2xx must keep the rules


def build_cases(plan: Plan) -> list[Case]:
    m = plan.chat.model
    rng = random.Random(plan.seed)
    words = vocabulary()

    def b(value: Any, **extra: Any) -> dict[str, Any]:
        return {**({"model": m} if m else {}), "input": value, **extra}

    out = [
        Case("empty", b(""), False),
        Case("empty", b([]), False),
        Case("empty", b(["hello world", ""]), False),
        Case("empty", b(" \n\t "), False),
    ]
    for n in LONG_INPUTS:
        out.append(Case("huge", b(" ".join(rng.choice(words) for _ in range(n // 5))[:n]), False))
    out.append(Case("huge", b([rng.choice(words) for _ in range(MANY_INPUTS)]), False))
    wrong: list[tuple[str, Any]] = [
        ("input", b(12345)),
        ("input", b(None)),
        ("input", b(True)),
        ("input", b({"text": "hello"})),
        ("input", b([1.5, 2.5])),
        ("input", b(["hello", 3.5])),
        ("input", b([["hello"]])),
        ("input", b([None])),
        ("input", {"model": m} if m else {}),
        ("body", "[]"),
        ("body", '"hello"'),
        ("body", '{"input": ["hello"'),
    ]
    out += [Case("wrong_type", body, True) for _, body in wrong]
    if m:  # a one-model server may ignore `model`: only a 5xx or a hang is wrong here
        out.append(Case("wrong_model", {"model": 123, "input": "hello"}, False))
    return out[: plan.adversarial.cases]


def run_embeddings_adversarial(
    plan: Plan, health_paths: Sequence[str], notify: Notify | None = None
) -> AdversarialSection:
    started = time.perf_counter()
    url, headers = plan.target, headers_of(plan)
    secret_headers = {"Authorization": plan.api_key_env} if plan.api_key_env else {}
    timeout = min(plan.request.timeout_s, 30.0)
    deadline = started + plan.adversarial.budget_s
    findings: list[Finding] = []
    stats: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    cases = build_cases(plan)
    sent = requests = 0

    def found(kind: str, severity: str, rule: str, message: str, detail: str, a: Answer, method: str = "POST") -> None:
        findings.append(
            build_finding(
                kind=kind,
                severity=severity,  # type: ignore[arg-type]
                rule=rule,
                message=message,
                method=method,
                url=url,
                headers=headers,
                body=a.body_text if method == "POST" else None,
                status=a.status,
                content_type=a.content_type or None,
                response_body=a.raw,
                detail=detail,
                error=a.error,
                secret_headers=secret_headers,
            )
        )

    with chat_client(plan) as client:
        for case in cases:
            if time.perf_counter() > deadline:
                notes.append(f"budget of {plan.adversarial.budget_s:g}s spent after {sent} of {len(cases)} cases")
                break
            sent += 1
            requests += 1
            a = post(client, url, headers, case.body, timeout)
            s = stats.setdefault(case.cls, {"cases": 0, "answered": 0, "statuses": {}, "times": [], "findings": 0})
            s["cases"] += 1
            key = str(a.status) if a.status is not None else "none"
            s["statuses"][key] = s["statuses"].get(key, 0) + 1
            if a.status is not None:
                s["answered"] += 1
                s["times"].append(a.elapsed_s)
            judged = judge(case, a)
            s["findings"] += len(judged)
            for kind, severity, rule, message, detail in judged:
                found(kind, severity, rule, message, f"{case.cls}: {detail}", a)
        healthy = _healthy(client, plan, url, headers, health_paths, timeout)
        requests += 1 + len(health_paths)
    if healthy is False:
        found(
            "unhealthy_after",
            "high",
            "healthy_after",
            "the target was not healthy after the hostile inputs",
            "",
            Answer(""),
            "GET",
        )
    grouped = group(findings)
    accepted = tuple(f for f in grouped if f.id in plan.contract.accept)
    open_ = tuple(f for f in grouped if f.id not in plan.contract.accept)
    times = [t for s in stats.values() for t in s["times"]]
    if notify:
        notify(f"adversarial: {sent} embeddings cases, {len(open_)} findings")
    return AdversarialSection(
        url=url,
        method="POST",
        seed=plan.seed,
        cases=sent,
        requests=requests,
        passed=not any(f.severity != "low" for f in open_),
        findings=open_,
        accepted=accepted,
        healthy_after=healthy,
        budget_s=plan.adversarial.budget_s,
        elapsed_s=round(time.perf_counter() - started, 3),
        median_ms=round(1000 * statistics.median(times), 3) if times else None,
        by_class=tuple(
            ClassStats(
                name=k,
                cases=v["cases"],
                answered=v["answered"],
                statuses=v["statuses"],
                median_ms=round(1000 * statistics.median(v["times"]), 3) if v["times"] else None,
                findings=v["findings"],
            )
            for k, v in stats.items()
        ),
        notes=tuple(notes),
    )


def judge(case: Case, a: Answer) -> list[tuple[str, str, str, str, str]]:
    """(kind, severity, rule, message, detail) for each expectation this answer broke."""
    if a.status is None:
        if (a.error or "").startswith("timeout"):
            return [("timeout", "high", "no_hang", "no complete answer within the timeout", a.error or "")]
        return [
            ("server_error", "high", "complete_answer", "the connection broke before a complete answer", a.error or "")
        ]
    if a.status >= 500:
        return [("server_error", "high", "not_a_server_error", f"a hostile input got {a.status}", a.raw[:200])]
    if a.status >= 400:
        if a.status != 429 and not a.is_json_error:
            return [
                (
                    "contract_violation",
                    "medium",
                    "error_json",
                    "a 4xx answer without a JSON error body",
                    f"{a.status} {a.content_type}: {a.raw[:120]}",
                )
            ]
        return []
    if case.refuse:
        return [
            (
                "status_mismatch",
                "medium",
                "rejects_invalid",
                "an invalid input must get a 4xx answer",
                f"accepted with {a.status}",
            )
        ]
    inputs = rules.inputs_of(case.body) or []
    if a.json_body is None:
        return [("contract_violation", "high", rules.BODY, "a 2xx answer that is not JSON", a.raw[:120])]
    problems, _ = rules.check_answer(a.json_body, inputs)
    return [
        ("contract_violation", "high" if p.rule in rules.HIGH else "medium", p.rule, p.message, p.detail)
        for p in problems
        if p.rule not in (rules.USAGE, rules.USAGE_MISSING)  # the contract judges usage on ordinary inputs
    ]


def _healthy(
    client: Any, plan: Plan, url: str, headers: dict[str, str], health_paths: Sequence[str], timeout: float
) -> bool:
    """One ordinary request and the health paths preflight found: a hostile input must not leave the server down."""
    from benchbox.embeddings.setup import body

    normal = post(client, url, headers, body([input_texts(plan)[0]], plan.chat.model), timeout)
    if normal.status is None or normal.status >= 500:
        return False
    plain = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return all(
        bounded.send(client, "GET", origin_of(url) + path, headers=plain, timeout_s=5.0, keep=0).ok
        for path in health_paths
    )
