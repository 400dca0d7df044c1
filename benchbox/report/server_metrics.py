"""The target's own series in the report: per load phase, charts on the latency chart's time axis
and a table with each series' trend; in the saturation section, each series at every probe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchbox.report import charts, plot
from benchbox.result import LoadPhase, Result
from benchbox.servermetrics.judge import show, show_rate
from benchbox.servermetrics.model import PhaseSeries, SeriesInfo, ServerMetricsSection, Trend

# Charts per phase: the units that say most about saturation first; the rest are in the table.
MAX_CHARTS = 4
_UNIT_ORDER = ("requests", "ratio", "cores", "ms", "bytes")
_PALETTE = ("#0969da", "#bc4c00", "#8250df", "#1a7f37", "#cf222e", "#6e7781")


@dataclass(frozen=True)
class Row:
    key: str
    words: str
    preset: str
    min: str
    mean: str
    max: str
    trend: str


@dataclass(frozen=True)
class PhaseView:
    charts: tuple[charts.Chart, ...]
    rows: tuple[Row, ...]
    p99_trend: str | None


@dataclass(frozen=True)
class ServerView:
    section: ServerMetricsSection
    phases: dict[str, PhaseView]
    probe_keys: tuple[SeriesInfo, ...]


def view(result: Result) -> ServerView | None:
    section = result.server_metrics
    if section is None:
        return None
    phases = result.load.phases if result.load else ()
    views = {p.name: _phase_view(section, p, i) for i, p in enumerate(phases)}
    return ServerView(section, views, section.series)


def _phase_view(section: ServerMetricsSection, phase: LoadPhase, index: int) -> PhaseView:
    series = {s.key: s for s in section.of_phase(phase.name)}
    infos = [i for i in section.series if i.key in series]
    rows = tuple(
        Row(
            i.key,
            i.words,
            i.preset,
            show(series[i.key].min, i.unit),
            show(series[i.key].mean, i.unit),
            show(series[i.key].max, i.unit),
            _trend(series[i.key].trend, i.unit),
        )
        for i in infos
    )
    groups: dict[str, list[SeriesInfo]] = {}
    for i in infos:
        if series[i.key].values:
            groups.setdefault(i.unit, []).append(i)
    order = sorted(groups, key=lambda u: _UNIT_ORDER.index(u) if u in _UNIT_ORDER else len(_UNIT_ORDER))
    end = float(len(phase.timeseries)) or float(phase.duration_s)
    drawn = tuple(
        c
        for n, unit in enumerate(order[:MAX_CHARTS])
        if (c := _chart(unit, groups[unit], series, end, f"p{index}-server-{n}")) is not None
    )
    p99 = section.p99_trends.get(phase.name)
    return PhaseView(drawn, rows, _trend(p99, "ms") if p99 is not None else None)


def _trend(trend: Trend, unit: str) -> str:
    if trend.slope_per_s is None:
        return "n/a"
    if trend.low is None or trend.high is None:
        return show_rate(trend.slope_per_s, unit)
    return f"{show_rate(trend.slope_per_s, unit)} ({show_rate(trend.low, unit)} to {show_rate(trend.high, unit)})"


def _chart(
    unit: str, infos: Sequence[SeriesInfo], series: dict[str, PhaseSeries], end: float, key: str
) -> charts.Chart | None:
    title = ", ".join(i.words for i in infos)
    scale, label = _axis(unit)

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        for n, info in enumerate(infos):
            s = series[info.key]
            ax.plot(s.t, [v * scale for v in s.values], color=_PALETTE[n % len(_PALETTE)], label=info.key, marker=".")
        ax.margins(y=0.25)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(label)
        charts._time_axis(ax, end)
        ax.legend(loc="upper left", ncols=4)

    svg = plot.render(key, draw, label=f"Server: {title}", margins=plot.PLAIN)
    note = "scraped from the target's metrics, on the same time axis as the latency chart"
    return charts.Chart(f"Server: {title}", note, svg)


def _axis(unit: str) -> tuple[float, str]:
    if unit == "bytes":
        return 1e-6, "MB"
    if unit == "ratio":
        return 100.0, "%"
    return 1.0, unit
