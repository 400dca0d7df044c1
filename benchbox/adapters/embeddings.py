"""OpenAI-compatible embeddings endpoints: the contract is the embeddings API's (one finite vector
per input, one dimension, usage, determinism), the hostile inputs are empty, huge and mistyped
ones, the load sends batches of texts (inputs/s and prompt tokens/s beside latency), and
saturation searches on rate as for any JSON endpoint."""

from __future__ import annotations

from benchbox.adapters.base import Adapter, search_rate
from benchbox.adversarial.model import AdversarialSection
from benchbox.context import RunContext
from benchbox.contract.model import ContractSection
from benchbox.saturation.model import Saturation


class Embeddings(Adapter):
    name = "openai-embeddings"

    @classmethod
    def detect(cls, ctx: RunContext) -> Embeddings | None:
        """The embeddings adapter when the target is (said to be) an embeddings endpoint; its
        request bodies (batches of texts) become the run's effective plan."""
        from benchbox.embeddings.setup import resolve

        resolved = resolve(ctx.effective, ctx.say)
        if resolved is None:
            return None
        ctx.effective = resolved
        ctx.inputs = "prompts" if resolved.chat.prompts_file else "generated"
        return cls()

    def protocol(self, ctx: RunContext) -> str:
        return "openai-embeddings"

    def contract(self, ctx: RunContext) -> ContractSection:
        from benchbox.embeddings.contract import run_embeddings_contract

        ctx.phase("contract: checking the embeddings answers (count, dimension, finite values, usage, determinism)")
        section = run_embeddings_contract(ctx.effective, notify=ctx.say)
        return section

    def adversarial(self, ctx: RunContext) -> AdversarialSection:
        from benchbox.adapters.chat import _auth_sweep
        from benchbox.embeddings.probes import run_embeddings_adversarial

        plan = ctx.effective
        ctx.phase(f"adversarial: empty, huge and mistyped inputs for up to {plan.adversarial.budget_s:g}s")
        pre = ctx.preflight
        health = tuple(p for p in (pre.health.path, pre.ready.path) if p) if pre else ()
        section = run_embeddings_adversarial(plan, health, notify=ctx.say)
        if plan.api_key_env:  # every /v1/* route must refuse a missing or wrong key, the target too
            section = _auth_sweep(plan, section)
        ctx.say(
            f"adversarial: {section.cases} cases, {len(section.findings)} findings, "
            f"healthy after: {section.healthy_after}"
        )
        return section

    def saturation(self, ctx: RunContext) -> Saturation:
        return search_rate(ctx)  # the rate search over the load's own bodies
