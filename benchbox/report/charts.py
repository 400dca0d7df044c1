"""The report's charts, drawn by matplotlib (see plot.py) from a Result's numbers.

Only numbers and benchbox's own labels reach a chart: phase names, request names and every other
string from the result stay in the HTML around it, where Jinja escapes them. Each builder returns
None when there is nothing to draw, so the template never shows an empty frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from benchbox.report import plot
from benchbox.result import TimePoint
from benchbox.units import format_ms

# A line of a 1-hour run has 3600 points; a chart column is ~550 px wide: beyond this the eye sees nothing more.
MAX_POINTS = 400
# A threshold line is drawn when it does not squash the data into the bottom of the chart.
SLO_HEADROOM = 2.0


@dataclass(frozen=True)
class Chart:
    """One figure of the page: the title and note are shown (escaped) around the inline SVG."""

    title: str
    note: str
    svg: Markup
    wide: bool = False


@dataclass(frozen=True)
class Threshold:
    """A latency gate as a chart shows it: at which percentile, how high, and whether it held."""

    label: str
    percentile: float
    ms: float
    passed: bool | None


def downsample(points: Sequence[TimePoint]) -> tuple[list[TimePoint], int]:
    """Buckets of seconds: counts averaged (still per second), latencies maxed (spikes survive)."""
    size = max(1, math.ceil(len(points) / MAX_POINTS))
    if size == 1:
        return list(points), 1
    out: list[TimePoint] = []
    for i in range(0, len(points), size):
        chunk = points[i : i + size]

        def peak(attr: str, chunk: Sequence[TimePoint] = chunk) -> float | None:
            values = [getattr(p, attr) for p in chunk if getattr(p, attr) is not None]
            return max(values) if values else None

        out.append(
            TimePoint(
                t=chunk[0].t,
                requests=round(sum(p.requests for p in chunk) / len(chunk)),
                errors=round(sum(p.errors for p in chunk) / len(chunk)),
                p50=peak("p50"),
                p95=peak("p95"),
                p99=peak("p99"),
                max=peak("max"),
            )
        )
    return out, size


def _time_label(t: float) -> str:
    t = round(t)
    if t < 60:
        return f"{t}s"
    return f"{t // 60}m{t % 60:02d}" if t % 60 else f"{t // 60}m"


def ms_label(v: float) -> str:
    """An axis tick: as short as the tick value is round (2.5 ms, 1 s), unlike a measured figure."""
    if v == 0:
        return "0"
    return f"{v / 1000:g} s" if v >= 1000 else f"{v:g} ms"


def _time_axis(ax: object, end: float) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_xlim(0, end)  # type: ignore[attr-defined]
    ax.xaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 3, 5, 6, 10], integer=True))  # type: ignore[attr-defined]
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _time_label(v)))  # type: ignore[attr-defined]
    ax.set_xlabel("time into the phase")  # type: ignore[attr-defined]


def finite(values: Sequence[float | None]) -> list[float]:
    """NaN for a missing or non-finite value (a result file may hold anything): a gap in the line."""
    return [float(v) if v is not None and math.isfinite(v) else math.nan for v in values]


def line(ax: object, xs: Sequence[float], ys: Sequence[float | None], color: str, label: str, **kw: object) -> None:
    """A line broken wherever a value is missing; a lone point between gaps is drawn as a dot."""
    values = finite(ys)
    ax.plot(xs, values, color=color, label=label, **kw)  # type: ignore[attr-defined]
    lone = [
        i
        for i, y in enumerate(values)
        if not math.isnan(y)
        and (i == 0 or math.isnan(values[i - 1]))
        and (i == len(values) - 1 or math.isnan(values[i + 1]))
    ]
    if lone:
        ax.plot([xs[i] for i in lone], [values[i] for i in lone], "o", color=color, markersize=3)  # type: ignore[attr-defined]


def _gate_color(passed: bool | None) -> str:
    return plot.COLORS["offered"] if passed is None else plot.COLORS["pass" if passed else "fail"]


def thresholds(ax: object, gates: Sequence[Threshold], top: float) -> list[str]:
    """Draw the gates that fit; return the words for those that would not (far above the data)."""
    off_chart = []
    for g in gates:
        if g.ms > top * SLO_HEADROOM:
            off_chart.append(f"{g.label} ≤ {format_ms(g.ms)}")
            continue
        color = _gate_color(g.passed)
        ax.axhline(g.ms, color=color, linestyle=(0, (5, 3)), linewidth=1.1, label=f"{g.label} gate")  # type: ignore[attr-defined]
    return off_chart


def above(off_chart: list[str]) -> str:
    return f"; gates above the chart: {', '.join(off_chart)}" if off_chart else ""


def latency_over_time(seconds: Sequence[TimePoint], gates: Sequence[Threshold], key: str) -> Chart | None:
    """P50/P95/P99 of each second: a stall or a slow climb shows here, not in the totals."""
    points, size = downsample(seconds)
    p99s = [v for v in finite([p.p99 for p in points]) if not math.isnan(v)]
    if not p99s:
        return None
    xs = [p.t + 0.5 * size for p in points]
    top = max(p99s)
    off: list[str] = []

    def draw(fig: object) -> None:
        from matplotlib.ticker import FuncFormatter

        ax = fig.add_subplot()  # type: ignore[attr-defined]
        for attr in ("p99", "p95", "p50"):
            line(ax, xs, [getattr(p, attr) for p in points], plot.COLORS[attr], attr.upper())
        off.extend(thresholds(ax, [g for g in gates if g.percentile in (50.0, 95.0, 99.0)], top))
        ax.margins(y=0.25)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: ms_label(v)))
        _time_axis(ax, seconds[-1].t + 1)
        ax.legend(loc="upper left", ncols=5)

    svg = plot.render(key, draw, label="Latency percentiles per second", margins=plot.PLAIN)
    note = "each second's percentiles, read from that second's own histogram"
    if size > 1:
        note += f"; each point is the highest over {size} s"
    return Chart("Latency percentiles per second", note + above(off), svg)


def throughput_over_time(seconds: Sequence[TimePoint], offered: tuple[float, float] | None, key: str) -> Chart | None:
    """Completed requests and errors per second, against the offered rate (a dashed line) when known."""
    if not seconds:
        return None
    points, size = downsample(seconds)
    xs = [p.t + 0.5 * size for p in points]
    end = seconds[-1].t + 1

    def draw(fig: object) -> None:
        ax = fig.add_subplot()  # type: ignore[attr-defined]
        done = finite([p.requests for p in points])
        ax.fill_between(xs, done, color=plot.COLORS["done"], alpha=0.12, linewidth=0)
        ax.plot(xs, done, color=plot.COLORS["done"], label="completed/s")
        if offered is not None:
            ax.plot(
                [0, end],
                list(offered),
                color=plot.COLORS["offered"],
                linestyle=(0, (4, 3)),
                linewidth=1.2,
                label="offered/s",
            )
        if any(p.errors for p in points):
            errors = finite([p.errors for p in points])
            ax.fill_between(xs, errors, color=plot.COLORS["errors"], alpha=0.25, linewidth=0)
            ax.plot(xs, errors, color=plot.COLORS["errors"], label="errors/s")
        ax.margins(y=0.25)
        ax.set_ylim(bottom=0)
        _time_axis(ax, end)
        ax.legend(loc="upper left", ncols=3)

    svg = plot.render(key, draw, label="Requests and errors per second", margins=plot.PLAIN)
    note = "requests completed in each second" + (f"; averaged over {size} s" if size > 1 else "")
    return Chart("Requests per second", note, svg)


_PERCENT_TICKS = ("0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%")


def latency_by_percentile(
    curves: Sequence[tuple[str, Sequence[tuple[float, float]]]], count: int, gates: Sequence[Threshold], key: str
) -> Chart | None:
    """HdrHistogram's percentile-distribution plot: x is 1/(1-percentile) on a log scale, so each
    decade is one more nine and the tail, where SLOs break, gets as much room as the median."""
    curves = [(label, pts) for label, pts in curves if pts]
    if not curves:
        return None
    # 100% has no finite x: it sits at the last nine the sample count can resolve.
    nines = max(2, min(len(_PERCENT_TICKS) - 1, math.ceil(math.log10(max(count, 1)))))
    x_end = 10.0**nines

    def x_of(pct: float) -> float:
        return x_end if pct >= 100.0 else min(1.0 / (1.0 - pct / 100.0), x_end)

    top = max(ms for _, pts in curves for _, ms in pts)
    off: list[str] = []

    def draw(fig: object) -> None:
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        ax = fig.add_subplot()  # type: ignore[attr-defined]
        for label, pts in curves:
            color = plot.COLORS["p99"] if label == "latency" else plot.COLORS["service"]
            ax.plot([x_of(p) for p, _ in pts], [ms for _, ms in pts], color=color, label=label, drawstyle="steps-post")
        for g in gates:
            if g.ms > top * SLO_HEADROOM:
                off.append(f"{g.label} ≤ {format_ms(g.ms)}")
                continue
            color = _gate_color(g.passed)
            ax.plot([x_of(g.percentile)], [g.ms], marker="v", markersize=7, color=color, linestyle="none")
            ax.annotate(
                g.label,
                (x_of(g.percentile), g.ms),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
                color=color,
            )
        ax.set_xscale("log")
        ax.set_xlim(1, x_end)
        ax.xaxis.set_major_locator(FixedLocator([10.0**i for i in range(nines + 1)]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _PERCENT_TICKS[round(math.log10(v))]))
        ax.set_xlabel("percentile")
        ax.margins(y=0.15)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: ms_label(v)))
        ax.legend(loc="upper left")

    svg = plot.render(key, draw, label="Latency by percentile", margins=plot.PLAIN)
    note = "whole phase, from its HDR histogram; each step right is one more nine"
    if any(label != "latency" for label, _ in curves):
        note += "; the gap between the lines is time spent queued"
    if gates:
        note += "; ▼ marks a latency gate"
    return Chart("Latency by percentile", note + above(off), svg)
