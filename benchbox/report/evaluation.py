"""The evaluation section as the three renderers show it: figures with intervals, the confusion
matrix chart, per-slice rows, the worst answers. Built from the Result's section alone.

The chart's axes are class numbers, never class names: names come from the labelled set or the
target, and only benchbox's own words go into an SVG (the table beside it maps numbers to names,
escaped by Jinja).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchbox.evaluate.model import EvaluationSection, Metric
from benchbox.report import plot
from benchbox.report.charts import Chart

NAMES = {"accuracy": "accuracy", "precision_macro": "precision (macro)", "recall_macro": "recall (macro)",
         "f1_macro": "F1 (macro)", "log_loss": "log-loss", "ece": "calibration error (ECE)", "mae": "MAE",
         "rmse": "RMSE"}
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
    cells: tuple[str, ...]


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
        cells = tuple(f"{show(by_name.get(n))} ({interval(by_name.get(n))})" if by_name.get(n) and
                      by_name[n].low is not None else show(by_name.get(n)) for n in names)
        out.append(SliceRow(s.column, s.value, s.rows, cells))
    return tuple(out)


def confusion_chart(section: EvaluationSection, key: str = "confusion") -> Chart | None:
    """Counts, expected in rows and predicted in columns, shaded by each row's share (recall)."""
    matrix = section.confusion
    if not matrix or len(matrix) > 30:
        return None
    k = len(matrix)

    def draw(figure: object) -> None:
        import numpy as np

        counts = np.array(matrix, dtype=np.float64)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax = figure.add_subplot()  # type: ignore[attr-defined]
        ax.pcolormesh(np.arange(k + 1) - 0.5, np.arange(k + 1) - 0.5, share, cmap="Blues", vmin=0, vmax=1,
                      edgecolors="white", linewidth=1)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=9,
                        color="white" if share[i, j] > 0.6 else plot.INK)
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
    note = ("Rows: expected class, columns: predicted class, numbered as in the per-class table; "
            "shade: the share of the expected class predicted so (its recall on the diagonal).")
    if missing:
        note += f" {missing} rows with no usable answer are not in the matrix."
    return Chart("Confusion matrix", note, svg)


def markdown_lines(section: EvaluationSection, text: object, row: object) -> list[str]:
    """The section for summary.md; `text` escapes a string, `row` joins cells (markdown.py's own)."""
    esc, join = text, row
    out = [f"#### Evaluation: {esc(section.source)}", "",  # type: ignore[operator]
           f"{section.task}, {section.rows} rows, {section.answered} answered; "
           f"{round(100 * section.confidence)}% bootstrap intervals ({section.resamples} resamples)", ""]
    out += [join(["metric", "value", "interval"]), join(["---", "---:", "---:"])]  # type: ignore[operator]
    out += [join([r.name, r.value, r.interval]) for r in metric_rows(section)]  # type: ignore[operator]
    if section.slices:
        out += ["", join(["slice", "rows", *slice_header(section)]),  # type: ignore[operator]
                join(["---", "---:", *("---:" for _ in section.metrics)])]  # type: ignore[operator]
        out += [join([esc(f"{s.column}={s.value}"), str(s.rows), *s.cells]) for s in slice_rows(section)]  # type: ignore[operator]
    if section.worst:
        out += ["", f"Worst answers (of {len(section.worst)} shown in the report): " + "; ".join(
            f"line {o.line} expected {esc(o.expected)}, got {esc(o.predicted if o.value is None else o.value)}"  # type: ignore[operator]
            for o in section.worst[:3])]
    out += [f"- {esc(n)}" for n in section.notes]  # type: ignore[operator]
    return out + [""]


def junit_summary(section: EvaluationSection) -> str:
    """Every figure, overall and per slice, as one case's system-out."""
    lines = [f"{section.task} on {section.source}: {section.rows} rows, {section.answered} answered"]
    lines += [f"{r.name}: {r.value} ({r.interval})" for r in metric_rows(section)]
    for s in slice_rows(section):
        lines.append(f"{s.column}={s.value} ({s.rows} rows): " + ", ".join(
            f"{h} {c}" for h, c in zip(slice_header(section), s.cells)))
    return "\n".join(lines + list(section.notes))


def class_rows(section: EvaluationSection) -> Sequence[tuple[int, object]]:
    return [(i + 1, c) for i, c in enumerate(section.per_class)]
