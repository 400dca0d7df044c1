"""Chart geometry for the HTML report: numbers in, coordinates and labels out.

A stop-gap until the report gets a plotting library: this module only computes where lines go;
the template draws the SVG, so every label passes through Jinja's autoescaping and no markup is
built by string concatenation here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchbox.result import TimePoint
from benchbox.units import format_ms

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 26, 14, 34
# A line of a 1-hour run has 3600 points; beyond this many the eye sees nothing more.
MAX_POINTS = 400


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Series:
    label: str
    css: str
    lines: tuple[str, ...]
    area: str | None = None


@dataclass(frozen=True)
class Chart:
    title: str
    note: str
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    x_label: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def nice_step(span: float, count: int = 4) -> float:
    """A 1/2/2.5/5 x 10^k step giving about `count` intervals over span, so tick labels are round."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / count
    exp = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5):
        if mult * exp >= raw * 0.999999:
            return mult * exp
    return 10 * exp


def nice_max(value: float, count: int = 4) -> float:
    """The top of a value axis: a whole number of nice steps at or above value."""
    step = nice_step(value, count)
    return round(step * max(1, math.ceil(value / step - 1e-9)), 10)


def _ticks(top: float, fmt: Callable[[float], str], step: float | None = None) -> list[tuple[float, str]]:
    step = step or nice_step(top)
    n = int(round(top / step))
    values = [round(step * i, 10) for i in range(n + 1)]
    return [(v, "0" if v == 0 else fmt(v)) for v in values if v <= top * 1.000001]


def _time_label(t: float) -> str:
    t = round(t)
    if t < 60:
        return f"{t}s"
    return f"{t // 60}m{t % 60:02d}" if t % 60 else f"{t // 60}m"


class _Frame:
    """Maps data coordinates onto the plot area of one chart."""

    def __init__(self, x_max: float, y_max: float) -> None:
        self.x_max, self.y_max = x_max or 1.0, y_max or 1.0

    def x(self, v: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * v / self.x_max

    def y(self, v: float) -> float:
        return (HEIGHT - BOTTOM) - (HEIGHT - BOTTOM - TOP) * min(v, self.y_max) / self.y_max

    def line(self, points: Sequence[tuple[float, float | None]]) -> tuple[str, ...]:
        """Polyline point lists, broken wherever a value is missing (a second with no answers)."""
        runs: list[list[str]] = [[]]
        for x, y in points:
            if y is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(f"{self.x(x):.1f},{self.y(y):.1f}")
        # A lone point (one second between gaps) is drawn as a zero-length line with round caps: a dot.
        return tuple(" ".join(r if len(r) > 1 else r * 2) for r in runs if r)

    def area(self, points: Sequence[tuple[float, float]]) -> str:
        base = f"{self.x(points[0][0]):.1f},{self.y(0):.1f}"
        body = " ".join(f"{self.x(x):.1f},{self.y(y):.1f}" for x, y in points)
        end = f"{self.x(points[-1][0]):.1f},{self.y(0):.1f}"
        return f"{base} {body} {end}"

    def x_ticks(self, ticks: Sequence[tuple[float, str]]) -> tuple[Tick, ...]:
        return tuple(Tick(round(self.x(v), 1), label) for v, label in ticks)

    def y_ticks(self, ticks: Sequence[tuple[float, str]]) -> tuple[Tick, ...]:
        return tuple(Tick(round(self.y(v), 1), label) for v, label in ticks)


def _downsample(points: Sequence[TimePoint]) -> tuple[list[TimePoint], int]:
    """Buckets of seconds: counts averaged (still per second), latencies maxed (spikes survive)."""
    size = max(1, math.ceil(len(points) / MAX_POINTS))
    if size == 1:
        return list(points), 1
    out: list[TimePoint] = []
    for i in range(0, len(points), size):
        chunk = points[i:i + size]

        def peak(attr: str) -> float | None:
            values = [getattr(p, attr) for p in chunk if getattr(p, attr) is not None]
            return max(values) if values else None

        out.append(TimePoint(
            t=chunk[0].t, requests=round(sum(p.requests for p in chunk) / len(chunk)),
            errors=round(sum(p.errors for p in chunk) / len(chunk)),
            p50=peak("p50"), p95=peak("p95"), p99=peak("p99"), max=peak("max"),
        ))
    return out, size


def _x_axis(duration: float) -> tuple[float, list[tuple[float, str]]]:
    """Time runs to the phase's real end (a padded axis looks like the target went quiet)."""
    step = max(1.0, nice_step(duration, 6))  # seconds are whole: no 0.5 s ticks
    if step >= 60:  # minutes read better than 100 s or 250 s
        step = 60 * nice_step(duration / 60, 6)
    elif step > 10:
        step = min((s for s in (15, 20, 30, 60) if s >= step), default=60)
    return duration, [(v, _time_label(v)) for v, _ in _ticks(duration, str, step)]


def latency_over_time(timeseries: Sequence[TimePoint]) -> Chart | None:
    """P50/P95/P99 of each second: a stall or a slow climb shows here, not in the totals."""
    if not any(p.p99 is not None for p in timeseries):
        return None
    points, size = _downsample(timeseries)
    x_top, x_ticks = _x_axis(timeseries[-1].t + 1)
    y_top = nice_max(max(p.p99 for p in points if p.p99 is not None))
    frame = _Frame(x_top, y_top)
    series = tuple(
        Series(label, css, frame.line([(p.t + 0.5 * size, getattr(p, attr)) for p in points]))
        for label, css, attr in (("P99", "s-p99", "p99"), ("P95", "s-p95", "p95"), ("P50", "s-p50", "p50"))
    )
    note = "each second's percentiles from its own histogram"
    if size > 1:
        note += f"; each point is the highest over {size} s"
    return Chart("Latency percentiles per second", note, series, frame.x_ticks(x_ticks),
                 frame.y_ticks(_ticks(y_top, format_ms)), "time into the phase")


def throughput_over_time(timeseries: Sequence[TimePoint]) -> Chart | None:
    """Completed requests and errors per second: dips and error bursts line up with latency."""
    if not timeseries:
        return None
    points, size = _downsample(timeseries)
    x_top, x_ticks = _x_axis(timeseries[-1].t + 1)
    y_top = nice_max(max(max(p.requests for p in points), 4))  # at least 1 req/s per tick
    frame = _Frame(x_top, y_top)
    done = [(p.t + 0.5 * size, float(p.requests)) for p in points]
    errors = [(p.t + 0.5 * size, float(p.errors)) for p in points]
    series = [Series("completed/s", "s-rps", frame.line(done), frame.area(done))]
    if any(p.errors for p in points):
        series.append(Series("errors/s", "s-err", frame.line(errors), frame.area(errors)))
    note = "requests completed in each second" + (f"; averaged over {size} s" if size > 1 else "")
    return Chart("Requests per second", note, tuple(series), frame.x_ticks(x_ticks),
                 frame.y_ticks(_ticks(y_top, lambda v: f"{v:g}")), "time into the phase")


_PERCENTILE_LABELS = ("0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%")


def latency_by_percentile(distribution: Sequence[tuple[float, float]], count: int) -> Chart | None:
    """HdrHistogram's classic plot: the x axis stretches the tail, where SLOs break."""
    if not distribution:
        return None
    # x = number of nines; 100% has none, so it sits at the end the sample count can resolve.
    nines = max(2, min(len(_PERCENTILE_LABELS) - 1, math.ceil(math.log10(max(count, 1)))))
    pts: list[tuple[float, float]] = []
    for pct, ms in distribution:
        x = nines if pct >= 100.0 else min(-math.log10(1.0 - pct / 100.0), nines)
        pts.append((x, ms))
    y_top = nice_max(max(ms for _, ms in pts))
    frame = _Frame(nines, y_top)
    x_ticks = [(float(i), _PERCENTILE_LABELS[i]) for i in range(nines + 1)]
    series = (Series("latency", "s-p99", frame.line(pts)),)
    return Chart("Latency by percentile", "whole phase, read from its HDR histogram", series,
                 frame.x_ticks(x_ticks), frame.y_ticks(_ticks(y_top, format_ms)), "percentile")
