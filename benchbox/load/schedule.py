"""Open-loop arrival schedules: when each request *should* be sent.

The schedule is computed up front from the rate and a seed, like wrk2 and vLLM's benchmark do, so
that it does not depend on how the target behaves: a target that stalls cannot slow the schedule
down, and its stall shows in latencies measured from these intended times.
"""

from __future__ import annotations

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


def expected_count(rate: float, duration_s: float) -> int:
    return int(round(rate * duration_s))
