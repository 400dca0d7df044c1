"""From rows and answers to the section's figures: class names, encodings, slices, worst rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from benchbox.evaluate import metrics
from benchbox.evaluate.answers import Answer
from benchbox.evaluate.bootstrap import slice_seed
from benchbox.evaluate.data import EvalRow
from benchbox.evaluate.fairness import classification_gaps, regression_gaps
from benchbox.evaluate.model import ClassMetrics, Metric, RowOutcome, SliceGap, SliceMetrics

INPUT_SHOWN = 500  # characters of an input kept per row in the result


@dataclass(frozen=True)
class Classes:
    """Class names in probability order (the first `width`), then labels seen only elsewhere."""

    names: tuple[str, ...]
    width: int
    by_index: dict[int, str]


@dataclass(frozen=True)
class Core:
    metrics: tuple[Metric, ...]
    classes: tuple[str, ...] = ()
    per_class: tuple[ClassMetrics, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()
    slices: tuple[SliceMetrics, ...] = ()
    worst: tuple[RowOutcome, ...] = ()
    gaps: tuple[SliceGap, ...] = ()


def class_order(
    rows: Sequence[EvalRow], answers: Sequence[Answer], notes: list[str], given: Sequence[str] = ()
) -> Classes:
    """Name the class indices and probability columns: from --eval-classes when given, else from
    the answers themselves (an answer that gives its label with a class index, or with
    probabilities whose argmax it is, names that column)."""
    widths = Counter(len(a.probabilities) for a in answers if a.probabilities)
    width = widths.most_common(1)[0][0] if widths else 0
    by_index: dict[int, str] = dict(enumerate(given))
    if given and width and width != len(given):
        notes.append(
            f"the answers carry {width} probabilities but --eval-classes names {len(given)} classes: "
            "log-loss and calibration leave the probabilities out"
        )
        width = 0
    for a in answers:
        if a.label is None:
            continue
        i = a.index if a.index is not None else (int(np.argmax(a.probabilities)) if a.probabilities else None)
        if i is not None:
            by_index.setdefault(i, a.label)
    labels = {str(r.label) for r in rows}
    unnamed = [i for i in range(width) if i not in by_index]
    if unnamed and all(label.lstrip("-").isdigit() for label in labels):
        by_index.update({i: str(i) for i in unnamed})  # the set names classes by index too
        unnamed = []
    if unnamed:
        notes.append(
            f"probability columns {', '.join(map(str, unnamed))} were never named by a predicted label, "
            "so log-loss and calibration leave the probabilities out (--eval-classes names them)"
        )
        width = 0
    if not given and any(a.label is None and a.index is not None and a.index not in by_index for a in answers):
        notes.append(
            "the answers name classes by index only and the set's labels are names: give the names in "
            "index order with --eval-classes, or label the set by index"
        )
    head = [by_index[i] for i in range(width)]
    answered = [a for a in answers if a.error is None]
    seen = (
        labels
        | {a.label for a in answered if a.label}
        | {by_index.get(a.index, str(a.index)) for a in answered if not a.label and a.index is not None}
    )
    seen |= {by_index[i] for i in by_index}
    return Classes(tuple(head + sorted(seen - set(head))), width, by_index)


def outcome(row: EvalRow, answer: Answer, classes: Classes | None) -> RowOutcome:
    text = row.input_text()
    base = RowOutcome(
        line=row.line,
        input=text if len(text) <= INPUT_SHOWN else text[:INPUT_SHOWN] + "…",
        expected=row.label,
        slices=row.slices,
        error=answer.error,
    )
    if answer.error:
        return base
    if classes is None:
        return replace(base, value=answer.value)
    proba = None
    if classes.width and answer.probabilities and len(answer.probabilities) == classes.width:
        proba = answer.probabilities + (0.0,) * (len(classes.names) - classes.width)
    label = answer.label
    if label is None and answer.index is not None:
        label = classes.by_index.get(answer.index, str(answer.index))
    if label is None and proba is not None:
        label = classes.names[int(np.argmax(proba))]
    return replace(base, predicted=label, probabilities=proba)


def classification_section(
    outcomes: Sequence[RowOutcome],
    classes: Classes,
    slice_columns: Sequence[str],
    seed: int,
    resamples: int,
    confidence: float,
    notes: list[str],
    positive: str | None = None,
) -> Core:
    data = encode(outcomes, classes.names)
    found = metrics.classification(data, confidence, resamples, seed)
    if data.proba is not None and not np.isfinite(data.proba).all() and any(o.error is None for o in outcomes):
        with_p = int(np.isfinite(data.proba).all(axis=1).sum())
        notes.append(f"log-loss and calibration over the {with_p} rows that returned probabilities")
    if data.proba is None and not any(o.error is None for o in outcomes):
        pass
    elif data.proba is None and not any("probabilit" in n for n in notes):
        notes.append("the endpoint returned no probabilities: no log-loss or calibration")
    groups = slices_of(outcomes, slice_columns)
    slices = tuple(
        SliceMetrics(
            column,
            value,
            len(pos),
            metrics.classification(data.take(np.array(pos)), confidence, resamples, slice_seed(seed, column, value)),
        )
        for column, value, pos in groups
    )
    for where, n, figures in [("the whole set", len(outcomes), found)] + [
        (f"{x.column}={x.value}", x.rows, x.metrics) for x in slices
    ]:
        accuracy = figures[0].value
        if n >= 3 and accuracy in (0.0, 1.0):
            # Every resample is then all right (or all wrong): the interval collapses to a point.
            bound = f"above {100 * (1 - 3 / n):.1f}%" if accuracy == 1.0 else f"below {100 * 3 / n:.1f}%"
            notes.append(
                f"{where}: all {n} rows {'right' if accuracy == 1.0 else 'wrong'}, so the bootstrap interval "
                f"is a single point; by the rule of three the true accuracy is {bound} (95% confidence)"
            )
    gaps = classification_gaps(data, classes.names, groups, slices, positive, seed, resamples, confidence, notes)
    return Core(
        metrics=found,
        classes=classes.names,
        per_class=metrics.per_class(data, classes.names),
        confusion=metrics.confusion(data),
        slices=slices,
        worst=_worst_classified(outcomes, classes.names),
        gaps=gaps,
    )


def encode(outcomes: Sequence[RowOutcome], names: Sequence[str]) -> metrics.Labelled:
    """Class indices (no answer: K) and the probability matrix (NaN rows: none returned)."""
    index = {name: i for i, name in enumerate(names)}
    k = len(names)
    y_true = np.array([index[str(o.expected)] for o in outcomes], dtype=np.int64)
    y_pred = np.array([index.get(o.predicted, k) if o.predicted is not None else k for o in outcomes], dtype=np.int64)
    proba = None
    if any(o.probabilities for o in outcomes):
        proba = np.full((len(outcomes), k), np.nan)
        for i, o in enumerate(outcomes):
            if o.probabilities:
                proba[i] = o.probabilities
    return metrics.Labelled(y_true, y_pred, k, proba)


def _worst_classified(outcomes: Sequence[RowOutcome], names: Sequence[str]) -> tuple[RowOutcome, ...]:
    """Wrong answers, most confidently wrong first (lowest probability given to the true class)."""
    index = {name: i for i, name in enumerate(names)}
    wrong = [o for o in outcomes if o.error is None and o.predicted != str(o.expected)]

    def p_true(o: RowOutcome) -> float:
        return o.probabilities[index[str(o.expected)]] if o.probabilities else 1.0

    return tuple(sorted(wrong, key=lambda o: (p_true(o), o.line)))


def regression_section(
    outcomes: Sequence[RowOutcome],
    slice_columns: Sequence[str],
    seed: int,
    resamples: int,
    confidence: float,
    notes: list[str] | None = None,
) -> Core:
    answered = [o for o in outcomes if o.value is not None]
    y_true = np.array([float(o.expected) for o in answered])
    y_pred = np.array([o.number() for o in answered])
    slices = []
    groups = slices_of(outcomes, slice_columns)
    for column, value, pos in groups:
        rows = [outcomes[i] for i in pos if outcomes[i].value is not None]
        slices.append(
            SliceMetrics(
                column,
                value,
                len(pos),
                metrics.regression(
                    np.array([float(o.expected) for o in rows]),
                    np.array([o.number() for o in rows]),
                    confidence,
                    resamples,
                    slice_seed(seed, column, value),
                ),
            )
        )
    worst = sorted(answered, key=lambda o: (-abs(o.number() - float(o.expected)), o.line))
    gaps = regression_gaps(outcomes, groups, slices, seed, resamples, confidence, [] if notes is None else notes)
    return Core(
        metrics=metrics.regression(y_true, y_pred, confidence, resamples, seed),
        slices=tuple(slices),
        worst=tuple(worst),
        gaps=gaps,
    )


def slices_of(outcomes: Sequence[RowOutcome], columns: Sequence[str]) -> list[tuple[str, str, list[int]]]:
    """(column, value, row positions) for every slice value, in column order then by value."""
    out = []
    for column in columns:
        groups: dict[str, list[int]] = {}
        for i, o in enumerate(outcomes):
            groups.setdefault(dict(o.slices)[column], []).append(i)
        out += [(column, value, groups[value]) for value in sorted(groups)]
    return out
