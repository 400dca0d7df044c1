"""JSON and KServe V2 endpoints: the contract is discovered (OpenAPI, KServe metadata, schemas or
the answers themselves), checked, probed with hostile inputs, and feeds the load its bodies."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from benchbox.adapters.base import Adapter, search_rate
from benchbox.adversarial.model import AdversarialSection
from benchbox.context import RunContext
from benchbox.contract.model import ContractSection, SlowRule
from benchbox.saturation.model import Saturation


class JsonApi(Adapter):
    name = "json"

    def refine(self, ctx: RunContext) -> Adapter:
        """An OpenAI embeddings endpoint (by its path) gets the embeddings adapter; a chat or text
        completion endpoint (by its path, or a model list at its base) the chat adapter."""
        from benchbox.adapters.chat import Chat
        from benchbox.adapters.embeddings import Embeddings

        return Embeddings.detect(ctx) or Chat.detect(ctx) or self

    def protocol(self, ctx: RunContext) -> str:
        if ctx.contract is not None and ctx.contract.source:
            return ctx.contract.protocol
        if ctx.found is not None and ctx.found.source:
            return str(ctx.found.protocol)
        request = ctx.effective.request
        if request.bodies and not ctx.plan.contract.protocol.startswith(("auto", "openai-")):
            return ctx.plan.contract.protocol
        return "json" if request.bodies else "http"

    def contract(self, ctx: RunContext) -> ContractSection:
        """Discover the contract and check it; the contract found is kept for the load's inputs."""
        from benchbox.contract import run_contract

        plan = ctx.effective
        ctx.phase("contract: discovering the endpoint's contract and checking its answers")
        options = _options(ctx, checks=True)
        headers = dict(plan.request.headers)
        ctx.found = _discover(ctx, options)
        method = ctx.found.method if ctx.found.source else plan.request.method
        examples = [json.loads(b) for b in plan.request.bodies]
        section = run_contract(plan.target, method, headers, examples, options, notify=ctx.say, contract=ctx.found)
        if plan.contract.write_accept:
            from benchbox.contract import write_accept

            write_accept(section.violations + section.accepted, plan.contract.write_accept)
        ctx.say(
            f"contract: {section.requests} requests, {len(section.violations)} findings "
            f"(source: {section.source or 'none'})"
        )
        return section

    def adversarial(self, ctx: RunContext) -> AdversarialSection:
        from benchbox.adversarial import AdversarialOptions, run_adversarial

        plan = ctx.effective
        a = plan.adversarial
        pre = ctx.preflight
        options = AdversarialOptions(
            seed=plan.seed,
            budget_s=a.budget_s,
            max_cases=a.cases,
            timeout_s=min(5.0, plan.request.timeout_s),
            api_key_env=plan.api_key_env,
            expect_rate_limit=a.expect_rate_limit,
            accepted=plan.contract.accept,
            secret_headers=ctx.secret_headers,
            # Afterwards, the paths that answered in preflight: a path the target never had is no news.
            health_paths=tuple(p for p in (pre.health.path, pre.ready.path) if p) if pre else (),
            insecure=plan.insecure,
            max_rps=plan.brakes.max_rps,
            max_concurrency=plan.brakes.max_concurrency,
            max_body_bytes=plan.request.max_body_bytes,
            slow=SlowRule(plan.contract.slow_factor, plan.contract.slow_min_ms),
            public_paths=a.public_paths,
        )
        ctx.phase(f"adversarial: malformed and hostile inputs for up to {a.budget_s:g}s")
        found = ctx.found
        method = found.method if found is not None and found.source else plan.request.method
        examples = [json.loads(b) for b in plan.request.bodies]
        section = run_adversarial(
            plan.target, method, dict(plan.request.headers), examples, found, options, notify=ctx.say
        )
        ctx.say(
            f"adversarial: {section.cases} cases, {len(section.findings)} findings, "
            f"healthy after: {section.healthy_after}"
        )
        return section

    def inputs(self, ctx: RunContext, pool_size: int = 100, discover: bool = False) -> None:
        """With no --body, a pool of generated valid inputs when the contract allows it. `discover`:
        look for the contract here when no contract stage ran (a compare, which checks none)."""
        if ctx.effective.request.bodies:
            return
        if ctx.found is None and discover and "contract" not in ctx.plan.skip:
            ctx.found = _discover(ctx, _options(ctx, checks=False))
        found = ctx.found
        if found is None or found.source is None:
            if discover:
                ctx.say("no contract found: the load sends the plain request and shadow is skipped (give --body)")
            return
        from benchbox.contract import body_text, valid_inputs

        pool = tuple(body_text(b) for b in valid_inputs(found, pool_size, ctx.plan.seed))
        if not pool:
            return
        if discover:
            ctx.say(f"inputs: {len(pool)} valid inputs generated from the contract ({found.source})")
        headers = dict(ctx.effective.request.headers)
        headers.setdefault("Content-Type", "application/json")
        ctx.learn_request(bodies=pool, method=found.method, headers=tuple(headers.items()))
        ctx.inputs = f"contract ({found.source})"

    def after_load(self, ctx: RunContext) -> None:
        if ctx.contract is not None and ctx.found is not None and ctx.found.source:
            ctx.contract = _check_load_samples(ctx)

    def saturation(self, ctx: RunContext) -> Saturation:
        return search_rate(ctx)


def _options(ctx: RunContext, checks: bool) -> Any:
    from benchbox.contract import ContractOptions

    plan = ctx.effective
    c = plan.contract
    return ContractOptions(
        cases=c.cases,
        seed=plan.seed,
        tolerance=c.tolerance,
        timeout_s=plan.request.timeout_s,
        protocol=c.protocol,  # type: ignore[arg-type]
        openapi=c.openapi,
        input_schema=c.input_schema,
        output_schema=c.output_schema,
        accepted=c.accept if checks else frozenset(),
        secret_headers=ctx.secret_headers,
        insecure=plan.insecure,
        max_rps=plan.brakes.max_rps,
        max_body_bytes=plan.request.max_body_bytes,
        slow=SlowRule(c.slow_factor, c.slow_min_ms),
    )


def _discover(ctx: RunContext, options: Any) -> Any:
    """The target's contract; with no body and no --method, also tried as POST (KServe's infer is)."""
    from benchbox.contract import discover

    plan = ctx.effective
    headers = dict(plan.request.headers)
    method = plan.request.method
    found = discover(plan.target, method, headers, options, notify=ctx.say)
    guessed = not plan.method_given and not plan.request.bodies and method == "GET"
    if guessed and (found.source is None or found.protocol == "kserve-v2"):
        post = discover(plan.target, "POST", headers, options, notify=ctx.say)
        if post.source is not None:
            found = post
    return found


def _check_load_samples(ctx: RunContext) -> ContractSection:
    """The contract holds under load too: check the answers the load phase kept (2xx only: the
    error gate already counts the rest)."""
    from benchbox.contract import check_response
    from benchbox.findings import group

    section, found, plan = ctx.contract, ctx.found, ctx.effective
    assert section is not None
    new = []
    checked = 0
    for sample in (s for p in ctx.phases for s in p.samples if 200 <= s.status < 300):
        try:
            body = json.loads(sample.request_body) if sample.request_body else None
        except json.JSONDecodeError:
            continue
        checked += 1
        new += check_response(
            found,
            body,
            sample.status,
            sample.content_type,
            sample.body.encode("utf-8"),
            url=plan.target,
            method=found.method,
            headers=dict(plan.request.headers),
            secret_headers=ctx.secret_headers or None,
        )
    open_new = [f for f in new if f.id not in plan.contract.accept]
    violations = tuple(group(list(section.violations) + open_new))
    note = f"{checked} answers from the load phase checked too: {len(open_new)} findings"
    return dataclasses.replace(
        section, violations=violations, notes=section.notes + (note,), passed=section.passed and not open_new
    )
