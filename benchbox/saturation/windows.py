"""A probe seen through its per-second windows: the steady part, and whether it is steady at all.

Why windows and not the whole phase: the first second holds connection set-up and the seconds
after the schedule ends hold the drain, and neither is the target at that load. Stability is
perf_analyzer's rule (the last three windows within 10 % of their mean, for throughput and
latency), or two windows within 5 % when the probe is that quiet, with a floor in ms because a
few ms of jitter on a 20 ms P95 is noise, not drift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchbox import hdr
from benchbox.result import LatencySummary, LoadPhase, TimePoint
from benchbox.saturation.settings import SearchSettings

# A window's percentile that bounds each gate's from below (p99 <= p99.9 <= max), so a window
# above a threshold proves the gate broken; p90 has no such bound among p50/p95/p99.
_WINDOW_FIELD = {"p50": "p50", "p95": "p95", "p99": "p99", "p99_9": "p99", "p99_99": "p99", "max": "p99"}
# Goodput of a few req/s moves by one or two requests a second on its own.
GOODPUT_FLOOR = 2.0


def goodput(window: TimePoint) -> int:
    return window.requests - window.errors


def steady_windows(phase: LoadPhase, warmup_s: int) -> tuple[TimePoint, ...]:
    """Whole seconds under load after the warm-up: the drain after the schedule is left out.

    A probe stopped early carries the seconds it actually ran as its duration_s."""
    load_end = math.floor(phase.duration_s + 1e-6)
    windows = tuple(w for w in phase.timeseries if warmup_s <= w.t < load_end)
    return windows or tuple(w for w in phase.timeseries if w.t < max(load_end, 1))


@dataclass(frozen=True)
class Reading:
    """The steady part of a probe, summed over its windows."""

    windows: int
    goodput_rps: float
    requests: int
    errors: int
    error_rate: float
    latency_ms: LatencySummary | None

    @property
    def concurrency(self) -> float | None:
        """Little's law: requests in the system = throughput x time each spends in it."""
        if self.latency_ms is None or self.goodput_rps <= 0:
            return None
        return self.goodput_rps * self.latency_ms.mean / 1000.0


def read(phase: LoadPhase, windows: Sequence[TimePoint]) -> Reading:
    requests = sum(w.requests for w in windows)
    errors = sum(w.errors for w in windows)
    encoded = [w.hdr for w in windows if w.hdr]
    # Percentiles are merged from the windows' histograms, never averaged across seconds.
    latency = hdr.summarize(hdr.merge(encoded)) if encoded else phase.latency_ms
    n = len(windows)
    return Reading(
        windows=n,
        goodput_rps=(requests - errors) / n if n else 0.0,
        requests=requests,
        errors=errors,
        error_rate=errors / requests if requests else 0.0,
        latency_ms=latency,
    )


def _close(values: Sequence[float], share: float, floor: float) -> bool:
    mean = sum(values) / len(values)
    return all(abs(v - mean) <= max(share * mean, floor) for v in values)


def stable(windows: Sequence[TimePoint], settings: SearchSettings) -> bool:
    """The last `stable_windows` windows agree on goodput and P95 (within 10 % or the floor), or
    the last `quick_windows` agree twice as closely: a quiet probe needs no third second."""
    if _agree(windows, settings.stable_windows, settings.stability, 1.0, settings):
        return True
    quick = settings.quick_windows
    return 0 < quick < settings.stable_windows and _agree(windows, quick, settings.quick_stability, 0.5, settings)


def _agree(windows: Sequence[TimePoint], count: int, share: float, floors: float, settings: SearchSettings) -> bool:
    last = windows[-count:]
    if len(last) < count:
        return False
    p95 = [w.p95 for w in last if w.p95 is not None]
    if len(p95) < len(last):
        return False
    return _close([goodput(w) for w in last], share, floors * GOODPUT_FLOOR) and _close(
        p95, share, floors * settings.stability_floor_ms
    )


def climbing(windows: Sequence[TimePoint], settings: SearchSettings) -> bool:
    """P95 rose every second over the last stable_windows + 1 windows (or all there are, if
    fewer), by more than the stability tolerance: a backlog is building, so this load cannot be
    sustained however long one waits. One window more than stability needs: on a shared
    machine a single slow second makes three windows rise now and then, and a probe wrongly
    failed near capacity sends the search down for good."""
    if stable(windows, settings):
        return False
    last = windows[-(settings.stable_windows + 1) :]
    p95 = [w.p95 for w in last]
    if len(last) < 2 or any(v is None for v in p95):
        return False
    rising = all(b > a for a, b in zip(p95, p95[1:]))  # type: ignore[operator]
    mean = sum(p95) / len(p95)  # type: ignore[arg-type]
    return rising and p95[-1] - p95[0] > max(settings.stability * mean, settings.stability_floor_ms)  # type: ignore[operator]


def window_breaks(window: TimePoint, metric: str, threshold: float) -> bool:
    """True when this one window proves a latency gate broken (see _WINDOW_FIELD)."""
    name = _WINDOW_FIELD.get(metric.removeprefix("latency_ms."))
    value = getattr(window, name) if name else None
    return value is not None and value > threshold
