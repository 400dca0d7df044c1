"""The knee of the latency curve: the offered load where P95 starts to climb steeply.

With five or more probes (guidellm's minimum) two straight lines are fitted to log P95 against
offered load, one to each side of every possible split, and the split with the least squared error
wins; the knee is where the two lines meet. Log, because past capacity latency grows
geometrically, and one point of seconds would otherwise outweigh every point of milliseconds.
With fewer probes, the knee is the first probe whose P95 exceeds THRESHOLD x the low-load P95.
Either way the result names its method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from benchbox.saturation.model import Knee, Step

MIN_SEGMENT_POINTS = 5
THRESHOLD = 3.0  # P95 tripled: well past a few ms of jitter, well before the SLO on most targets


def curve(steps: Sequence[Step]) -> list[tuple[float, float]]:
    """(offered req/s, P95 ms) of every open-loop probe the target, not the generator, set."""
    points = {
        s.offered_rps: s.p95_ms
        for s in steps
        if s.mode == "open" and s.offered_rps and s.p95_ms and s.p95_ms > 0 and not s.generator_limited
    }
    return sorted(points.items())


def find(steps: Sequence[Step]) -> tuple[Knee | None, str]:
    """The knee, or None and a sentence saying why there is none."""
    points = curve(steps)
    if len(points) < 2:
        return None, "no knee: fewer than two probes to draw a curve from"
    base = points[0][1]
    if max(p for _, p in points) < THRESHOLD * base:
        return None, (
            f"no knee: P95 stayed within {THRESHOLD:g}x its low-load value ({base:.1f} ms) over the probed range"
        )
    if len(points) >= MIN_SEGMENT_POINTS:
        knee = _two_segment(points)
        if knee is not None:
            return knee, ""
    return _threshold(points), ""


def _threshold(points: Sequence[tuple[float, float]]) -> Knee:
    base = points[0][1]
    x, p95 = next((x, p) for x, p in points if p > THRESHOLD * base)
    return Knee(
        offered_rps=x,
        p95_ms=p95,
        method="threshold",
        detail=f"first probe whose P95 ({p95:.1f} ms) exceeds {THRESHOLD:g}x the "
        f"low-load P95 ({base:.1f} ms at {points[0][0]:g} req/s)",
    )


def _two_segment(points: Sequence[tuple[float, float]]) -> Knee | None:
    xs = np.array([p[0] for p in points])
    ys = np.log([p[1] for p in points])
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    for k in range(2, len(points) - 1):  # at least two points on each side
        left, right = np.polyfit(xs[:k], ys[:k], 1), np.polyfit(xs[k:], ys[k:], 1)
        sse = float(
            ((np.polyval(left, xs[:k]) - ys[:k]) ** 2).sum() + ((np.polyval(right, xs[k:]) - ys[k:]) ** 2).sum()
        )
        if best is None or sse < best[0]:
            best = (sse, k, left, right)
    assert best is not None
    _, k, left, right = best
    if right[0] <= max(left[0], 0.0) * 2:
        return None  # the right-hand line is not steeper: no break in the curve, try the threshold
    meet = (left[1] - right[1]) / (right[0] - left[0])
    x = min(max(meet, xs[k - 1]), xs[k])  # the lines meet between the last flat and first steep probe
    p95 = math.exp(float(np.polyval(left, x)))
    return Knee(
        offered_rps=round(float(x), 3),
        p95_ms=round(p95, 3),
        method="two_segment",
        detail=(
            f"two lines fitted to log P95 vs offered load meet at {x:.4g} req/s: below it P95 "
            f"grows {_per_10pct(left, x)}, above it {_per_10pct(right, x)}, per 10 % more load"
        ),
    )


def _per_10pct(line: np.ndarray, x: float) -> str:
    factor = math.exp(float(line[0]) * 0.1 * x)
    return f"x{factor:.2f}"
