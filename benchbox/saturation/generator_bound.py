"""Could the generator, not the target, have set the limit of a probe? Honesty depends on it.

The generator flags itself `limited` for anything that could distort a latency. Past a target's
capacity some of those flags are the target's doing, and taking them as the generator's would
make every overloaded probe "generator-bound"; on a small machine, the other way round, a
generator short of CPU makes a fast target look slow. So the search asks a narrower question:

- CPU at the limit: the generator is the bottleneck, whatever the target does.
- time before the send: open-loop latency runs from the intended send time, and `service_ms`
  from the actual send. What lies between (schedule lag, waiting for a connection) is spent in
  the generator; when it is a large share of the P95 the verdict rests on, the failure may be
  the generator's. A target that queues shows the opposite: service time ~ latency.
- a connection pool smaller than rate x the longest in-flight time the SLO allows: the probe
  pool is sized to that, so running out of a big enough pool means the target held requests
  past the SLO anyway; running out of a smaller one (capped) is the generator's limit.
"""

from __future__ import annotations

from benchbox.load.recorder import CPU_LIMIT_PERCENT
from benchbox.result import LoadPhase
from benchbox.saturation.settings import Criteria

# When this share of the P95 was spent before the request went out, the generator could explain it.
PRE_SEND_SHARE = 0.25


def generator_reasons(phase: LoadPhase, criteria: Criteria) -> tuple[str, ...]:
    """Why the generator may have limited this probe; empty when the target set the pace."""
    g = phase.generator
    reasons: list[str] = []
    if g.cpu_percent_mean >= CPU_LIMIT_PERCENT:
        reasons.append(f"generator CPU at {g.cpu_percent_mean:.0f}% of one core")
    lat, svc = phase.latency_ms, phase.service_ms
    if lat is not None and svc is not None and lat.p95 > 0:
        before = max(lat.p95 - svc.p95, 0.0)
        if before >= PRE_SEND_SHARE * lat.p95:
            lag = f", schedule lag p99 {g.schedule_lag_ms.p99:.1f} ms" if g.schedule_lag_ms else ""
            reasons.append(
                f"{before:.1f} of the {lat.p95:.1f} ms P95 passed before requests were sent "
                f"(generator behind its schedule{lag})"
            )
    starved = g.waited_for_connection > 0 or phase.errors_by_kind.get("unsent", 0) > 0
    if phase.mode == "open" and phase.offered_rps and starved:
        needed = phase.offered_rps * criteria.allowance_s
        if (phase.connections or 0) < needed:
            reasons.append(
                f"{phase.connections} connections, fewer than the {needed:.0f} in flight "
                "the SLO allows at this rate, ran out"
            )
    return tuple(reasons)
