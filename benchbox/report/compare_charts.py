"""The compare report's charts: both sides on one set of axes, read from the compare document only.

Same machinery as the run report (report/plot.py: matplotlib, object API, inert inline SVG);
the baseline is always blue and the candidate always orange.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from benchbox import hdr
from benchbox.compare.model import Comparison, MetricDiff
from benchbox.report import plot
from benchbox.report.charts import Chart, downsample
from benchbox.result import LoadPhase, TimePoint

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BASE, CAND = "#0969da", "#bc4c00"
_TICKS = ("0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%")


def _ms(v: float) -> str:
    return f"{v / 1000:g} s" if v >= 1000 else f"{v:g} ms"


def _sides(c: Comparison) -> list[tuple[str, str, LoadPhase]]:
    return [
        (role, color, side.phase)
        for role, color, side in (("baseline", BASE, c.baseline), ("candidate", CAND, c.candidate))
        if side.phase is not None
    ]


def distributions(c: Comparison) -> Chart | None:
    """Both latency distributions by percentile (HdrHistogram's plot: one decade per nine)."""
    curves = []
    count = 0
    for role, color, phase in _sides(c):
        if phase.hdr:
            h = hdr.decode(phase.hdr)
            if h.get_total_count():
                curves.append((role, color, hdr.percentile_distribution(h)))
                count = max(count, h.get_total_count())
    if len(curves) < 2:
        return None
    nines = max(2, min(len(_TICKS) - 1, math.ceil(math.log10(max(count, 1)))))
    x_end = 10.0**nines

    def x_of(pct: float) -> float:
        return x_end if pct >= 100.0 else min(1.0 / (1.0 - pct / 100.0), x_end)

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        ax = fig.add_subplot()
        for role, color, pts in curves:
            ax.plot([x_of(p) for p, _ in pts], [ms for _, ms in pts], color=color, label=role, drawstyle="steps-post")
        ax.set_xscale("log")
        ax.set_xlim(1, x_end)
        ax.xaxis.set_major_locator(FixedLocator([10.0**i for i in range(nines + 1)]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _TICKS[round(math.log10(v))]))
        ax.set_xlabel("percentile")
        ax.set_ylim(bottom=0)
        ax.margins(y=0.15)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _ms(v)))
        ax.legend(loc="upper left")

    svg = plot.render("cmp-distribution", draw, label="Latency by percentile, both sides")
    return Chart(
        "Latency by percentile", "each side's whole load, from its HDR histogram; one step right is one more nine", svg
    )


def _seconds(phase: LoadPhase) -> list[TimePoint]:
    return [hdr.with_percentiles(t) if t.p99 is None else t for t in phase.timeseries]


def latency_over_time(c: Comparison) -> Chart | None:
    sides = [(role, color, downsample(_seconds(phase))) for role, color, phase in _sides(c) if phase.timeseries]
    if len(sides) < 2:
        return None

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import FuncFormatter

        ax = fig.add_subplot()
        for role, color, (points, size) in sides:
            xs = [p.t + 0.5 * size for p in points]
            for attr, style in (("p99", "-"), ("p50", (0, (3, 2)))):
                ys = [getattr(p, attr) if getattr(p, attr) is not None else math.nan for p in points]
                ax.plot(xs, ys, color=color, linestyle=style, label=f"{role} {attr.upper()}")
        ax.set_ylim(bottom=0)
        ax.margins(y=0.25)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _ms(v)))
        ax.set_xlabel("second of load (each side's own)")
        ax.legend(loc="upper left", ncols=2)

    svg = plot.render("cmp-latency", draw, label="Latency per second, both sides")
    note = "P50 (dashed) and P99 of each second, from that second's histogram"
    if c.interleave is not None:
        note += f"; the sides alternated in {c.interleave.window_s:g} s windows, joined here"
    return Chart("Latency per second", note, svg)


def throughput_over_time(c: Comparison) -> Chart | None:
    sides = [(role, color, downsample(list(phase.timeseries))) for role, color, phase in _sides(c) if phase.timeseries]
    if len(sides) < 2:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        for role, color, (points, size) in sides:
            xs = [p.t + 0.5 * size for p in points]
            ys = [p.requests / (p.duration_s or 1.0) if p.duration_s else p.requests for p in points]
            ax.plot(xs, ys, color=color, label=f"{role} completed/s")
            if any(p.errors for p in points):
                ax.plot(xs, [p.errors for p in points], color=color, linestyle=(0, (1, 1)), label=f"{role} errors/s")
        ax.set_ylim(bottom=0)
        ax.margins(y=0.25)
        ax.set_xlabel("second of load (each side's own)")
        ax.legend(loc="upper left", ncols=2)

    svg = plot.render("cmp-rps", draw, label="Requests per second, both sides")
    return Chart(
        "Requests per second",
        "completed requests in each second (a window's last, shorter second scaled to a rate)",
        svg,
    )


def differences(metrics: Sequence[MetricDiff], min_effect: float) -> Chart | None:
    """Each relative difference with its confidence interval; the shaded band is the minimum effect."""
    shown = [m for m in metrics if m.relative is not None and m.ci_low is not None and m.ci_high is not None]
    bounds = [
        (100 * m.relative, 100 * m.ci_low, 100 * m.ci_high)
        for m in shown
        if m.relative is not None and m.ci_low is not None and m.ci_high is not None
    ]
    if not shown:
        return None

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import FuncFormatter

        ax = fig.add_subplot()
        ys = list(range(len(shown)))[::-1]
        ax.axvspan(-100 * min_effect, 100 * min_effect, color="#d8dee4", alpha=0.5, linewidth=0)
        ax.axvline(0, color="#59636e", linewidth=0.8)
        for y, m, (rel, low, high) in zip(ys, shown, bounds):
            color = {"regression": "#cf222e", "improvement": "#1a7f37"}.get(m.verdict, "#59636e")
            ax.errorbar(
                [rel], [y], xerr=[[max(rel - low, 0.0)], [max(high - rel, 0.0)]], fmt="o", color=color, capsize=3
            )
        ax.set_yticks(ys, [m.name.upper() if m.name.startswith("p") else m.name for m in shown])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+g}%"))
        ax.set_xlabel("candidate vs baseline")
        ax.margins(x=0.2, y=0.15)

    svg = plot.render("cmp-differences", draw, label="Differences with confidence intervals")
    return Chart(
        "Differences",
        "relative difference and its confidence interval per metric; inside the grey "
        "band a change is too small to call",
        svg,
    )
