"""Latency values of the result document that the histogram code builds: a percentile summary
and one second of a phase. They live below both `benchbox.hdr` (which fills them from a histogram)
and `benchbox.result` (which holds them), so hdr does not reach up into the whole document."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of one HDR histogram, in milliseconds."""

    count: int
    min: float
    mean: float
    stdev: float
    p50: float
    p90: float
    p95: float
    p99: float
    p99_9: float
    p99_99: float
    max: float


@dataclass(frozen=True)
class TimePoint:
    """One second of a load phase, bucketed by completion time."""

    t: int
    requests: int
    errors: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    hdr: str | None = None
    # Set when the point covers other than one whole second (a short window's tail, in compare).
    duration_s: float | None = None
