"""The pipeline, whole: stages in order, one engine to drive them, one assembler to end every path.

    preflight -> contract -> adversarial -> eval -> inputs -> load -> saturation -> Result

Each stage says whether it applies to this run (`applies`) and does its work (`run`) through the
run's protocol adapter (benchbox.adapters: JSON/KServe, openai-chat, a locustfile), so no stage
knows which protocol it serves. What a stage learns goes into the RunContext (benchbox.context);
the Plan stays as given. `run`, `smoke`, `demo` and each side of a live `compare` go through
here; every Result, however its run ended, comes out of `assemble` (verdict, partial, problems,
notes, the secret scrub). The engine never prints and never exits: it reports progress as Events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import Protocol

from benchbox import evidence, gates
from benchbox.adapters import initial
from benchbox.capacity import CostPlan, CostSection, cost_section
from benchbox.coldstart.stage import FirstRequests, launched
from benchbox.context import RunContext, now
from benchbox.errors import GeneratorFailed, Interrupted
from benchbox.events import Observer, ignore
from benchbox.plan import Plan
from benchbox.redact import scrub_result
from benchbox.result import LoadPhase, LoadSection, Result, Target, Verdict
from benchbox.saturation.model import Saturation as SaturationResult
from benchbox.version import __version__


class Stage(Protocol):
    """One step of the pipeline. `applies` asks the context (skipped? preflight failed? does the
    protocol have this stage?); `run` does the work through `ctx.adapter` and writes what it found,
    or what it measured before an interrupt, into the context."""

    name: str

    def applies(self, ctx: RunContext) -> bool: ...

    def run(self, ctx: RunContext) -> None: ...


class Preflight:
    """Reachable, healthy, ready? Nothing else is sent to a target that is not; once it is, the
    adapter may be refined to what the target speaks (a chat endpoint, say)."""

    name = "preflight"

    def applies(self, ctx: RunContext) -> bool:
        return True

    def run(self, ctx: RunContext) -> None:
        ctx.preflight, ctx.model_version = ctx.adapter.preflight(ctx)
        if ctx.preflight.error:
            ctx.problems.append(ctx.preflight.error)
            ctx.stopped = True
        else:
            ctx.adapter = ctx.adapter.refine(ctx)
            if "load" not in ctx.plan.skip and ctx.generator is not None:
                ctx.generator.start()  # its ~1 s start-up overlaps contract and adversarial; none for a dead target


class Contract:
    name = "contract"

    def applies(self, ctx: RunContext) -> bool:
        return ctx.can_run(self.name)

    def run(self, ctx: RunContext) -> None:
        ctx.contract = ctx.adapter.contract(ctx)
        if ctx.preflight is not None:
            ctx.preflight = dataclasses.replace(ctx.preflight, contract_source=ctx.contract.source)


class Adversarial:
    name = "adversarial"

    def applies(self, ctx: RunContext) -> bool:
        return ctx.can_run(self.name)

    def run(self, ctx: RunContext) -> None:
        ctx.adversarial = ctx.adapter.adversarial(ctx)


class Evaluate:
    name = "eval"

    def applies(self, ctx: RunContext) -> bool:
        return ctx.plan.evaluation is not None and ctx.can_run(self.name)

    def run(self, ctx: RunContext) -> None:
        ctx.evaluation = ctx.adapter.evaluate(ctx)


class Inputs:
    """With no --body, the load's bodies: generated from the contract, or the chat prompts.
    `discover` looks for the contract itself (a compare runs no contract stage)."""

    name = "inputs"

    def __init__(self, pool_size: int = 100, discover: bool = False) -> None:
        self.pool_size, self.discover = pool_size, discover

    def applies(self, ctx: RunContext) -> bool:
        return ctx.can_run(self.name) and not ctx.effective.request.bodies

    def run(self, ctx: RunContext) -> None:
        ctx.adapter.inputs(ctx, self.pool_size, self.discover)


class Load:
    name = "load"

    def applies(self, ctx: RunContext) -> bool:
        return ctx.can_run(self.name)

    def run(self, ctx: RunContext) -> None:
        ctx.adapter.load(ctx)
        ctx.adapter.after_load(ctx)
        if ctx.braked:
            ctx.notes.append(f"load: {ctx.braked}")
            if ctx.can_run("saturation"):
                ctx.notes.append("saturation: not run, because the brake stopped the load phase")


class Saturation:
    name = "saturation"

    def applies(self, ctx: RunContext) -> bool:
        return ctx.can_run(self.name) and not ctx.braked

    def run(self, ctx: RunContext) -> None:
        from benchbox.saturation.search import SearchInterrupted

        try:
            ctx.saturation = ctx.adapter.saturation(ctx)
        except SearchInterrupted as exc:  # the probes finished until then are the stage's answer
            ctx.saturation, ctx.interrupted = exc.saturation, exc.signal_name


RUN: tuple[Stage, ...] = (
    Preflight(),
    FirstRequests(),
    Contract(),
    Adversarial(),
    Evaluate(),
    Inputs(),
    Load(),
    Saturation(),
)


def start(plan: Plan, command: str = "run", observer: Observer | None = None) -> RunContext:
    return RunContext(plan, command, observer or ignore, adapter=initial(plan))


def run(plan: Plan, command: str = "run", observer: Observer | None = None, stages: Sequence[Stage] = RUN) -> Result:
    """Run the stages and return the Result; an interruption ends the run early, not badly."""
    from benchbox.load.process import GeneratorSession  # process management only: no Locust here
    from benchbox.outputs.fanout import open_outputs
    from benchbox.servermetrics.session import watching

    outputs = open_outputs(plan)  # --output: each tick also goes out live, from this process
    ctx = start(plan, command, outputs.observe(observer or ignore) if outputs else observer)
    try:
        # One generator for every phase and probe; the target started (--start) and watched (metrics) around it.
        with launched(ctx), GeneratorSession() as generator, watching(ctx, generator):
            ctx.generator = ctx.generator or generator  # watching() may wrap it: the target's metrics scraped
            drive(ctx, stages)
        result = assemble(ctx, [s.name for s in stages])
    except BaseException:
        if outputs is not None:
            outputs.end()
        raise
    return outputs.finish(result) if outputs is not None else result


def drive(ctx: RunContext, stages: Sequence[Stage]) -> RunContext:
    """The engine: each stage that applies, in order, until the run stops, is interrupted or fails.
    A stage cut short has already put what it measured into the context."""
    try:
        for stage in stages:
            if ctx.stopped or ctx.interrupted:
                break
            if stage.applies(ctx):
                ctx.ran.append(stage.name)
                stage.run(ctx)
    except Interrupted as exc:
        ctx.interrupted = exc.signal_name
    except KeyboardInterrupt:
        ctx.interrupted = "SIGINT"
    except GeneratorFailed as exc:
        ctx.problems.append(str(exc))
    return ctx


def assemble(ctx: RunContext, covered: Collection[str]) -> Result:
    """The one way a Result is made: gates for the stages this command covers, the verdict, and
    the secret scrub (a target that echoes a key back never gets it into the record)."""
    plan, effective = ctx.plan, ctx.effective
    problems = list(ctx.problems)
    if ctx.interrupted:
        problems.append(f"interrupted by {ctx.interrupted}: the figures cover the run until then")
    phases = [dataclasses.replace(p, samples=()) for p in ctx.phases]  # evidence in transit, not record
    phase = phases[-1] if phases else None
    s = ctx.saturation
    capacity = s.max_sustainable_rps if s is not None and s.found else None
    cost = cost_of(plan.cost, s, phase)
    server = ctx.server_metrics.section(ctx.phases, ctx.saturation) if ctx.server_metrics is not None else None
    cold = ctx.cold_start.section if ctx.cold_start is not None else None
    judged = (
        gates.judge(effective.gates, phase, _load_unchecked(ctx), capacity, cost, server, cold)
        if "load" in covered
        else ()
    )
    if "load" in covered and plan.traffic.mix:  # each mix class's own SLOs (benchbox.traffic)
        from benchbox.traffic.gates import judge_classes

        judged += judge_classes(plan.traffic, phase, _load_unchecked(ctx))
    if "contract" in covered:
        judged += (gates.contract_gate(ctx.contract, _unchecked(ctx, "contract")),)
    if "adversarial" in covered:
        judged += (gates.adversarial_gate(ctx.adversarial, _unchecked(ctx, "adversarial")),)
    if plan.evaluation is not None and "eval" in covered:
        from benchbox.evaluate.gates import judge as judge_evaluation

        judged += judge_evaluation(plan.evaluation.gates, ctx.evaluation, _unchecked(ctx, "eval"))
    verdict: Verdict = "error" if problems else ("fail" if any(g.passed is False for g in judged) else "pass")
    return scrub_result(
        plan.request.headers,
        Result(
            benchbox_version=__version__,
            started_at=ctx.started,
            finished_at=now(),
            command=ctx.command,
            plan=plan.redacted(),
            ran=ctx.ran_section(),
            server_metrics=server,
            cold_start=cold,
            target=Target(
                url=effective.target,
                protocol=ctx.adapter.protocol(ctx),
                label=plan.label,
                model_version=ctx.model_version,
            ),
            verdict=verdict,
            gates=judged,
            machine=evidence.machine(),
            seed=plan.seed,
            preflight=ctx.preflight,
            contract=ctx.contract,
            adversarial=ctx.adversarial,
            saturation=ctx.saturation,
            evaluation=ctx.evaluation,
            cost=cost,
            load=LoadSection(phases=tuple(phases)) if phases else None,
            commit=evidence.commit(),
            partial=ctx.interrupted is not None or any(p.partial for p in phases),
            interrupted=ctx.interrupted,
            problems=tuple(problems),
            notes=tuple(ctx.notes),
        ),
    )


def _unchecked(ctx: RunContext, stage: str) -> str:
    """Why a stage's gate has no answer."""
    if stage in ctx.plan.skip:
        return f"not checked: the {stage} phase was skipped (--skip {stage})"
    unsupported = ctx.adapter.unsupported(stage)
    if unsupported:
        return f"not checked: {unsupported}"
    if ctx.stopped:
        return "not checked: preflight failed, so no request was sent"
    return _load_unchecked(ctx).replace("no load was sent", "no request was sent")


def _load_unchecked(ctx: RunContext) -> str:
    if "load" in ctx.plan.skip:
        return "not checked: the load phase was skipped (--skip load)"
    if ctx.stopped:
        return "not checked: preflight failed, so no load was sent"
    if ctx.interrupted:
        return f"not checked: interrupted by {ctx.interrupted} before the load phase"
    return "not checked: no load phase ran"


def cost_of(plan: CostPlan, saturation: SaturationResult | None, phase: LoadPhase | None) -> CostSection | None:
    """The cost section for a run: the plan priced against the saturation search's answer (the
    capacity found, or the floor a generator-bound search reached) and the load phase as run.
    Here rather than in capacity.py, which stays below result.py and takes plain numbers."""
    capacity, found, upper, tokens = None, False, None, None
    if saturation is not None:
        found = saturation.found and saturation.max_sustainable_rps is not None
        capacity = saturation.max_sustainable_rps if found else saturation.capacity_floor_rps
        upper = saturation.upper_bound_rps if found else None
        tokens = saturation.max_output_tokens_per_s
    load_rps = phase.throughput_rps if phase is not None and phase.requests else None
    load_tokens = phase.llm.output_tokens_per_s if phase is not None and phase.llm is not None else None
    return cost_section(plan, capacity, found, upper, load_rps, tokens, load_tokens)
