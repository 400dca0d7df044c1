"""From raw scrapes to series on a phase's timeline: gauges as read, counters as rates, histograms
as quantiles of what they counted between two scrapes, and a trend with its interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchbox.servermetrics.model import PhaseSeries, Trend
from benchbox.servermetrics.scrape import Raw, Snapshot


def phase_series(
    phase: str,
    key: str,
    kind: str,
    scale: float,
    quantile: float,
    snapshots: Sequence[Snapshot],
    origin: float,
    end: float,
) -> PhaseSeries:
    """The series `key` during the phase whose clock started at `origin` (perf_counter) and whose
    last second ended at `end`; `t` is seconds since `origin`. A rate or quantile point needs two
    scrapes and is placed at the later one; the scrape just before the phase is its baseline."""
    inside = [s for s in snapshots if origin <= s.at <= end + 0.5 and key in s.values]
    before = [s for s in snapshots if s.at < origin and key in s.values]
    t: list[float] = []
    values: list[float] = []
    if kind == "gauge":
        for s in inside:
            t.append(s.at - origin)
            values.append(float(s.values[key]) * scale)  # type: ignore[arg-type]
    else:
        chain = before[-1:] + inside
        for a, b in zip(chain, chain[1:]):
            value = _between(kind, a.values[key], b.values[key], b.at - a.at, quantile)
            if value is not None:
                t.append(b.at - origin)
                values.append(value * scale)
    return summarise(phase, key, t, values)


def _between(kind: str, a: Raw, b: Raw, seconds: float, quantile: float) -> float | None:
    """One point from two scrapes; None when nothing happened between them or a counter reset."""
    if kind == "rate":
        assert isinstance(a, float | int) and isinstance(b, float | int)
        return (b - a) / seconds if b >= a and seconds > 0 else None
    if kind in ("per_request", "mean"):
        assert isinstance(a, tuple) and isinstance(b, tuple)
        (num0, den0), (num1, den1) = a, b
        dn, dd = float(num1) - float(num0), float(den1) - float(den0)  # type: ignore[arg-type]
        return dn / dd if dd > 0 and dn >= 0 else None
    if kind == "quantile":
        assert isinstance(a, tuple) and isinstance(b, tuple)
        before = dict(a)  # type: ignore[arg-type]
        delta = [(float(le), float(c) - before.get(le, 0.0)) for le, c in b]  # type: ignore[misc]
        return bucket_quantile(quantile, delta)
    return None


def bucket_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's histogram_quantile over cumulative (upper bound, count) pairs: linear within
    the bucket the rank falls in; the +Inf bucket answers its lower bound."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower
            inside = count - below
            return lower + (le - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        lower, below = le, count
    return lower


def summarise(phase: str, key: str, t: Sequence[float], values: Sequence[float]) -> PhaseSeries:
    if not values:
        return PhaseSeries(phase=phase, key=key)
    return PhaseSeries(
        phase=phase,
        key=key,
        t=tuple(round(x, 3) for x in t),
        values=tuple(_round(v) for v in values),
        min=_round(min(values)),
        max=_round(max(values)),
        mean=_round(sum(values) / len(values)),
        last=_round(values[-1]),
        trend=trend(t, values),
    )


# Student's t, two-sided 95 %, by degrees of freedom (1..30); past 30 the normal's 1.96 is within 4 %.
# A table rather than scipy.stats: importing that takes seconds on a busy machine, at every run's end.
_T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def trend(t: Sequence[float], values: Sequence[float]) -> Trend:
    """Least-squares slope per second with its 95 % interval (slope +- t * standard error); None below 3 points."""
    n = len(values)
    if n < 3 or len(set(t)) < 2:
        return Trend(points=n)
    mt, mv = sum(t) / n, sum(values) / n
    sxx = sum((x - mt) ** 2 for x in t)
    slope = sum((x - mt) * (y - mv) for x, y in zip(t, values)) / sxx
    residual = sum((y - mv - slope * (x - mt)) ** 2 for x, y in zip(t, values))
    stderr = math.sqrt(residual / (n - 2) / sxx)
    half = (_T95[n - 3] if n - 2 <= len(_T95) else 1.96) * stderr
    return Trend(_round(slope), _round(slope - half), _round(slope + half), n)


def p99_trend(phase: Any) -> Trend:
    """A load phase's P99 (ms) second by second, as a trend per second (a LoadPhase)."""
    points = [(p.t + 0.5, p.p99) for p in phase.timeseries if p.p99 is not None]
    return trend([t for t, _ in points], [v for _, v in points])


def _round(value: float) -> float:
    """Six significant digits: a result file of soak-run series stays readable and small."""
    return float(f"{value:.6g}")
