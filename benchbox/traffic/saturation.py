"""The saturation search on a mix or a replayed trace: every probe is the whole traffic scaled.

A probe at R req/s is the mix drawn at R, or the trace looped at R / its own rate times its pace
(--time-scale), so the shares and the rhythm stay production's while the level rises. After the
search, each probe is judged class by class (a class's own SLOs, else the run's): the lowest
multiplier at which a class broke is reported with the class's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from benchbox.gates import GateSpec
from benchbox.load.process import GeneratorSession
from benchbox.load.spec import PhaseSpec, RequestSpec
from benchbox.result import LoadPhase
from benchbox.saturation.model import Saturation
from benchbox.saturation.runner import GeneratorProbe, OnProbeTick
from benchbox.saturation.search import Notify, ProbeOrder, ProbeRun, Watch, search
from benchbox.saturation.settings import SearchSettings
from benchbox.traffic.gates import judge_classes
from benchbox.traffic.mix import MixClass
from benchbox.traffic.model import ClassBreak, TrafficSpec
from benchbox.traffic.plan import TrafficPlan

if TYPE_CHECKING:
    from benchbox.plan import Plan


class TrafficProbe(GeneratorProbe):
    """A probe that sends the traffic scaled to the probe's rate, and keeps each probe's phase."""

    def __init__(self, traffic: TrafficSpec, base_rps: float, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.traffic, self.base_rps = traffic, base_rps
        self.runs: list[tuple[float, LoadPhase]] = []

    def spec(self, order: ProbeOrder) -> PhaseSpec:
        spec = super().spec(order)
        if order.rate is None:
            return spec
        factor = order.rate / self.base_rps
        scaled = dataclasses.replace(self.traffic, scale=self.traffic.scale * factor, loop=True)
        return dataclasses.replace(spec, traffic=scaled)

    def __call__(self, order: ProbeOrder, watch: Watch | None) -> ProbeRun:
        run = super().__call__(order, watch)
        if order.rate is not None:
            self.runs.append((order.rate, run.phase))
        return run


def traffic_saturation(ctx: Any, plan: Plan) -> Saturation:
    """The Saturation stage of a run with a mix or a trace (ctx: the run's RunContext)."""
    from benchbox import brakes
    from benchbox.events import Event

    spec = plan.phase_spec().traffic
    assert spec is not None and plan.load.rate
    result = run_traffic_search(
        plan.traffic, spec, plan.load.rate, plan.request, plan.gates, brakes.braked_search(plan), plan.seed,
        ctx.say, ctx.generator, lambda tick: ctx.notify(Event("tick", data=tick)),
    )  # fmt: skip
    ctx.say(f"saturation: {result.statement}")
    return result


def run_traffic_search(
    traffic: TrafficPlan,
    spec: TrafficSpec,
    base_rps: float,
    request: RequestSpec,
    gates: Sequence[GateSpec],
    settings: SearchSettings,
    seed: int,
    notify: Notify | None,
    session: GeneratorSession | None,
    on_tick: OnProbeTick | None,
) -> Saturation:
    probe = TrafficProbe(spec, base_rps, request, settings, seed, session, on_tick)
    result = search(probe, gates, settings, notify, timeout_s=request.timeout_s)
    found = first_break(traffic, gates, probe.runs, base_rps)
    what = "the trace's pace" if spec.kind == "trace" else "the mix's rate"
    if found is not None:
        said = (
            f" The first class to break its SLO: {found.name!r} at {found.multiplier:.3g}x {what} "
            f"({found.offered_rps:.4g} req/s offered; {found.gate}: {found.detail})."
        )
    elif probe.runs:
        said = f" No class broke its SLO in any probe (up to {max(r for r, _ in probe.runs) / base_rps:.3g}x {what})."
    else:
        said = ""
    statement = result.statement if not said or result.statement.endswith(".") else result.statement + "."
    return dataclasses.replace(result, first_break=found, statement=statement + said)


def first_break(
    traffic: TrafficPlan, gates: Sequence[GateSpec], runs: Sequence[tuple[float, LoadPhase]], base_rps: float
) -> ClassBreak | None:
    """The lowest-rate probe where a class broke one of its SLOs (its own, else the run's)."""
    for rate, phase in sorted(runs, key=lambda r: r[0]):
        if phase.traffic is None:
            continue
        own = {c.name: c for c in traffic.mix if c.slos}
        classes = tuple(
            own.get(name) or MixClass(name=name, weight=0.0, slos=tuple(gates)) for name in phase.traffic.classes
        )
        judged = judge_classes(dataclasses.replace(traffic, mix=classes), phase, "")
        broken = [g for g in judged if g.passed is False]
        if broken:
            worst = max(broken, key=lambda g: (g.observed or 0.0) / g.threshold if g.threshold else 0.0)
            name, _, gate = worst.name.rpartition(": ")
            return ClassBreak(
                name=name, multiplier=round(rate / base_rps, 4), offered_rps=rate, gate=gate, detail=worst.detail
            )
    return None
