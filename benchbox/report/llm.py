"""The report's LLM part of a load phase: TTFT and inter-token latency by percentile, output
tokens per second over time, and the figures behind them, all read from the Result's LlmStats
(its stored HDR histograms and per-second counts), never from live objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchbox import hdr
from benchbox.report import charts, plot
from benchbox.result import LatencySummary, LlmStats, LoadPhase
from benchbox.units import format_ms

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_ROWS = (("P50", "p50"), ("P90", "p90"), ("P95", "p95"), ("P99", "p99"), ("max", "max"))


@dataclass(frozen=True)
class LlmRow:
    label: str
    ttft: str
    itl: str
    e2e: str
    tokens_per_s: str


@dataclass(frozen=True)
class LlmView:
    stats: LlmStats
    rows: tuple[LlmRow, ...]
    charts: tuple[charts.Chart, ...]


def llm_view(phase: LoadPhase, index: int = 0) -> LlmView | None:
    s = phase.llm
    if s is None:
        return None
    found = (token_latency_chart(s, f"p{index}-llm-latency"), tokens_over_time(s, f"p{index}-llm-tokens"))
    return LlmView(stats=s, rows=_rows(s), charts=tuple(c for c in found if c is not None))


def _rows(s: LlmStats) -> tuple[LlmRow, ...]:
    def ms(summary: LatencySummary | None, attr: str) -> str:
        return format_ms(getattr(summary, attr)) if summary is not None else "n/a"

    def tps(attr: str) -> str:
        return f"{getattr(s.tokens_per_s, attr):,.1f}" if s.tokens_per_s is not None else "n/a"

    return tuple(LlmRow(label, ms(s.ttft_ms, a), ms(s.itl_ms, a), ms(s.e2e_ms, a), tps(a)) for label, a in _ROWS)


def token_latency_chart(s: LlmStats, key: str) -> charts.Chart | None:
    """TTFT and inter-token latency on HdrHistogram's percentile axis (each step right is one more nine)."""
    curves = [
        (label, hdr.percentile_distribution(hdr.decode(text)), hdr.decode(text).get_total_count())
        for label, text in (("time to first token", s.ttft_hdr), ("inter-token latency", s.itl_hdr))
        if text
    ]
    if not curves:
        return None
    count = max(n for _, _, n in curves)
    nines = max(2, min(6, math.ceil(math.log10(max(count, 1)))))
    x_end = 10.0**nines

    def x_of(pct: float) -> float:
        return x_end if pct >= 100.0 else min(1.0 / (1.0 - pct / 100.0), x_end)

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

        ax = fig.add_subplot()
        for (label, pts, _), color in zip(curves, (plot.COLORS["p95"], plot.COLORS["p50"])):
            ax.plot([x_of(p) for p, _ in pts], [v for _, v in pts], color=color, label=label, drawstyle="steps-post")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1, x_end)
        ticks = ("0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%")
        ax.xaxis.set_major_locator(FixedLocator([10.0**i for i in range(nines + 1)]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: ticks[round(math.log10(v))]))
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())  # matplotlib's default minor labels are mathtext
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g} s" if v >= 1000 else f"{v:g} ms"))
        ax.set_xlabel("percentile")
        ax.legend(loc="upper left")

    svg = plot.render(key, draw, label="TTFT and inter-token latency by percentile")
    return charts.Chart(
        "TTFT and inter-token latency by percentile",
        "whole phase, from its HDR histograms (log scale: the two differ by an order of magnitude)",
        svg,
    )


def tokens_over_time(s: LlmStats, key: str) -> charts.Chart | None:
    """Output tokens completed in each second (and requests meeting every SLO, when goodput is defined)."""
    if not s.timeseries or not any(p.output_tokens for p in s.timeseries):
        return None
    xs = [p.t + 0.5 for p in s.timeseries]
    end = s.timeseries[-1].t + 1

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        ax = fig.add_subplot()
        tokens = [p.output_tokens for p in s.timeseries]
        ax.fill_between(xs, tokens, color=plot.COLORS["done"], alpha=0.12, linewidth=0)
        ax.plot(xs, tokens, color=plot.COLORS["done"], label="output tokens/s")
        ax.set_ylim(bottom=0)
        ax.margins(y=0.25)
        ax.set_xlim(0, end)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=7, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{round(v)}s"))
        ax.set_xlabel("time into the phase")
        ax.legend(loc="upper left")

    svg = plot.render(key, draw, label="Output tokens per second")
    note = "tokens of the answers completed in each second (from usage when sent, else counted from chunks)"
    return charts.Chart("Output tokens per second", note, svg)
