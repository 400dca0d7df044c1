"""Each mix class's own SLOs, judged on its own histograms (the run's SLOs judge the whole)."""

from __future__ import annotations

import dataclasses

from benchbox import gates
from benchbox.result import GateResult, LoadPhase
from benchbox.traffic.plan import TrafficPlan


def judge_classes(plan: TrafficPlan, phase: LoadPhase | None, unchecked: str) -> tuple[GateResult, ...]:
    """One gate per class SLO, named 'CLASS: p99', judged on the class's figures in the phase."""
    out: list[GateResult] = []
    for cls in plan.mix:
        if not cls.slos:
            continue
        stats = phase.traffic.classes.get(cls.name) if phase is not None and phase.traffic is not None else None
        if phase is None or stats is None or not stats.requests:
            reason = unchecked if phase is None else f"not checked: no request of class {cls.name!r} was sent"
            judged = [spec.judged(None, None, reason) for spec in cls.slos]
        else:
            view = dataclasses.replace(
                phase,
                requests=stats.requests,
                errors=stats.errors,
                error_rate=stats.error_rate,
                throughput_rps=stats.throughput_rps,
                latency_ms=stats.latency_ms,
                llm=None,
            )
            judged = list(gates.judge(cls.slos, view))
        out.extend(dataclasses.replace(g, name=f"{cls.name}: {g.name}") for g in judged)
    return tuple(out)
