"""The evaluation section as the three renderers show it: figures with intervals, the confusion
matrix chart, per-slice rows, the worst answers. Built from the Result's section alone.

The chart's axes are class numbers, never class names: names come from the labelled set or the
target, and only benchbox's own words go into an SVG (the table beside it maps numbers to names,
escaped by Jinja).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchbox.evaluate.model import ECE_BINS, EvaluationSection, Metric
from benchbox.report import plot
from benchbox.report.charts import Chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NAMES = {
    "accuracy": "accuracy",
    "precision_macro": "precision (macro)",
    "recall_macro": "recall (macro)",
    "f1_macro": "F1 (macro)",
    "log_loss": "log-loss",
    "ece": "calibration error (ECE)",
    "mae": "MAE",
    "rmse": "RMSE",
}
_PROPORTIONS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "ece")


@dataclass(frozen=True)
class MetricRow:
    name: str
    value: str
    interval: str


@dataclass(frozen=True)
class SliceRow:
    column: str
    value: str
    rows: int
    cells: tuple[tuple[str, str], ...]  # (value, interval) per metric


def show(metric: Metric | None) -> str:
    if metric is None or metric.value is None:
        return "n/a"
    return f"{100 * metric.value:.2f}%" if metric.name in _PROPORTIONS else f"{metric.value:.4g}"


def interval(metric: Metric | None) -> str:
    if metric is None or metric.low is None or metric.high is None:
        return "—"
    low, high = (Metric(metric.name, metric.low), Metric(metric.name, metric.high))
    return f"{show(low)} – {show(high)}"


def metric_rows(section: EvaluationSection) -> tuple[MetricRow, ...]:
    return tuple(MetricRow(NAMES.get(m.name, m.name), show(m), interval(m)) for m in section.metrics)


def slice_header(section: EvaluationSection) -> tuple[str, ...]:
    return tuple(NAMES.get(m.name, m.name) for m in section.metrics)


def slice_rows(section: EvaluationSection) -> tuple[SliceRow, ...]:
    names = [m.name for m in section.metrics]
    out = []
    for s in section.slices:
        by_name = {m.name: m for m in s.metrics}
        cells = tuple((show(by_name.get(n)), interval(by_name.get(n))) for n in names)
        out.append(SliceRow(s.column, s.value, s.rows, cells))
    return tuple(out)


def confusion_chart(section: EvaluationSection, key: str = "confusion") -> Chart | None:
    """Counts, expected in rows and predicted in columns, shaded by each row's share (recall)."""
    matrix = section.confusion
    if not matrix or len(matrix) > 30:
        return None
    k = len(matrix)

    def draw(figure: Figure) -> None:
        import numpy as np

        counts = np.array(matrix, dtype=np.float64)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax = figure.add_subplot()
        ax.pcolormesh(
            np.arange(k + 1) - 0.5,
            np.arange(k + 1) - 0.5,
            share,
            cmap="Blues",
            vmin=0,
            vmax=1,
            edgecolors="white",
            linewidth=1,
        )
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    f"{int(counts[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if share[i, j] > 0.6 else plot.INK,
                )
        ax.set_xticks(range(k), [str(i + 1) for i in range(k)])
        ax.set_yticks(range(k), [str(i + 1) for i in range(k)])
        ax.set_xlim(-0.5, k - 0.5)
        ax.set_ylim(k - 0.5, -0.5)  # expected class 1 at the top, as a confusion matrix is read
        ax.set_xlabel("predicted class")
        ax.set_ylabel("expected class")
        ax.grid(False)
        ax.set_aspect("equal")

    size = (4.2, 3.4) if k <= 6 else (6.0, 5.0)
    svg = plot.render(key, draw, size=size, label="confusion matrix")
    missing = section.rows - sum(sum(r) for r in matrix)
    note = (
        "Rows: expected class, columns: predicted class, numbered as in the per-class table; "
        "shade: the share of the expected class predicted so (its recall on the diagonal)."
    )
    if missing:
        note += f" {missing} rows with no usable answer are not in the matrix."
    return Chart("Confusion matrix", note, svg)


def calibration_chart(section: EvaluationSection, key: str = "calibration") -> Chart | None:
    """Reliability diagram: in each confidence bin, how often the top answer was right."""
    rows = [o for o in section.outcomes if o.probabilities and o.error is None]
    if section.task != "classification" or len(rows) < 2:
        return None
    index = {c: i for i, c in enumerate(section.classes)}

    def draw(figure: Figure) -> None:
        import numpy as np

        from benchbox.evaluate.metrics import ece_bins

        proba = np.array([o.probabilities for o in rows])
        y = np.array([index[str(o.expected)] for o in rows])
        conf = proba.max(axis=1)
        right = (proba.argmax(axis=1) == y).astype(float)
        bins = ece_bins(conf)
        counts = np.bincount(bins, minlength=ECE_BINS)
        shown = counts > 0
        acc = np.bincount(bins, weights=right, minlength=ECE_BINS)[shown] / counts[shown]
        mean_conf = np.bincount(bins, weights=conf, minlength=ECE_BINS)[shown] / counts[shown]
        ax = figure.add_subplot()
        ax.plot(
            [0, 1],
            [0, 1],
            color=plot.COLORS["offered"],
            linestyle=(0, (4, 3)),
            linewidth=1,
            label="perfectly calibrated",
        )
        ax.scatter(
            mean_conf,
            acc,
            s=12 + 120 * counts[shown] / counts.max(),
            color=plot.COLORS["p50"],
            alpha=0.85,
            label="bins (size: rows)",
            zorder=3,
        )
        ax.plot(mean_conf, acc, color=plot.COLORS["p50"], linewidth=1)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("confidence (top probability)")
        ax.set_ylabel("share right")
        ax.legend(loc="upper left")

    svg = plot.render(key, draw, label="reliability diagram")
    ece = next((m for m in section.metrics if m.name == "ece"), None)
    note = (
        f"{len(rows)} rows in {ECE_BINS} equal-width confidence bins; points below the diagonal are overconfident. "
        f"ECE {show(ece)}: the rows-weighted gap. ECE is biased upward on small sets, so its bootstrap "
        "interval may sit above the figure itself."
    )
    return Chart("Calibration", note, svg)


def headline(section: EvaluationSection) -> str:
    """One line for the terminal: the first figures, with intervals, and on how many rows."""
    shown = [
        f"{NAMES.get(m.name, m.name)} {show(m)}" + (f" [{interval(m)}]" if m.low is not None else "")
        for m in section.metrics[:2]
        if m.value is not None
    ]
    missing = f", {section.rows - section.answered} unanswered" if section.answered < section.rows else ""
    return f"{', '.join(shown) or 'no figure'} on {section.rows} rows{missing}"


def markdown_lines(
    section: EvaluationSection, text: Callable[[object], str], row: Callable[[list[str]], str]
) -> list[str]:
    """The section for summary.md; `text` escapes a string and `row` joins cells (markdown.py's own)."""
    out = [
        f"#### Evaluation: {text(section.source)}",
        "",
        f"{section.task}, {section.rows} rows, {section.answered} answered; "
        f"{round(100 * section.confidence)}% bootstrap intervals ({section.resamples} resamples)",
        "",
    ]
    out += [row(["metric", "value", "interval"]), row(["---", "---:", "---:"])]
    out += [row([r.name, r.value, r.interval]) for r in metric_rows(section)]
    if section.slices:
        out += [
            "",
            row(["slice", "rows", *slice_header(section)]),
            row(["---", "---:", *("---:" for _ in section.metrics)]),
        ]
        out += [
            row([text(f"{s.column}={s.value}"), str(s.rows), *(f"{v} ({i})" for v, i in s.cells)])
            for s in slice_rows(section)
        ]
        from benchbox.report.gaps import markdown_lines as gap_lines

        out += gap_lines(section, text, row)
    if section.worst:
        out += [
            "",
            f"Worst answers (of {len(section.worst)} shown in the report): "
            + "; ".join(
                f"line {o.line} expected {text(o.expected)}, got {text(o.predicted if o.value is None else o.value)}"
                for o in section.worst[:3]
            ),
        ]
    out += [f"- {text(n)}" for n in section.notes]
    return out + [""]


def junit_summary(section: EvaluationSection) -> str:
    """Every figure, overall and per slice, as one case's system-out."""
    lines = [f"{section.task} on {section.source}: {section.rows} rows, {section.answered} answered"]
    lines += [f"{r.name}: {r.value} ({r.interval})" for r in metric_rows(section)]
    for s in slice_rows(section):
        lines.append(
            f"{s.column}={s.value} ({s.rows} rows): "
            + ", ".join(f"{h} {v} ({i})" for h, (v, i) in zip(slice_header(section), s.cells))
        )
    from benchbox.report.gaps import gap_rows

    lines += [f"gap of {g.metric} across {g.column}: {g.gap} ({g.interval}), {g.ends}" for g in gap_rows(section)]
    return "\n".join(lines + list(section.notes))


def class_rows(section: EvaluationSection) -> Sequence[tuple[int, object]]:
    return [(i + 1, c) for i, c in enumerate(section.per_class)]


@dataclass(frozen=True)
class VersusRow:
    name: str
    baseline: str
    candidate: str
    diff: str
    interval: str
    better: str


def versus_rows(found: dict[str, object]) -> tuple[VersusRow, ...]:
    """compare.json's `sections["eval"]` (evaluate.versus, as JSON) as display strings: a
    difference in points for proportions, and which side the interval says is better."""
    rows = []
    given = found.get("metrics")
    for m in given if isinstance(given, (list, tuple)) else ():
        name = str(m["name"])

        def shown(value: object, signed: bool = False, name: str = name) -> str:
            if not isinstance(value, (int, float)):
                return "n/a"
            if name in _PROPORTIONS:
                return f"{100 * value:+.2f} pt" if signed else f"{100 * value:.2f}%"
            return f"{value:+.4g}" if signed else f"{value:.4g}"

        ci = "—" if m["low"] is None or m["high"] is None else f"{shown(m['low'], True)} … {shown(m['high'], True)}"
        better = {"baseline": "baseline", "candidate": "candidate"}.get(str(m["better"]), "no significant difference")
        rows.append(
            VersusRow(
                NAMES.get(name, name), shown(m["baseline"]), shown(m["candidate"]), shown(m["diff"], True), ci, better
            )
        )
    return tuple(rows)


def versus_headline(found: dict[str, object]) -> str:
    """One line for a terminal or a headline list: the first metric (accuracy, or MAE) and who won."""
    rows = versus_rows(found)
    if not rows:
        return f"{found.get('rows')} labelled rows, no metric compared"
    r = rows[0]
    return (
        f"{r.name} {r.baseline} -> {r.candidate} ({r.diff}, [{r.interval}]), better: {r.better}; "
        f"{found.get('baseline_only_right')} rows only the baseline got right, "
        f"{found.get('candidate_only_right')} only the candidate"
    )
