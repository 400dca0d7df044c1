"""Gaps across slices and the group-fairness figures, each with a bootstrap interval.

A gap is the highest minus the lowest figure among the slices of one column (a model at 99 % in
one region and 91 % in another has an 8-point accuracy gap, whatever each slice's own gate says).
Demographic parity difference is that gap for the share of positive predictions, equal
opportunity difference for the true positive rate: the same definitions as fairlearn's
`demographic_parity_difference` and `equal_opportunity_difference` (method="between_groups").

Why not fairlearn: the figures are a max minus a min of per-group means, but their intervals need
every resample's figure per group. fairlearn computes a figure through a pandas MetricFrame per
call (a thousand calls per interval) and would add pandas and narwhals to the dependencies; here
the resamples reuse `metrics.confusion_statistics` (one numpy pass per slice), point estimates come
from scikit-learn like every other figure, and small slices get scipy's exact binomial bounds
(scipy comes with scikit-learn).

Each slice is resampled on its own (a stratified bootstrap, with the slice's own seed, so a gap's
interval is drawn from the same resamples as the slice's own interval); a resample's gap is the
max minus the min over the slices of that resample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchbox.evaluate import bootstrap, metrics
from benchbox.evaluate.bootstrap import slice_seed
from benchbox.evaluate.model import SMALL_SLICE, GroupFigure, RowOutcome, SliceGap, SliceMetrics

_POSITIVE_WORDS = ("1", "true", "yes", "positive", "pos")
_PROPORTIONS = ("accuracy", "demographic_parity", "equal_opportunity")
_WHAT = {"accuracy": "accuracy", "demographic_parity": "positive rate", "equal_opportunity": "true positive rate"}

Group = tuple[str, np.ndarray]  # slice value, row positions


def classification_gaps(
    data: metrics.Labelled,
    names: Sequence[str],
    groups: Sequence[tuple[str, str, list[int]]],
    slices: Sequence[SliceMetrics],
    positive: str | None,
    seed: int,
    resamples: int,
    confidence: float,
    notes: list[str],
) -> tuple[SliceGap, ...]:
    """Per slice column: the gap of accuracy and macro P/R/F1, and (with a positive class) the
    demographic parity and equal opportunity differences."""
    point = {(s.column, s.value, m.name): m.value for s in slices for m in s.metrics}
    chosen = choose_positive(data, names, positive, notes) if groups else None
    out: list[SliceGap] = []
    for column, members in _by_column(groups):
        if len(members) < 2:
            notes.append(f"slice column {column!r} has one value only, so it has no gap")
            continue
        for metric in ("accuracy", "precision_macro", "recall_macro", "f1_macro"):
            figures, samples = [], []
            for value, pos in members:
                sub = data.take(pos)
                idx = bootstrap.indices(pos.size, resamples, slice_seed(seed, column, value))
                figure = point.get((column, value, metric))
                drawn = metrics.confusion_statistics(sub, idx)[metric] if pos.size >= bootstrap.MIN_ROWS else None
                figures.append(_figure(metric, value, pos.size, figure, drawn, confidence))
                samples.append(drawn)
            out.append(_gap(column, metric, figures, samples, confidence))
        if chosen is not None:
            out += _fairness(data, chosen, names[chosen], column, members, seed, resamples, confidence)
    return tuple(out)


def _fairness(
    data: metrics.Labelled,
    positive: int,
    label: str,
    column: str,
    members: Sequence[Group],
    seed: int,
    resamples: int,
    confidence: float,
) -> list[SliceGap]:
    from sklearn.metrics import recall_score

    parity: list[GroupFigure] = []
    opportunity: list[GroupFigure] = []
    parity_s: list[np.ndarray | None] = []
    opportunity_s: list[np.ndarray | None] = []
    for value, pos in members:
        y_true, y_pred = data.y_true[pos], data.y_pred[pos]
        chosen = (y_pred == positive).astype(np.float64)
        idx = bootstrap.indices(pos.size, resamples, slice_seed(seed, column, value))
        drawn = chosen[idx].mean(axis=1) if pos.size >= bootstrap.MIN_ROWS else None
        parity.append(_figure("demographic_parity", value, pos.size, float(chosen.mean()), drawn, confidence))
        parity_s.append(drawn)
        actual = y_true == positive
        n_pos = int(actual.sum())
        if n_pos == 0:
            opportunity.append(GroupFigure(value, 0, None, bound="no row of this slice expects the positive class"))
            opportunity_s.append(None)
            continue
        tpr = float(recall_score(actual, y_pred == positive, zero_division=0))
        hits = chosen[actual]
        sub = bootstrap.indices(n_pos, resamples, slice_seed(seed, column, value) + 1)
        drawn = hits[sub].mean(axis=1) if n_pos >= bootstrap.MIN_ROWS else None
        opportunity.append(_figure("equal_opportunity", value, n_pos, tpr, drawn, confidence))
        opportunity_s.append(drawn)
    return [
        _gap(column, "demographic_parity", parity, parity_s, confidence, label),
        _gap(column, "equal_opportunity", opportunity, opportunity_s, confidence, label),
    ]


def regression_gaps(
    outcomes: Sequence[RowOutcome],
    groups: Sequence[tuple[str, str, list[int]]],
    slices: Sequence[SliceMetrics],
    seed: int,
    resamples: int,
    confidence: float,
    notes: list[str],
) -> tuple[SliceGap, ...]:
    """Per slice column: the gap of MAE and of RMSE over the answered rows."""
    point = {(s.column, s.value, m.name): m.value for s in slices for m in s.metrics}
    out: list[SliceGap] = []
    for column, members in _by_column(groups):
        if len(members) < 2:
            notes.append(f"slice column {column!r} has one value only, so it has no gap")
            continue
        errors = []
        for value, pos in members:
            answered = [outcomes[i] for i in pos if outcomes[i].value is not None]
            err = np.array([o.number() - float(o.expected) for o in answered])
            idx = bootstrap.indices(err.size, resamples, slice_seed(seed, column, value))
            errors.append((value, err, idx))
        for metric in ("mae", "rmse"):
            figures, samples = [], []
            for value, err, idx in errors:
                drawn = None
                if err.size >= bootstrap.MIN_ROWS:
                    drawn = np.abs(err)[idx].mean(axis=1) if metric == "mae" else np.sqrt((err**2)[idx].mean(axis=1))
                figures.append(_figure(metric, value, err.size, point.get((column, value, metric)), drawn, confidence))
                samples.append(drawn)
            out.append(_gap(column, metric, figures, samples, confidence))
    return tuple(out)


def choose_positive(data: metrics.Labelled, names: Sequence[str], given: str | None, notes: list[str]) -> int | None:
    """The positive class: --eval-positive, else for two expected classes the one named like a
    positive (1, true, yes, positive), else the rarer one. Several classes without a choice: none."""
    if given is not None:
        if given in names:
            return list(names).index(given)
        notes.append(
            f"--eval-positive {given!r} is not a class of this set ({', '.join(map(repr, names[:10]))}): "
            "no demographic parity or equal opportunity"
        )
        return None
    expected, counts = np.unique(data.y_true, return_counts=True)
    if expected.size != 2:
        notes.append(
            f"demographic parity and equal opportunity compare one positive class against the rest; "
            f"this set expects {expected.size} classes, so name one with --eval-positive LABEL"
        )
        return None
    named = [int(i) for i in expected if str(names[int(i)]).strip().lower() in _POSITIVE_WORDS]
    if len(named) == 1:
        return named[0]
    rarer = int(expected[int(np.argmin(counts))]) if counts[0] != counts[1] else int(expected[1])
    notes.append(
        f"demographic parity and equal opportunity count {names[rarer]!r} as the positive outcome "
        "(the rarer expected class; --eval-positive LABEL names another)"
    )
    return rarer


def _by_column(groups: Sequence[tuple[str, str, list[int]]]) -> list[tuple[str, list[Group]]]:
    columns: dict[str, list[Group]] = {}
    for column, value, pos in groups:
        columns.setdefault(column, []).append((value, np.asarray(pos, dtype=np.int64)))
    return list(columns.items())


def _figure(
    metric: str, value: str, n: int, figure: float | None, drawn: np.ndarray | None, confidence: float
) -> GroupFigure:
    low, high = bootstrap.interval(drawn, confidence) if drawn is not None else (None, None)
    small = n < SMALL_SLICE
    bound = small_bound(metric, n, figure, confidence) if small and figure is not None else None
    return GroupFigure(value, n, figure, low, high, small, bound)


def small_bound(metric: str, n: int, figure: float, confidence: float) -> str:
    """What a small slice's figure can claim: for a share, the exact (Clopper-Pearson) binomial
    bounds, and the rule of three (the true rate of an event never seen in n rows is below 3/n at
    95 %) when all rows went one way; for any other figure, only that it is too small to trust."""
    if metric not in _PROPORTIONS:
        return f"{n} rows: too few for a confident figure"
    from scipy.stats import binomtest

    k = int(round(figure * n))
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    what = _WHAT[metric]
    text = (
        f"{n} rows: {what} {100 * figure:.1f}%, exact {round(100 * confidence)}% bounds "
        f"{100 * ci.low:.1f}%–{100 * ci.high:.1f}%"
    )
    if k in (0, n) and n >= 1:
        side = "above" if k == n else "below"
        limit = 1 - 3 / n if k == n else 3 / n
        text += f"; by the rule of three the true {what} is {side} {100 * max(0.0, min(1.0, limit)):.1f}%"
    return text


def _gap(
    column: str,
    metric: str,
    figures: Sequence[GroupFigure],
    samples: Sequence[np.ndarray | None],
    confidence: float,
    positive: str | None = None,
) -> SliceGap:
    usable = [(f, f.figure, s) for f, s in zip(figures, samples) if f.figure is not None]
    notes = []
    small = [f for f in figures if f.small and f.rows]
    if small:
        notes.append(f"small slices (under {SMALL_SLICE} rows): " + ", ".join(f"{f.value} ({f.rows})" for f in small))
    missing = [f.value for f in figures if f.figure is None]
    if missing:
        notes.append("no figure for " + ", ".join(missing))
    if len(usable) < 2:
        return SliceGap(
            column,
            metric,
            None,
            groups=tuple(figures),
            positive=positive,
            notes=tuple(notes) + ("fewer than two slices have this figure, so there is no gap",),
        )
    top = max(usable, key=lambda u: u[1])
    bottom = min(usable, key=lambda u: u[1])
    value = float(top[1]) - float(bottom[1])
    low = high = None
    if any(s is not None for _, _, s in usable):
        resamples = next(s.size for _, _, s in usable if s is not None)
        # A slice too small to resample stays at its own figure in every resample.
        rows = [s if s is not None else np.full(resamples, float(figure)) for _, figure, s in usable]
        matrix = np.vstack(rows)
        with np.errstate(invalid="ignore"):
            low, high = bootstrap.interval(np.nanmax(matrix, axis=0) - np.nanmin(matrix, axis=0), confidence)
    return SliceGap(
        column, metric, value, low, high, top[0].value, bottom[0].value, tuple(figures), positive, tuple(notes)
    )
