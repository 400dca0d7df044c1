"""Was it the generator, not the target, that set the limit of a probe? Honesty depends on it.

The generator flags itself `limited` for anything that could distort a latency (load stage). Past
a target's capacity some of those flags are the target's doing, and reading them as the
generator's would turn every overloaded probe into "generator-bound":

- all connections busy, or requests never sent: the target holds requests longer. The probe pool
  is sized to rate x the longest in-flight time the SLO allows, so running out of it means the
  target broke the SLO anyway. Only a pool smaller than that is the generator's limit.
- schedule lag: latency counts from the intended send, so lag adds at most itself to a latency.
  Lag the size of a tenth of the latency SLO could decide a verdict; a few ms of it cannot.
- CPU at the limit: the generator is the bottleneck, whatever the target does.
"""

from __future__ import annotations

from benchbox.load.recorder import CPU_LIMIT_PERCENT, LAG_LIMIT_MS
from benchbox.result import LoadPhase
from benchbox.saturation.settings import Criteria

# Lag up to this share of the tightest latency limit cannot move a verdict.
LAG_SHARE_OF_SLO = 0.10


def generator_reasons(phase: LoadPhase, criteria: Criteria) -> tuple[str, ...]:
    """Why the generator may have limited this probe; empty when the target set the pace."""
    g = phase.generator
    reasons: list[str] = []
    if g.cpu_percent_mean >= CPU_LIMIT_PERCENT:
        reasons.append(f"generator CPU at {g.cpu_percent_mean:.0f}% of one core")
    lag_limit = max(LAG_LIMIT_MS, LAG_SHARE_OF_SLO * min(criteria.latency_limits_ms))
    if g.schedule_lag_ms is not None and g.schedule_lag_ms.p99 > lag_limit:
        reasons.append(f"generator fell behind its schedule (lag p99 {g.schedule_lag_ms.p99:.0f} ms)")
    starved = g.waited_for_connection > 0 or phase.errors_by_kind.get("unsent", 0) > 0
    if phase.mode == "open" and phase.offered_rps and starved:
        needed = phase.offered_rps * criteria.allowance_s
        if (phase.connections or 0) < needed:
            reasons.append(f"{phase.connections} connections, fewer than the {needed:.0f} in flight "
                           "the SLO allows at this rate, ran out")
    return tuple(reasons)
