"""Saturation for LLM targets: searched on concurrency, not on arrival rate.

A fixed arrival rate past an LLM server's capacity only measures a growing backlog (guidellm's
reasoning for its concurrency-based goodput search), so the search here runs closed-loop probes
at 1, 2, 4, ... concurrent streams until one breaks an SLO (TTFT, ITL, latency, errors, goodput)
or more streams stop adding throughput, then bisects between the last level that held and the
first that did not. Capacity is reported in requests/s and output tokens/s at the best level.
"""

from __future__ import annotations

from collections.abc import Callable

from benchbox import gates as gates_mod
from benchbox.load.process import GeneratorSession, PhaseInterrupted, run_phase
from benchbox.load.spec import PhaseSpec
from benchbox.plan import Plan
from benchbox.result import LoadPhase
from benchbox.saturation.model import LimitedBy, Saturation, Stage, Step
from benchbox.saturation.search import SearchInterrupted

Notify = Callable[[str], None]
PROBE_S = 5.0
MAX_LEVEL = 512
PLATEAU = 1.05  # doubling the streams must add at least 5 % throughput to count as progress
_NOT_PER_PROBE = frozenset({"min_rps", "min_tps"})


def run_concurrency_search(
    plan: Plan, notify: Notify | None = None, probe_s: float = PROBE_S, session: GeneratorSession | None = None
) -> Saturation:
    """`session`: the run's generator process (ctx.generator), so no probe pays a process start-up."""
    say = notify or (lambda _: None)
    specs = tuple(g for g in plan.gates if g.name not in _NOT_PER_PROBE)
    criterion = " and ".join(g.describe() for g in specs) + ", closed loop, per concurrency level"
    budget = plan.saturation_budget_s
    steps: list[Step] = []
    used = 0.0
    held: dict[int, Step] = {}
    failed: dict[int, str] = {}

    def probe(level: int, stage: Stage) -> Step | None:
        nonlocal used
        if used + probe_s > budget + 1e-9:
            return None
        spec = PhaseSpec(
            name=f"saturation-c{level}",
            mode="closed",
            duration_s=probe_s,
            request=plan.request,
            users=level,
            seed=plan.seed + len(steps),
            chat=plan.llm,
            max_rps=plan.brakes.max_rps,
        )
        try:
            phase = run_phase(spec, session=session)
        except PhaseInterrupted as exc:
            raise SearchInterrupted(
                exc.signal_name, _build(plan, steps, held, failed, criterion, used, False)
            ) from None
        used += max(phase.elapsed_s, phase.duration_s)
        step, reasons = _step(len(steps), stage, level, phase, specs)
        steps.append(step)
        if step.held:
            held[level] = step
        else:
            failed[level] = "; ".join(reasons)
        say(
            f"saturation: {level} streams -> {step.achieved_rps:g} req/s, "
            f"{step.output_tokens_per_s or 0:g} tokens/s, {'held' if step.held else 'broke: ' + failed[level]}"
        )
        return step

    level, previous, plateau = 1, None, False
    top = min(MAX_LEVEL, plan.brakes.max_concurrency or MAX_LEVEL)  # --max-concurrency caps the streams
    while level <= top:
        step = probe(level, "ramp")
        if step is None or not step.held:
            break
        if previous is not None and step.achieved_rps < previous.achieved_rps * PLATEAU:
            plateau = True  # more streams no longer buy throughput: the server is saturated
            break
        previous, level = step, level * 2
    if held:
        low = max(held)
        above = [f for f in failed if f > low]
        high = min(above) if above else None
        while high is not None and high - low > 1 and high / low > 1.1:
            mid = (low + high) // 2
            step = probe(mid, "bisect")
            if step is None:
                break
            low, high = (mid, high) if step.held else (low, mid)
    return _build(plan, steps, held, failed, criterion, used, plateau)


def _step(index: int, stage: Stage, level: int, phase: LoadPhase, specs: tuple) -> tuple[Step, list[str]]:
    judged = gates_mod.judge(specs, phase)
    broken = [f"{g.name}: {g.detail}" for g in judged if g.passed is False]
    lat = phase.latency_ms
    tokens = phase.llm.output_tokens_per_s if phase.llm is not None else None
    step = Step(
        index=index,
        stage=stage,
        mode="closed",
        offered_rps=None,
        users=level,
        achieved_rps=round(phase.throughput_rps * (1 - phase.error_rate), 3),
        p50_ms=lat.p50 if lat else None,
        p95_ms=lat.p95 if lat else None,
        p99_ms=lat.p99 if lat else None,
        mean_ms=lat.mean if lat else None,
        error_rate=round(phase.error_rate, 6),
        status_counts=dict(phase.status_counts),
        errors_by_kind=dict(phase.errors_by_kind),
        concurrency=float(level),
        load_s=round(max(phase.elapsed_s, phase.duration_s), 3),
        windows=len(phase.timeseries),
        stable=True,
        held=not broken and phase.responses > 0,
        generator_limited=phase.generator.limited,
        reasons=tuple(broken),
        output_tokens_per_s=tokens,
    )
    return step, broken or (["no answer"] if phase.responses == 0 else [])


def _build(
    plan: Plan,
    steps: list[Step],
    held: dict[int, Step],
    failed: dict[int, str],
    criterion: str,
    used: float,
    plateau: bool,
) -> Saturation:
    if not held:
        return Saturation(
            found=False,
            max_sustainable_rps=None,
            criterion=criterion,
            limited_by="nothing_held",
            statement="not even one stream at a time held the SLOs"
            if steps
            else "no probe fitted in the saturation budget",
            budget_s=plan.saturation_budget_s,
            load_s_used=round(used, 3),
            steps=tuple(steps),
        )
    best = max(held.values(), key=lambda s: (s.output_tokens_per_s or 0.0, s.achieved_rps))
    top = max(held)
    above = [f for f in failed if f > top]
    limited: LimitedBy
    if above:
        why = failed[min(above)]
        limited = "errors" if why.startswith("errors") else "latency"
        found = True
        statement = (
            f"{best.users} concurrent streams held: {best.achieved_rps:g} req/s, "
            f"{best.output_tokens_per_s or 0:g} output tokens/s; {min(above)} streams broke {why}"
        )
    elif plateau:
        limited, found = "throughput", True
        statement = (
            f"throughput stopped growing with concurrency: {best.users} streams carried "
            f"{best.achieved_rps:g} req/s, {best.output_tokens_per_s or 0:g} output tokens/s"
        )
    else:
        limited, found = "budget", False
        statement = (
            f"capacity above {best.achieved_rps:g} req/s ({best.output_tokens_per_s or 0:g} tokens/s at "
            f"{best.users} streams): the budget ended before any level broke an SLO"
        )
    if any(s.generator_limited for s in steps):
        statement += " (the generator was busy: some figures may describe it, not the target)"
    return Saturation(
        found=found,
        max_sustainable_rps=best.achieved_rps if found else None,
        criterion=criterion,
        limited_by=limited,
        statement=statement,
        budget_s=plan.saturation_budget_s,
        load_s_used=round(used, 3),
        capacity_floor_rps=None if found else best.achieved_rps,
        steps=tuple(steps),
        max_concurrency=best.users,
        max_output_tokens_per_s=best.output_tokens_per_s,
        notes=("searched on concurrency (closed loop): a fixed rate past capacity only measures a backlog",),
    )
