"""The server-metrics section of result.json: the target's own series on the load's timeline.

Optional in `benchbox.result/v1` (older results lack it). Each series is kept per phase (a load
phase or a saturation probe) as seconds since that phase's clock started, the same clock as the
phase's per-second latency points (`TimePoint.t` is the second [t, t+1) of it). This module
imports nothing from benchbox: result.py imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SeriesInfo:
    """One chosen series: where it comes from and what it means, in words."""

    key: str  # what gates and the report call it: `waiting`, `rss`, or a metric's own name
    metric: str  # the Prometheus metric it is read from
    words: str  # "requests waiting in the queue"
    unit: str  # requests, bytes, cores, ms, ratio (0..1), req/s, W, /s
    kind: str  # gauge, rate (a counter per second), quantile (of a histogram), per_request (a ratio of counters)
    preset: str  # which preset chose it (vllm, triton, process...), or `--server-metric`
    source: str  # the URL it was scraped from
    role: str = ""  # what it says about saturation: queue, running, cpu, memory, gpu, cache, preemptions...


@dataclass(frozen=True)
class Trend:
    """A least-squares slope over a phase, per second, with its 95 % interval (None: too few points)."""

    slope_per_s: float | None = None
    low: float | None = None
    high: float | None = None
    points: int = 0


@dataclass(frozen=True)
class PhaseSeries:
    """One series during one phase: values at `t` seconds since the phase's clock started."""

    phase: str
    key: str
    t: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    last: float | None = None
    trend: Trend = Trend()


@dataclass(frozen=True)
class ProbeValues:
    """Each series' peak during one saturation probe (by the probe's index in `saturation.steps`)."""

    index: int
    phase: str
    offered_rps: float | None
    users: int | None
    held: bool | None
    values: Mapping[str, float | None] = field(default_factory=dict)
    stage: str | None = None  # estimate, ramp, bisect, overload (the probe past the capacity found)


@dataclass(frozen=True)
class ServerMetricsSection:
    sources: tuple[str, ...]
    interval_s: float
    presets: tuple[str, ...] = ()
    series: tuple[SeriesInfo, ...] = ()
    phases: tuple[PhaseSeries, ...] = ()
    # Each load phase's P99 trend (ms per second), beside the server's series.
    p99_trends: Mapping[str, Trend] = field(default_factory=dict)
    probes: tuple[ProbeValues, ...] = ()
    statement: str | None = None  # what moved as the target stopped keeping up, in one sentence
    scrapes: int = 0
    failed_scrapes: int = 0
    missing: tuple[str, ...] = ()  # series asked for (--server-metric, a gate) that never appeared
    notes: tuple[str, ...] = ()

    def info(self, key: str) -> SeriesInfo | None:
        return next((s for s in self.series if s.key == key), None)

    def of_phase(self, phase: str) -> tuple[PhaseSeries, ...]:
        return tuple(p for p in self.phases if p.phase == phase)
