"""What every protocol shares: preflight, evaluation and the braked load phase.

An adapter is the protocol's implementation of the pipeline's stages (benchbox.pipeline). This
base serves any HTTP endpoint; a protocol overrides the stages it does differently and names,
in `unsupported`, the stages it has nothing to say about.
"""

from __future__ import annotations

from typing import Any

from benchbox import brakes, target
from benchbox.adversarial.model import AdversarialSection
from benchbox.context import RunContext
from benchbox.contract.model import ContractSection
from benchbox.evaluate.model import EvaluationSection
from benchbox.events import Event, Observer
from benchbox.load.spec import PhaseSpec, RunSpec
from benchbox.plan import Plan
from benchbox.result import LoadPhase, Preflight
from benchbox.saturation.model import Saturation


class Adapter:
    """The stage implementations for one protocol. Stateless: everything a run learns is in the context."""

    name = "http"

    def unsupported(self, stage: str) -> str | None:
        """Why this protocol has no `stage`, or None when it has one."""
        return None

    def refine(self, ctx: RunContext) -> Adapter:
        """After preflight: the adapter for what the target turned out to speak (self by default)."""
        return self

    def protocol(self, ctx: RunContext) -> str:
        """What the target speaks, as far as this run learnt it."""
        return "json" if ctx.effective.request.bodies else "http"

    # -- the stages ---------------------------------------------------------------------------------
    def preflight(self, ctx: RunContext) -> tuple[Preflight, str | None]:
        ctx.phase("preflight: probing health and readiness")
        return target.preflight(ctx.effective, ctx.say)

    def contract(self, ctx: RunContext) -> ContractSection:
        raise NotImplementedError

    def adversarial(self, ctx: RunContext) -> AdversarialSection:
        raise NotImplementedError

    def evaluate(self, ctx: RunContext) -> EvaluationSection:
        from benchbox.evaluate.runner import evaluate

        plan = ctx.effective
        assert plan.evaluation is not None
        ctx.phase(f"evaluation: scoring the answers on {plan.evaluation.path}")
        section = evaluate(
            plan.evaluation,
            plan.target,
            plan.request,
            ctx.found,
            plan.seed,
            ctx.say,
            protocol=plan.contract.protocol,
            brakes=plan.brakes,
        )
        ctx.say(
            f"evaluation: {section.rows} rows, "
            + ", ".join(f"{m.name} {m.value:.4g}" for m in section.metrics if m.value is not None)
        )
        return section

    def inputs(self, ctx: RunContext, pool_size: int = 100, discover: bool = False) -> None:
        """Give the load (and a compare's shadow) its bodies when the user gave none."""

    def load(self, ctx: RunContext) -> None:
        """The plan's load phases under its brakes; an interrupt keeps what was measured."""
        phases, interrupted = run_load(braked(ctx.effective, ctx.notify), ctx.notify, session=ctx.generator)
        ctx.phases.extend(phases)
        ctx.interrupted = ctx.interrupted or interrupted

    def after_load(self, ctx: RunContext) -> None:
        """What the protocol checks on the answers the load phase kept (nothing by default)."""

    def saturation(self, ctx: RunContext) -> Saturation:
        raise NotImplementedError


class Scenario(Adapter):
    """A locustfile run: its users name a host, not one endpoint, so only preflight and load apply."""

    name = "locustfile"

    def unsupported(self, stage: str) -> str | None:
        if stage in ("preflight", "load"):
            return None
        return "a locustfile run names a host, not one endpoint with a contract"

    def protocol(self, ctx: RunContext) -> str:
        return "http"


def braked(plan: Plan, notify: Observer) -> RunSpec:
    """The plan's load phases under its brakes (benchbox.brakes.braked_run), saying what was capped."""
    run = brakes.braked_run(plan)
    capped = [p for p, q in zip(plan.run_spec().phases, run.phases) if (p.rate, p.users) != (q.rate, q.users)]
    if capped:
        notify(
            Event(
                "note",
                f"load: {len(capped)} phase(s) capped by --max-rps {plan.brakes.max_rps} / "
                f"--max-concurrency {plan.brakes.max_concurrency}",
            )
        )
    return run


def run_load(
    run: RunSpec, notify: Observer, announce: bool = True, session: Any = None
) -> tuple[list[LoadPhase], str | None]:
    """Run the phases in the generator; return what was measured and, if cut short, the signal's name.

    The one place a load phase runs from the parent, for `run` and for each compare side alike."""
    from benchbox.load.process import (  # the generator starts only when needed
        PhaseInterrupted,
        run_phases,
    )

    def started(index: int) -> None:
        spec = run.phases[index]
        notify(
            Event(
                "phase",
                f"load: {describe(spec)} for {spec.duration_s:g}s",
                {"phase": spec.name, "duration_s": spec.duration_s},
            )
        )

    try:
        phases = run_phases(
            run,
            lambda tick: notify(Event("tick", data=tick)),
            started if announce else None,
            lambda text: notify(Event("note", text)),
            session=session,
        )
    except PhaseInterrupted as exc:  # the measured part is the stage's answer, not the exception's cargo
        return list(exc.phases), exc.signal_name
    return phases, None


def describe(spec: PhaseSpec) -> str:
    """A phase as a person would say it: 'open loop, 50 req/s (constant)'."""
    if spec.scenario:
        return f"locustfile {spec.scenario}, {spec.users or 1} users"
    ramp = f"{spec.ramp_from:g} -> " if spec.ramp_from is not None else ""
    if spec.mode == "open":
        return f"open loop, {ramp}{spec.rate:g} req/s ({spec.arrival})"
    return f"closed loop, {ramp}{spec.users} users"


def search_rate(ctx: RunContext) -> Saturation:
    """The rate search over the load's own bodies (a mix or a trace: the whole of it, scaled): the
    saturation of every request/response protocol."""
    from benchbox.saturation import run_search

    plan = ctx.effective
    ctx.phase(
        f"saturation: searching for the highest sustainable throughput (up to {plan.saturation_budget_s:g}s of load)"
    )
    if plan.traffic.active and plan.load.rate:  # a mix or a trace: the whole of it, scaled
        from benchbox.traffic.saturation import traffic_saturation

        return traffic_saturation(ctx, plan)
    result = run_search(
        plan.request,
        plan.gates,
        brakes.braked_search(plan),
        plan.seed,
        notify=ctx.say,
        session=ctx.generator,
        on_tick=lambda tick: ctx.notify(Event("tick", data=tick)),
    )
    ctx.say(f"saturation: {result.statement}")
    return result
