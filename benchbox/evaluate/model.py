"""The values the evaluation phase reads and writes.

`EvalPlan` is the slice of the plan this phase reads; `EvaluationSection` is its part of the
result document. JSON-safe and dacite-readable (tuples of dataclasses, str keys, no sets), and
stdlib-only, so result.py and the report load it without numpy or scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Task = Literal["classification", "regression"]
Op = Literal["<=", ">="]

BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
ECE_BINS = 15  # Guo et al. (2017), "On Calibration of Modern Neural Networks"
WORST_SHOWN = 10

CLASSIFICATION_METRICS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "log_loss", "ece")
REGRESSION_METRICS = ("mae", "rmse")
# Which way is better, for gates and for comparisons.
HIGHER_IS_BETTER = {
    "accuracy": True,
    "precision_macro": True,
    "recall_macro": True,
    "f1_macro": True,
    "log_loss": False,
    "ece": False,
    "mae": False,
    "rmse": False,
}
# Gaps across the slices of a column: the per-slice metrics whose resamples are cheap to redraw,
# and the two group-fairness figures for classifiers (largest gap in positive rate, in TPR).
GAP_METRICS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "mae", "rmse")
FAIRNESS_METRICS = ("demographic_parity", "equal_opportunity")
SMALL_SLICE = 30  # fewer rows: the slice's figure is shown with an exact bound, not as a confident one


@dataclass(frozen=True)
class EvalGate:
    """`slice:region=eu:accuracy>=0.85` as data; slice_column None means the whole set.
    `gap` (from `slice_gap:region:accuracy<=3%`): the largest difference across the column's slices."""

    text: str
    metric: str
    op: Op
    threshold: float
    slice_column: str | None = None
    slice_value: str | None = None
    gap: bool = False

    @property
    def name(self) -> str:
        if self.gap:
            return f"eval {self.metric} gap[{self.slice_column}]"
        where = f"[{self.slice_column}={self.slice_value}]" if self.slice_column is not None else ""
        return f"eval {self.metric}{where}"


@dataclass(frozen=True)
class EvalPlan:
    """Where the labelled set is and how to read it; checked before any request is sent."""

    path: str
    input_columns: tuple[str, ...] = ()  # () -> the `input` column holds the whole request body
    label: str = "label"
    slices: tuple[str, ...] = ()
    task: Literal["auto", "classification", "regression"] = "auto"
    gates: tuple[EvalGate, ...] = ()
    concurrency: int = 4
    classes: tuple[str, ...] = ()  # class names in index order, for answers that give only an index (KServe V2)
    positive: str | None = None  # the class demographic parity and equal opportunity count as the positive outcome

    def recorded(self) -> dict[str, Any]:
        """The evaluation plan as result.json records it (the plan's `evaluation` section)."""
        return {
            "file": self.path,
            "input": list(self.input_columns),
            "label": self.label,
            "slices": list(self.slices),
            "task": self.task,
            "classes": list(self.classes),
            "positive": self.positive,
            "gates": [g.text for g in self.gates],
        }


@dataclass(frozen=True)
class Metric:
    """A figure with its bootstrap interval (low/high None: too few rows to resample)."""

    name: str
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class SliceMetrics:
    """The same metrics on the rows where `column` == `value`."""

    column: str
    value: str
    rows: int
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class GroupFigure:
    """One slice's figure inside a gap: over `rows` rows (for a true positive rate, the rows whose
    expected class is the positive one). A small slice carries `bound`, a sentence with an exact bound."""

    value: str
    rows: int
    figure: float | None
    low: float | None = None
    high: float | None = None
    small: bool = False
    bound: str | None = None


@dataclass(frozen=True)
class SliceGap:
    """The largest difference of one figure between any two slices of a column (highest minus
    lowest), with a bootstrap interval from resampling each slice's rows on its own."""

    column: str
    metric: str
    value: float | None
    low: float | None = None
    high: float | None = None
    highest: str | None = None
    lowest: str | None = None
    groups: tuple[GroupFigure, ...] = ()
    positive: str | None = None  # demographic_parity / equal_opportunity: the positive class
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowOutcome:
    """One labelled row and what the endpoint answered: the evidence every figure is computed from.

    For classification `predicted` is the answered label and `probabilities` (when returned) are
    in `EvaluationSection.classes` order; for regression `value` is the answered number. `error`
    says why a row has no usable answer (it then counts as wrong, never as skipped)."""

    line: int
    input: str
    expected: str | float
    predicted: str | None = None
    value: float | None = None
    probabilities: tuple[float, ...] | None = None
    slices: tuple[tuple[str, str], ...] = ()
    error: str | None = None

    def number(self) -> float:
        """The answered number, for rows already known to have one (regression figures skip the rest)."""
        if self.value is None:
            raise ValueError(f"line {self.line} has no answered number")
        return self.value


@dataclass(frozen=True)
class EvaluationSection:
    """The evaluation on a held-out labelled set: figures overall and per slice, with intervals."""

    source: str
    task: Task
    rows: int
    answered: int
    requests: int
    metrics: tuple[Metric, ...]
    classes: tuple[str, ...] = ()
    per_class: tuple[ClassMetrics, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()  # rows: expected, columns: predicted, in `classes` order
    slices: tuple[SliceMetrics, ...] = ()
    worst: tuple[RowOutcome, ...] = ()
    outcomes: tuple[RowOutcome, ...] = ()
    resamples: int = BOOTSTRAP_RESAMPLES
    confidence: float = CONFIDENCE
    input_columns: tuple[str, ...] = ()
    label_column: str = "label"
    slice_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    gaps: tuple[SliceGap, ...] = ()

    def gap(self, column: str, metric: str) -> SliceGap | None:
        """The gap of a figure across a slice column; None when it was not computed."""
        return next((g for g in self.gaps if g.column == column and g.metric == metric), None)

    def metric(self, name: str, slice_column: str | None = None, slice_value: str | None = None) -> Metric | None:
        """A figure by name, overall or for one slice; None when it was not computed."""
        found: tuple[Metric, ...] = self.metrics
        if slice_column is not None:
            match = [s for s in self.slices if s.column == slice_column and s.value == slice_value]
            if not match:
                return None
            found = match[0].metrics
        return next((m for m in found if m.name == name), None)
