"""Gaps across slices and the group-fairness figures, as the renderers show them.

Built from `EvaluationSection.gaps` alone. The chart numbers the slices (1, 2, ...) and the table
beside it names them: slice values come from the labelled set, and only benchbox's own words go
into an SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchbox.evaluate.model import EvaluationSection, SliceGap
from benchbox.report import plot
from benchbox.report.charts import Chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GAP_NAMES = {
    "accuracy": "accuracy",
    "precision_macro": "precision (macro)",
    "recall_macro": "recall (macro)",
    "f1_macro": "F1 (macro)",
    "mae": "MAE",
    "rmse": "RMSE",
    "demographic_parity": "demographic parity (positive rate)",
    "equal_opportunity": "equal opportunity (true positive rate)",
}
_ABSOLUTE = ("mae", "rmse")


@dataclass(frozen=True)
class GapRow:
    column: str
    metric: str
    gap: str
    interval: str
    ends: str  # "eu highest, us lowest"
    notes: tuple[str, ...]


def _show(metric: str, value: float | None, points: bool = True) -> str:
    if value is None:
        return "n/a"
    if metric in _ABSOLUTE:
        return f"{value:.4g}"
    return f"{100 * value:.2f} pt" if points else f"{100 * value:.1f}%"


def gap_rows(section: EvaluationSection) -> tuple[GapRow, ...]:
    rows = []
    for g in section.gaps:
        interval = "—" if g.low is None or g.high is None else f"{_show(g.metric, g.low)} – {_show(g.metric, g.high)}"
        ends = f"{g.highest} highest, {g.lowest} lowest" if g.highest is not None else ""
        name = GAP_NAMES.get(g.metric, g.metric) + (f", positive: {g.positive}" if g.positive else "")
        bounds = tuple(
            f"{f.value}: {f.bound}"
            for f in g.groups
            if f.bound and g.metric in ("accuracy", "demographic_parity", "equal_opportunity", "mae")
        )
        rows.append(GapRow(g.column, name, _show(g.metric, g.value), interval, ends, g.notes + bounds))
    return tuple(rows)


def lines(section: EvaluationSection) -> list[str]:
    """For the terminal: the headline gap of each column (accuracy or MAE) and the fairness figures."""
    out = []
    for g in section.gaps:
        if g.metric in ("accuracy", "mae", "demographic_parity", "equal_opportunity") and g.value is not None:
            ci = f" [{_show(g.metric, g.low)} – {_show(g.metric, g.high)}]" if g.low is not None else ""
            small = " (small slices: see the report)" if any(f.small for f in g.groups) else ""
            out.append(
                f"{GAP_NAMES[g.metric]} gap across {g.column}: {_show(g.metric, g.value)}{ci}, "
                f"{g.highest} highest, {g.lowest} lowest{small}"
            )
    return out


def markdown_lines(
    section: EvaluationSection, text: Callable[[object], str], row: Callable[[list[str]], str]
) -> list[str]:
    if not section.gaps:
        return []
    out = [
        "",
        f"Gaps across slices (highest minus lowest slice, {round(100 * section.confidence)}% bootstrap interval):",
        "",
        row(["column", "figure", "gap", "interval", "slices"]),
        row(["---", "---", "---:", "---:", "---"]),
    ]
    out += [row([text(r.column), text(r.metric), r.gap, r.interval, text(r.ends)]) for r in gap_rows(section)]
    notes = sorted({n for r in gap_rows(section) for n in r.notes})
    return out + [f"- {text(n)}" for n in notes]


def charts(section: EvaluationSection) -> list[Chart]:
    """Per slice column, each slice's headline figure with its interval: the gap is the spread."""
    shown = [g for g in section.gaps if g.metric in ("accuracy", "mae") and g.value is not None]
    return [c for c in (_chart(g, i) for i, g in enumerate(shown)) if c is not None]


def _chart(gap: SliceGap, index: int) -> Chart | None:
    groups = [f for f in gap.groups if f.figure is not None]
    figures = [f.figure for f in groups if f.figure is not None]  # the same slices, typed as numbers
    if len(groups) < 2 or len(groups) > 40:
        return None
    scale = 1.0 if gap.metric in _ABSOLUTE else 100.0

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        for y, (f, figure_value) in enumerate(zip(groups, figures), 1):
            x = scale * figure_value
            if f.low is not None and f.high is not None:
                ax.plot([scale * f.low, scale * f.high], [y, y], color=plot.COLORS["p50"], linewidth=2, alpha=0.5)
            ax.plot(
                [x],
                [y],
                "o",
                color=plot.COLORS["p50"],
                markersize=6,
                markerfacecolor="white" if f.small else plot.COLORS["p50"],
            )
        xs = [scale * v for v in figures]
        for value in (max(xs), min(xs)):
            ax.axvline(value, color=plot.COLORS["offered"], linestyle=(0, (4, 3)), linewidth=1)
        ax.set_yticks(range(1, len(groups) + 1), [str(i) for i in range(1, len(groups) + 1)])
        ax.set_ylim(len(groups) + 0.5, 0.5)
        ax.set_ylabel("slice")
        ax.set_xlabel("MAE" if gap.metric == "mae" else "accuracy (%)")

    svg = plot.render(f"gap{index}", draw, size=(6.0, 0.9 + 0.35 * len(groups)), label="slice gaps")
    names = "; ".join(f"{i} = {f.value} ({f.rows} rows)" for i, f in enumerate(groups, 1))
    note = (
        f"Each slice's {GAP_NAMES[gap.metric]} with its bootstrap interval; dashed lines: the highest and lowest, "
        f"whose distance is the gap ({_show(gap.metric, gap.value)}). Hollow: small slices. Slices: {names}."
    )
    return Chart(f"{GAP_NAMES[gap.metric]} by {gap.column}", note, svg)
