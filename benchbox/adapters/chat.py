"""OpenAI-compatible chat and text-completion endpoints: the contract is the API's (streams
included), the hostile inputs are prompts, the load sends the prompt set, and saturation searches
on concurrency. Chat and completions differ only in the request body and the chunk's text field
(benchbox.llm: `ChatPlan.api`), so one adapter serves both."""

from __future__ import annotations

from typing import Any

from benchbox.adapters.base import Adapter
from benchbox.adversarial.model import AdversarialSection
from benchbox.context import RunContext
from benchbox.contract.model import ContractSection
from benchbox.saturation.model import Saturation


class Chat(Adapter):
    name = "openai-chat"

    @classmethod
    def detect(cls, ctx: RunContext) -> Chat | None:
        """The chat adapter when the target is a chat endpoint; what that takes (the chat URL, the
        model, the prompt bodies, the first-token gate) becomes the run's effective plan."""
        from benchbox.llm.setup import resolve

        resolved = resolve(ctx.effective, ctx.say)
        if resolved.llm is None:
            return None
        ctx.effective = resolved
        ctx.inputs = "prompts"
        adapter = cls()
        adapter.name = f"openai-{resolved.chat.api}"  # openai-chat or openai-completions, as recorded
        return adapter

    def protocol(self, ctx: RunContext) -> str:
        return f"openai-{ctx.effective.chat.api}"  # openai-chat or openai-completions

    def contract(self, ctx: RunContext) -> ContractSection:
        from benchbox.llm.contract import run_chat_contract

        ctx.phase(f"contract: checking the {ctx.effective.chat.api} answers and their streams")
        section = run_chat_contract(ctx.effective, notify=ctx.say)
        ctx.say(f"contract: {section.requests} requests, {len(section.violations)} findings ({self.protocol(ctx)})")
        return section

    def adversarial(self, ctx: RunContext) -> AdversarialSection:
        from benchbox.llm.probes import run_chat_adversarial

        plan = ctx.effective
        ctx.phase(
            f"adversarial: hostile prompts and malformed {plan.chat.api} requests "
            f"for up to {plan.adversarial.budget_s:g}s"
        )
        pre = ctx.preflight
        health = tuple(p for p in (pre.health.path, pre.ready.path) if p) if pre else ()
        section = run_chat_adversarial(plan, health, notify=ctx.say)
        if plan.api_key_env:  # every /v1/* route must refuse a missing or wrong key, the target too
            section = _auth_sweep(plan, section)
        ctx.say(
            f"adversarial: {section.cases} cases, {len(section.findings)} findings, "
            f"healthy after: {section.healthy_after}"
        )
        return section

    def saturation(self, ctx: RunContext) -> Saturation:
        from benchbox.llm.saturation import run_concurrency_search

        plan = ctx.effective
        ctx.phase(
            f"saturation: searching concurrency for the most streams held within the SLOs "
            f"(up to {plan.saturation_budget_s:g}s of load)"
        )
        result = run_concurrency_search(plan, notify=ctx.say, session=ctx.generator)
        ctx.say(f"saturation: {result.statement}")
        return result


def _auth_sweep(plan: Any, section: AdversarialSection) -> AdversarialSection:
    """The OpenAI family of routes tried without a key and with a wrong one (adversarial/surface)."""
    import dataclasses

    from benchbox.adversarial import AdversarialOptions
    from benchbox.adversarial.surface import sweep_standalone
    from benchbox.findings import group

    options = AdversarialOptions(
        timeout_s=min(10.0, plan.request.timeout_s),
        insecure=plan.insecure,
        max_rps=plan.brakes.max_rps,
        public_paths=plan.adversarial.public_paths,
        secret_headers={"Authorization": plan.api_key_env},
    )
    found, notes, sent = sweep_standalone(plan.target, "POST", dict(plan.request.headers), options, plan.chat.model)
    open_ = [f for f in found if f.id not in plan.contract.accept]
    return dataclasses.replace(
        section,
        findings=group([*section.findings, *open_]),
        requests=section.requests + sent,
        notes=section.notes + tuple(notes),
        passed=section.passed and not open_,
    )
