"""The contract of an OpenAI embeddings endpoint, checked on real answers.

A request per batch size (the load's own bodies), the same input as a plain string, the first
request again (the same answer twice), and the first text alone against the same text inside the
largest batch (batching must not change a vector beyond --tolerance). Each broken rule
(benchbox.embeddings.rules) is a Finding with a curl line that replays it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from benchbox import bounded
from benchbox.contract.model import ContractSection, RuleCount
from benchbox.embeddings import rules
from benchbox.embeddings.setup import body as embeddings_body
from benchbox.embeddings.setup import input_texts
from benchbox.findings import Finding, build_finding, group
from benchbox.llm.client import chat_client
from benchbox.llm.stream import Problem
from benchbox.plan import Plan
from benchbox.version import __version__

Notify = Callable[[str], None]
# A text batched with others is padded to the longest one, which changes the sums: all-MiniLM-L6-v2
# in float32 on CPU moves up to 1.2e-6 (relative L2) between batches (field notes), a float16 model
# on a GPU ~1e-3. Across batches the check allows at least BATCH_NOISE (cosine similarity still
# > 0.9999), which a real fault clears by far (dropout left on moves ~0.1, a mixed-up batch ~1);
# the same request twice gets --tolerance.
BATCH_NOISE = 1e-2


@dataclass
class Answer:
    """One request and what came back, the whole body parsed (a batch's vectors outgrow a preview)."""

    body_text: str
    status: int | None = None
    content_type: str = ""
    raw: str = ""
    json_body: Any = None
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def is_json_error(self) -> bool:
        b = self.json_body
        return isinstance(b, dict) and ("error" in b or "detail" in b or "message" in b)


def post(client: httpx.Client, url: str, headers: dict[str, str], body: Any, timeout_s: float) -> Answer:
    """POST `body` (a JSON value, or a string sent as it is) through benchbox.bounded."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    out = Answer(body_text=text)
    reply = bounded.send(
        client, "POST", url, content=text.encode("utf-8", "surrogatepass"), headers=headers, timeout_s=timeout_s
    )
    out.elapsed_s, out.error = reply.elapsed_s, reply.error
    if reply.status is None:
        return out
    out.status, out.content_type, out.raw = reply.status, reply.content_type or "", reply.text
    try:
        out.json_body = json.loads(out.raw) if out.raw else None
    except ValueError:
        out.json_body = None
    return out


def headers_of(plan: Plan) -> dict[str, str]:
    out = {"User-Agent": f"benchbox/{__version__}", **dict(plan.request.headers)}
    if not any(k.lower() == "content-type" for k in out):
        out["Content-Type"] = "application/json"
    return out


class _Run:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.url = plan.target
        self.headers = headers_of(plan)
        self.secret_headers = {"Authorization": plan.api_key_env} if plan.api_key_env else {}
        self.findings: list[Finding] = []
        self.counts: dict[str, list[int]] = {r: [0, 0] for r in (*rules.RULES, "positive_data_acceptance")}
        self.dimension: int | None = None
        self.requests = 0

    def ask(self, client: httpx.Client, inputs: str | list[str]) -> tuple[Answer, list[rules.Vector]]:
        """One valid request: every rule it breaks becomes a finding; its vectors, if readable."""
        a = post(
            client, self.url, self.headers, embeddings_body(inputs, self.plan.chat.model), self.plan.request.timeout_s
        )
        self.requests += 1
        texts = [inputs] if isinstance(inputs, str) else inputs
        self.counts["positive_data_acceptance"][0] += 1
        if a.status is None or not 200 <= a.status < 300:
            rule = "answer" if a.status is None else "positive_data_acceptance"
            what = (
                "the request got no complete answer"
                if a.status is None
                else f"a valid request was refused with {a.status}"
            )
            self.report(Problem(rule, what, a.error or a.raw[:200]), a)
            return a, []
        if a.json_body is None:
            self.counts[rules.BODY][0] += 1
            self.report(Problem(rules.BODY, "the answer is not JSON", a.raw[:200]), a)
            return a, []
        problems, vectors = rules.check_answer(a.json_body, texts, self.dimension)
        for rule in (r for r in rules.RULES if r != rules.DETERMINISTIC):
            self.counts[rule][0] += 1
        for p in problems:
            self.report(p, a)
        if vectors and self.dimension is None:
            self.dimension = len(vectors[0])
        return a, vectors if len(vectors) == len(texts) else []  # which vector is whose, only when one each

    def same(
        self, label: str, a: rules.Vector | None, b: rules.Vector | None, answer: Answer, batched: bool = True
    ) -> None:
        if a is None or b is None:
            return
        self.counts[rules.DETERMINISTIC][0] += 1
        d = rules.distance(a, b)
        allowed = max(self.plan.contract.tolerance, BATCH_NOISE) if batched else self.plan.contract.tolerance
        if d > allowed:
            limit = (
                f"--tolerance {allowed:g}" if allowed == self.plan.contract.tolerance else f"{allowed:g} across batches"
            )
            self.report(
                Problem(
                    rules.DETERMINISTIC,
                    f"the same input got a different vector ({label})",
                    f"relative L2 distance {d:.3g} > {limit}",
                ),
                answer,
            )

    def report(self, p: Problem, a: Answer) -> None:
        self.counts.setdefault(p.rule, [1, 0])[1] += 1
        if p.rule == "positive_data_acceptance":
            kind, severity = "status_mismatch", "medium"
        elif p.rule == "answer":
            kind, severity = ("timeout" if (a.error or "").startswith("timeout") else "server_error"), "high"
        else:
            kind = "contract_violation"
            severity = "high" if p.rule in rules.HIGH else "low" if p.rule == rules.USAGE_MISSING else "medium"
        self.findings.append(
            build_finding(
                kind=kind,
                severity=severity,  # type: ignore[arg-type]
                rule=p.rule,
                message=p.message,
                method="POST",
                url=self.url,
                headers=self.headers,
                body=a.body_text,
                status=a.status,
                content_type=a.content_type or None,
                response_body=a.raw,
                detail=p.detail,
                error=a.error,
                secret_headers=self.secret_headers,
            )
        )


def run_embeddings_contract(plan: Plan, notify: Notify | None = None) -> ContractSection:
    started = time.perf_counter()
    texts = input_texts(plan)
    run = _Run(plan)
    sizes = sorted(set(plan.chat.batch_sizes))
    with chat_client(plan) as client:
        first: dict[int, tuple[Answer, list[rules.Vector]]] = {}
        for size in sizes:
            first[size] = run.ask(client, [texts[j % len(texts)] for j in range(size)])
        vectors = first[sizes[0]][1]
        alone = vectors[0] if vectors else None
        answer, again = run.ask(client, [texts[j % len(texts)] for j in range(sizes[0])])
        run.same("the same request twice", alone, again[0] if again else None, answer, batched=False)
        answer, plain = run.ask(client, texts[0])  # `input` as a string, not a list
        run.same("a string input against a list", alone, plain[0] if plain else None, answer)
        answer, largest = first[sizes[-1]]
        if len(sizes) > 1 and largest:
            run.same(f"in a batch of {sizes[0]} against in a batch of {sizes[-1]}", alone, largest[0], answer)
        answer, moved = run.ask(client, [texts[1 % len(texts)], texts[0]])
        if moved:
            run.same("first in its batch against second in one", alone, moved[1], answer)
    grouped = group(run.findings)
    accepted = tuple(f for f in grouped if f.id in plan.contract.accept)
    violations = tuple(f for f in grouped if f.id not in plan.contract.accept)
    if notify:
        notify(f"contract: {run.requests} embeddings requests, dimension {run.dimension}, {len(violations)} findings")
    return ContractSection(
        source="openai-embeddings",
        protocol="openai-embeddings",
        url=plan.target,
        method="POST",
        seed=plan.seed,
        requests=run.requests,
        cases=run.requests,
        invalid_cases=0,
        passed=not any(f.severity != "low" for f in violations),
        violations=violations,
        accepted=accepted,
        checks=tuple(RuleCount(rule=r, checked=c, failed=f) for r, (c, f) in run.counts.items() if c),
        notes=(
            f"embeddings rules: one vector per input, one dimension ({run.dimension}), finite, usage; "
            f"the same request twice within --tolerance {plan.contract.tolerance:g} (relative L2), "
            f"the same text in other batches within {max(plan.contract.tolerance, BATCH_NOISE):g}",
        ),
        elapsed_s=round(time.perf_counter() - started, 3),
    )
