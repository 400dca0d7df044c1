"""Open-loop arrival schedules: when each request *should* be sent.

The schedule is computed up front from the rate and a seed, like wrk2 and vLLM's benchmark do, so
that it does not depend on how the target behaves: a target that stalls cannot slow the schedule
down, and its stall shows in latencies measured from these intended times.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator


def offsets(rate: float, duration_s: float, arrival: str, seed: int) -> Iterator[float]:
    """Intended send times in seconds from the phase start, all < duration_s.

    constant: exactly rate x duration_s sends, evenly spaced.
    poisson: exponential gaps with mean 1/rate (a Poisson process), reproducible from the seed.
    """
    if arrival == "constant":
        interval = 1.0 / rate
        count = int(round(rate * duration_s))
        for i in range(count):
            yield i * interval
        return
    if arrival != "poisson":
        raise ValueError(f"unknown arrival process {arrival!r}")
    rng = random.Random(seed)
    t = rng.expovariate(rate)
    while t < duration_s:
        yield t
        t += rng.expovariate(rate)


def ramp_offsets(start_rate: float, end_rate: float, duration_s: float, arrival: str, seed: int) -> Iterator[float]:
    """Intended send times for a rate rising (or falling) linearly over the phase.

    The k-th send goes where the cumulative expected count Λ(t) = r0·t + (r1 - r0)·t²/(2D)
    reaches k (constant) or a unit-rate Poisson process's k-th arrival (poisson): inverting Λ
    keeps the schedule exact for any ramp, not just approximately piecewise."""
    slope = (end_rate - start_rate) / duration_s
    total = start_rate * duration_s + slope * duration_s**2 / 2.0
    rng = random.Random(seed)
    k = 0.0
    while True:
        k = k + 1.0 if arrival == "constant" else k + rng.expovariate(1.0)
        target = k - 1.0 if arrival == "constant" else k
        if target >= total:
            return
        yield _invert(start_rate, slope, target)


def _invert(r0: float, slope: float, count: float) -> float:
    """Solve r0·t + slope·t²/2 = count for t >= 0."""
    if abs(slope) < 1e-12:
        return count / r0
    disc = r0 * r0 + 2.0 * slope * count
    return (-r0 + math.sqrt(max(disc, 0.0))) / slope
