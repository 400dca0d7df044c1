"""Two versions on the same labelled rows: metric differences with paired-bootstrap intervals, and
the inputs where they disagree, with which one was right.

Pure (two evaluation sections in, a comparison out), so `benchbox compare --eval FILE` can run it on
two live targets' sections or on two saved result.json files alike. Paired: each resample draws the
same rows for both versions, so the difference's interval reflects only where they differ, which is
much narrower than two independent intervals side by side. McNemar's exact test (scipy's binomtest
on the rows exactly one version got right) says whether the accuracy difference is more than chance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from benchbox.errors import UsageError
from benchbox.evaluate import bootstrap, metrics, scoring
from benchbox.evaluate.model import BOOTSTRAP_RESAMPLES, CONFIDENCE, HIGHER_IS_BETTER, EvaluationSection, RowOutcome

Right = Literal["baseline", "candidate", "neither"]


@dataclass(frozen=True)
class MetricDiff:
    """candidate - baseline; `significant` when the interval excludes 0."""

    name: str
    baseline: float
    candidate: float
    diff: float
    low: float | None
    high: float | None
    better: Literal["baseline", "candidate", "neither"]

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class Disagreement:
    line: int
    input: str
    expected: str | float
    baseline: str | float | None
    candidate: str | float | None
    right: Right


@dataclass(frozen=True)
class Versus:
    rows: int
    metrics: tuple[MetricDiff, ...]
    disagreements: tuple[Disagreement, ...]
    baseline_only_right: int
    candidate_only_right: int
    mcnemar_p: float | None
    resamples: int
    confidence: float
    notes: tuple[str, ...] = ()


def versus(
    baseline: EvaluationSection,
    candidate: EvaluationSection,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Versus:
    """Compare two sections scored on the same rows (matched by line and expected label)."""
    a, b = _matched(baseline, candidate)
    idx = bootstrap.indices(len(a), resamples, seed)
    notes: list[str] = []
    if baseline.task == "regression":
        diffs = _regression_diffs(a, b, idx, confidence)
        right = [_closer(x, y) for x, y in zip(a, b)]
        differ = [x.value != y.value for x, y in zip(a, b)]
    else:
        diffs = _classification_diffs(baseline, candidate, a, b, idx, confidence, notes)
        right = [_which(x, y) for x, y in zip(a, b)]
        differ = [x.predicted != y.predicted for x, y in zip(a, b)]
    found = tuple(
        Disagreement(x.line, x.input, x.expected, _shown(x), _shown(y), r)
        for x, y, r, d in zip(a, b, right, differ)
        if d
    )
    only_a = sum(d.right == "baseline" for d in found)
    only_b = sum(d.right == "candidate" for d in found)
    return Versus(
        rows=len(a),
        metrics=diffs,
        disagreements=found,
        baseline_only_right=only_a,
        candidate_only_right=only_b,
        mcnemar_p=_mcnemar(only_a, only_b),
        resamples=resamples,
        confidence=confidence,
        notes=tuple(notes),
    )


def _matched(baseline: EvaluationSection, candidate: EvaluationSection) -> tuple[list[RowOutcome], list[RowOutcome]]:
    if baseline.task != candidate.task:
        raise UsageError(f"cannot compare a {baseline.task} evaluation with a {candidate.task} one")
    keys_a = [(o.line, str(o.expected)) for o in baseline.outcomes]
    keys_b = [(o.line, str(o.expected)) for o in candidate.outcomes]
    if keys_a != keys_b:
        raise UsageError(
            "cannot compare evaluations of different labelled sets: their rows differ "
            f"({len(keys_a)} rows against {len(keys_b)}, or other labels)"
        )
    if not keys_a:
        raise UsageError("cannot compare evaluations with no rows")
    return list(baseline.outcomes), list(candidate.outcomes)


def _classification_diffs(
    sa: EvaluationSection,
    sb: EvaluationSection,
    a: list[RowOutcome],
    b: list[RowOutcome],
    idx: np.ndarray,
    confidence: float,
    notes: list[str],
) -> tuple[MetricDiff, ...]:
    names = list(dict.fromkeys([*sa.classes, *sb.classes]))
    same_order = sa.classes == sb.classes
    da = scoring.encode(a if same_order else [_no_proba(o) for o in a], names)
    db = scoring.encode(b if same_order else [_no_proba(o) for o in b], names)
    if not same_order:
        notes.append("the two versions name their classes in different orders: probabilities not compared")
    full = np.arange(len(a))[None, :]
    point_a, point_b = metrics.confusion_statistics(da, full), metrics.confusion_statistics(db, full)
    res_a, res_b = metrics.confusion_statistics(da, idx), metrics.confusion_statistics(db, idx)
    out = [
        _diff(n, float(point_a[n][0]), float(point_b[n][0]), res_b[n] - res_a[n], confidence)
        for n in ("accuracy", "precision_macro", "recall_macro", "f1_macro")
    ]
    if da.proba is not None and db.proba is not None:
        both = np.isfinite(da.proba).all(axis=1) & np.isfinite(db.proba).all(axis=1)
        if both.all():
            la, lb = metrics.row_log_loss(da.y_true, da.proba), metrics.row_log_loss(db.y_true, db.proba)
            out.append(_diff("log_loss", float(la.mean()), float(lb.mean()), (lb - la)[idx].mean(axis=1), confidence))
            out.append(_ece_diff(da, db, idx, confidence))
        else:
            notes.append("not every row has probabilities from both versions: log-loss and calibration not compared")
    return tuple(out)


def _ece_diff(da: metrics.Labelled, db: metrics.Labelled, idx: np.ndarray, confidence: float) -> MetricDiff:
    def samples(d: metrics.Labelled) -> tuple[float, np.ndarray]:
        assert d.proba is not None
        conf = d.proba.max(axis=1)
        gap = (d.proba.argmax(axis=1) == d.y_true).astype(np.float64) - conf
        return (
            metrics.expected_calibration_error(d.y_true, d.proba),
            metrics.ece_samples(metrics.ece_bins(conf), gap, idx),
        )

    (ea, sa), (eb, sb) = samples(da), samples(db)
    return _diff("ece", ea, eb, sb - sa, confidence)


def _regression_diffs(
    a: list[RowOutcome], b: list[RowOutcome], idx: np.ndarray, confidence: float
) -> tuple[MetricDiff, ...]:
    answered = np.array([x.value is not None and y.value is not None for x, y in zip(a, b)])
    if not answered.all():
        raise UsageError("cannot compare regression evaluations where a row has no answer from one version")
    y = np.array([float(o.expected) for o in a])
    ea = np.array([o.number() for o in a]) - y
    eb = np.array([o.number() for o in b]) - y
    mae = _diff(
        "mae",
        float(np.abs(ea).mean()),
        float(np.abs(eb).mean()),
        np.abs(eb)[idx].mean(axis=1) - np.abs(ea)[idx].mean(axis=1),
        confidence,
    )
    rmse = _diff(
        "rmse",
        float(np.sqrt((ea**2).mean())),
        float(np.sqrt((eb**2).mean())),
        np.sqrt((eb**2)[idx].mean(axis=1)) - np.sqrt((ea**2)[idx].mean(axis=1)),
        confidence,
    )
    return (mae, rmse)


def _diff(name: str, a: float, b: float, samples: np.ndarray, confidence: float) -> MetricDiff:
    low, high = bootstrap.interval(samples, confidence) if samples.size else (None, None)
    d = MetricDiff(name, a, b, b - a, low, high, "neither")
    if d.significant:
        up = (b - a) > 0
        return MetricDiff(name, a, b, b - a, low, high, "candidate" if up == HIGHER_IS_BETTER[name] else "baseline")
    return d


def _which(x: RowOutcome, y: RowOutcome) -> Right:
    ok_x, ok_y = x.predicted == str(x.expected), y.predicted == str(y.expected)
    return "baseline" if ok_x and not ok_y else "candidate" if ok_y and not ok_x else "neither"


def _closer(x: RowOutcome, y: RowOutcome) -> Right:
    if x.value is None or y.value is None:
        if x.value is None and y.value is not None:
            return "candidate"
        return "baseline" if y.value is None and x.value is not None else "neither"
    ex, ey = abs(x.value - float(x.expected)), abs(y.value - float(y.expected))
    return "baseline" if ex < ey else "candidate" if ey < ex else "neither"


def _shown(o: RowOutcome) -> str | float | None:
    return o.value if o.value is not None else o.predicted


def _no_proba(o: RowOutcome) -> RowOutcome:
    from dataclasses import replace

    return replace(o, probabilities=None)


def _mcnemar(only_a: int, only_b: int) -> float | None:
    """Exact McNemar: under 'no difference', each discordant row is a fair coin."""
    if only_a + only_b == 0:
        return None
    from scipy.stats import binomtest

    return float(binomtest(only_b, only_a + only_b, 0.5).pvalue)
