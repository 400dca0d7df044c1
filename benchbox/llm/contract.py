"""The contract of an OpenAI chat endpoint, checked on real answers.

Streams: every chunk a JSON object, `data: [DONE]` last, one `role` delta before the content, a
`finish_reason`, `usage` that adds up and agrees with the stream, `max_tokens` respected. Plain
answers: `choices[0].message`, a finish_reason, usage that adds up. A valid request refused is a
`status_mismatch`. Each broken rule is a Finding with a curl line that replays it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from benchbox.contract.model import ContractSection, RuleCount
from benchbox.findings import Finding, build_finding, group
from benchbox.llm.client import Exchange, chat_client, exchange
from benchbox.llm.prompts import chat_body
from benchbox.llm.stream import RULES, Problem, completion_problems
from benchbox.plan import Plan
from benchbox.version import __version__

Notify = Callable[[str], None]
# Rules whose break makes the answer unreadable by a client; the rest are medium.
_HIGH = frozenset({"stream.chunk_json", "stream.done", "stream.error_event", "completion.body"})
SMALL_MAX_TOKENS = 2  # one request asks for very few tokens: the limit must hold
MAX_CASES = 6  # the answers are slow (seconds each on a real LLM): a few varied ones suffice


@dataclasses.dataclass(frozen=True)
class Case:
    body: dict[str, Any]
    max_tokens: int | None
    stream: bool
    api: str = "chat"


def cases(plan: Plan) -> list[Case]:
    """A few prompts as the load phase sends them, one with a tiny max_tokens, one not streamed."""
    c = plan.chat
    n = max(1, min(plan.contract.cases, MAX_CASES, len(c.prompts)))
    out = [
        Case(
            chat_body(
                p, model=c.model, max_tokens=c.max_tokens, stream=c.stream, system_prompt=c.system_prompt, api=c.api
            ),
            c.max_tokens,
            c.stream,
            c.api,
        )
        for p in c.prompts[:n]
    ]
    first = c.prompts[0]
    out.append(
        Case(
            chat_body(
                first,
                model=c.model,
                max_tokens=SMALL_MAX_TOKENS,
                stream=c.stream,
                system_prompt=c.system_prompt,
                api=c.api,
            ),
            SMALL_MAX_TOKENS,
            c.stream,
            c.api,
        )
    )
    if c.stream:  # the same endpoint must answer a plain request too
        out.append(
            Case(
                chat_body(
                    first,
                    model=c.model,
                    max_tokens=c.max_tokens,
                    stream=False,
                    system_prompt=c.system_prompt,
                    api=c.api,
                ),
                c.max_tokens,
                False,
                c.api,
            )
        )
    return out


def check(case: Case, ex: Exchange) -> list[Problem]:
    """Every rule this exchange broke (status first: a refused valid request has no stream to judge)."""
    if ex.status is None:
        return [Problem("answer", "the request got no complete answer", ex.error or "")]
    if not 200 <= ex.status < 300:
        return [Problem("positive_data_acceptance", f"a valid chat request was refused with {ex.status}", ex.raw[:200])]
    if case.stream:
        if ex.tally is None:
            return [
                Problem(
                    "stream.content_type",
                    "stream: true was answered without text/event-stream",
                    f"content-type {ex.content_type!r}",
                )
            ]
        usage_asked = bool(case.body.get("stream_options", {}).get("include_usage"))
        return ex.tally.problems(case.max_tokens, usage_asked)
    if ex.json_body is None:
        return [Problem("completion.body", "the answer is not JSON", ex.raw[:200])]
    problems, _, _ = completion_problems(ex.json_body, case.max_tokens, case.api)
    return problems


def run_chat_contract(plan: Plan, notify: Notify | None = None) -> ContractSection:
    started = time.perf_counter()
    url = plan.target
    headers = {"User-Agent": f"benchbox/{__version__}", **dict(plan.request.headers)}
    secret_headers = {"Authorization": plan.api_key_env} if plan.api_key_env else {}
    findings: list[Finding] = []
    counts: dict[str, list[int]] = {rule: [0, 0] for rule in (*RULES, "positive_data_acceptance")}
    todo = cases(plan)
    with chat_client(plan) as client:
        for case in todo:
            ex = exchange(client, url, headers, case.body, plan.request.timeout_s, case.api)
            problems = check(case, ex)
            for rule in counts:
                if rule.startswith("stream.") == case.stream or rule == "positive_data_acceptance":
                    counts[rule][0] += 1
            for p in problems:
                counts.setdefault(p.rule, [1, 0])[1] += 1
                findings.append(_finding(p, ex, url, headers, secret_headers))
    grouped = group(findings)
    accepted = tuple(f for f in grouped if f.id in plan.contract.accept)
    violations = tuple(f for f in grouped if f.id not in plan.contract.accept)
    if notify:
        notify(
            f"contract: {len(todo)} {plan.chat.api} requests ({'streamed' if plan.chat.stream else 'plain'}), "
            f"{len(violations)} findings"
        )
    return ContractSection(
        source=f"openai-{plan.chat.api}",
        protocol=f"openai-{plan.chat.api}",
        url=url,
        method="POST",
        seed=plan.seed,
        requests=len(todo),
        cases=len(todo),
        invalid_cases=0,
        passed=not any(f.severity != "low" for f in violations),
        violations=violations,
        accepted=accepted,
        checks=tuple(RuleCount(rule=r, checked=c, failed=f) for r, (c, f) in counts.items() if c),
        notes=("stream rules: chunk JSON, [DONE] last, one role first, finish_reason, usage, max_tokens",),
        elapsed_s=round(time.perf_counter() - started, 3),
    )


def _finding(p: Problem, ex: Exchange, url: str, headers: dict[str, str], secret_headers: dict[str, str]) -> Finding:
    if p.rule == "positive_data_acceptance":
        kind, severity = "status_mismatch", "medium"
    elif p.rule == "answer":
        kind, severity = ("timeout" if (ex.error or "").startswith("timeout") else "server_error"), "high"
    else:
        kind, severity = "contract_violation", ("high" if p.rule in _HIGH else "medium")
    return build_finding(
        kind=kind,
        severity=severity,  # type: ignore[arg-type]
        rule=p.rule,
        message=p.message,
        method="POST",
        url=url,
        headers=headers,
        body=ex.body_text,
        status=ex.status,
        content_type=ex.content_type or None,
        response_body=ex.raw,
        detail=p.detail,
        error=ex.error,
        secret_headers=secret_headers,
    )
