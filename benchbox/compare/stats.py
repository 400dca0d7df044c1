"""Is the difference real? A block bootstrap over seconds, on exactly merged HDR histograms.

Requests within one second share that second's machine state (a GC pause, a noisy neighbour),
so they are not independent draws; resampling single requests would give confidence intervals
far too narrow and call noise a regression. The unit of resampling is therefore one second of
load (one `timeseries` entry, its own encoded histogram), taken in circular blocks of
consecutive seconds (Politis & Romano) so that slow drifts stay inside a block. Each resample
merges its seconds' histograms bucket by bucket, which is exactly HdrHistogram's `add`, and reads
percentiles from the merged counts with HdrHistogram's own rule; so the point estimate equals the
percentile of the whole phase's histogram, and no percentile is ever averaged.

numpy does the merging as one matrix product (resample weights x per-second bucket counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchbox import hdr
from benchbox.compare.model import CompareSettings, MetricDiff, MetricVerdict
from benchbox.result import LoadPhase

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0))
# A percentile read from fewer samples beyond it than this rests on a handful of requests, and a
# bootstrap of an extreme quantile is then too narrow (it can only reshuffle those few): measured,
# two instances of one server at 10 samples beyond P99 were called different.
MIN_TAIL_SAMPLES = 20
# Fewer seconds than this, and the spread between seconds (the whole basis of the CI) is a guess.
MIN_SECONDS = 8
# An error-rate change smaller than this (absolute) is not called a change.
MIN_ERROR_EFFECT = 0.002


@dataclass(frozen=True)
class Second:
    """One second of one side: which histogram buckets it filled, how many requests and errors."""

    buckets: np.ndarray
    counts: np.ndarray
    requests: int
    errors: int
    duration_s: float


def seconds_of(phase: LoadPhase) -> list[Second]:
    """The phase's per-second series as bootstrap units.

    A point covers one second except the phase's last (it ends at the last completion) or where
    the point says otherwise (`duration_s`, set by compare's interleaved windows)."""
    points = phase.timeseries
    out: list[Second] = []
    for i, p in enumerate(points):
        if p.duration_s is not None:
            duration = p.duration_s
        elif i == len(points) - 1:
            duration = min(1.0, max(phase.elapsed_s - (len(points) - 1), 0.0))
        else:
            duration = 1.0
        if p.hdr:
            h = hdr.decode(p.hdr)
            counts = np.ctypeslib.as_array(h.counts)
            nonzero = np.nonzero(counts)[0]
            buckets, values = nonzero.astype(np.int64), counts[nonzero].astype(np.float64)
        else:
            buckets, values = np.zeros(0, np.int64), np.zeros(0, np.float64)
        out.append(Second(buckets, values, p.requests, p.errors, max(duration, 1e-3)))
    return out


def compare_phases(baseline: LoadPhase, candidate: LoadPhase, settings: CompareSettings) -> tuple[MetricDiff, ...]:
    return compare_seconds(seconds_of(baseline), seconds_of(candidate), settings)


def compare_seconds(
    base: Sequence[Second], cand: Sequence[Second], settings: CompareSettings
) -> tuple[MetricDiff, ...]:
    """Every metric, both sides, with a bootstrap confidence interval of the difference and a
    permutation test of it.

    The interval says how big the difference is; the permutation test (seconds shuffled between
    the sides, as they would be exchangeable if the targets were the same) guards the call. It
    matters when one side caught a stall the other did not: the bootstrap keeps that second on
    its side, the permutation sees that it could as well have landed on the other (measured: two
    instances of one server, one stalled half-second, were called different by the interval
    alone)."""
    if not base or not cand:
        return tuple(_unmeasured(name, "ms", True) for name, _ in PERCENTILES) + (
            _unmeasured("rps", "req/s", False),
            _unmeasured("errors", "ratio", True),
        )
    keys = np.unique(np.concatenate([s.buckets for s in (*base, *cand)] + [np.zeros(0, np.int64)]))
    values_ms = _bucket_values_ms(keys)
    rng = np.random.default_rng(settings.seed)
    sides = []
    for seconds in (base, cand):
        weights = np.vstack([np.ones(len(seconds)), block_weights(len(seconds), settings.resamples, rng)])
        sides.append(_Drawn(weights, seconds, keys))  # row 0: the whole phase; the rest: resamples
    shuffled = permutation_weights(len(base), len(cand), settings.resamples, rng)
    pooled = [*base, *cand]
    null = (_Drawn(shuffled, pooled, keys), _Drawn(1.0 - shuffled, pooled, keys))
    alpha = 1.0 - settings.confidence
    metrics: list[MetricDiff] = []
    for name, pct in PERCENTILES:
        b, c = (_percentiles(side.counts, values_ms, pct) for side in sides)
        nb, nc = (_percentiles(side.counts, values_ms, pct) for side in null)
        p = _p_value(_ratio(c[0], b[0]), _ratio(nc, nb))
        note = _stability(pct, sides[0], sides[1])
        metrics.append(_relative_metric(name, "ms", True, b, c, alpha, settings.min_effect, note, p))
    seconds_note = _seconds_note(len(base), len(cand))
    rps = [side.requests / side.durations for side in sides]  # responses and errors: both completed
    null_rps = [side.requests / side.durations for side in null]
    metrics.append(
        _relative_metric(
            "rps",
            "req/s",
            False,
            rps[0],
            rps[1],
            alpha,
            settings.min_effect,
            seconds_note,
            _p_value(_ratio(rps[1][0], rps[0][0]), _ratio(null_rps[1], null_rps[0])),
        )
    )
    err = [side.error_rate for side in sides]
    null_err = [side.error_rate for side in null]
    metrics.append(
        _absolute_metric(
            "errors", err[0], err[1], alpha, seconds_note, _p_value(err[1][0] - err[0][0], null_err[1] - null_err[0])
        )
    )
    return tuple(metrics)


class _Drawn:
    """Weighted sums over seconds, one row per draw (a bootstrap resample or a permutation)."""

    def __init__(self, weights: np.ndarray, seconds: Sequence[Second], keys: np.ndarray) -> None:
        self.n = len(seconds)
        self.counts = weights @ _dense(seconds, keys)
        self.requests = weights @ np.array([s.requests for s in seconds], dtype=np.float64)
        self.errors = weights @ np.array([s.errors for s in seconds], dtype=np.float64)
        self.durations = weights @ np.array([s.duration_s for s in seconds], dtype=np.float64)

    @property
    def error_rate(self) -> np.ndarray:
        return np.divide(self.errors, self.requests, out=np.zeros_like(self.errors), where=self.requests > 0)


def permutation_weights(n_base: int, n_cand: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of 0/1 over the pooled seconds: 1 puts a second on the baseline side (n_base per row)."""
    ranks = np.argsort(rng.random((draws, n_base + n_cand)), axis=1)
    weights = np.zeros((draws, n_base + n_cand))
    np.put_along_axis(weights, ranks[:, :n_base], 1.0, axis=1)
    return weights


def _ratio(cand: np.ndarray | float, base: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(cand, dtype=np.float64) / np.asarray(base, dtype=np.float64) - 1.0


def _p_value(observed: np.ndarray | float, null: np.ndarray) -> float | None:
    """Two-sided: how often shuffled seconds differ at least as much as the real sides do."""
    observed = float(np.asarray(observed))
    finite = null[np.isfinite(null)]
    if not math.isfinite(observed) or finite.size < 10:
        return None
    return float((1 + np.sum(np.abs(finite) >= abs(observed) - 1e-12)) / (finite.size + 1))


def block_length(n: int) -> int:
    """n^(1/3), the usual order for a block bootstrap of a mean-like statistic."""
    return max(1, round(n ** (1.0 / 3.0)))


def block_weights(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each second is drawn in each resample (circular blocks; n seconds per resample)."""
    length = block_length(n)
    blocks = math.ceil(n / length)
    starts = rng.integers(0, n, size=(resamples, blocks))
    picked = (starts[:, :, None] + np.arange(length)[None, None, :]).reshape(resamples, -1)[:, :n] % n
    weights = np.zeros((resamples, n))
    rows = np.repeat(np.arange(resamples), n)
    np.add.at(weights, (rows, picked.ravel()), 1.0)
    return weights


def _dense(seconds: Sequence[Second], keys: np.ndarray) -> np.ndarray:
    matrix = np.zeros((len(seconds), len(keys)))
    for row, s in enumerate(seconds):
        if len(s.buckets):
            matrix[row, np.searchsorted(keys, s.buckets)] = s.counts
    return matrix


def _bucket_values_ms(keys: np.ndarray) -> np.ndarray:
    """What HdrHistogram reports for a percentile landing in each bucket: its highest equivalent value."""
    h = hdr.new()
    return (
        np.array([h.get_highest_equivalent_value(h.get_value_from_index(int(k))) for k in keys], dtype=np.float64)
        / 1000.0
    )


def _percentiles(counts: np.ndarray, values_ms: np.ndarray, pct: float) -> np.ndarray:
    """HdrHistogram's get_value_at_percentile, row by row; NaN for an empty row."""
    if counts.shape[1] == 0:
        return np.full(counts.shape[0], np.nan)
    cumulative = np.cumsum(counts, axis=1)
    total = cumulative[:, -1]
    target = np.maximum(np.floor(pct * total / 100.0 + 0.5), 1.0)
    index = np.argmax(cumulative >= target[:, None], axis=1)
    out = values_ms[index]
    out[total == 0] = np.nan
    return out


def _interval(samples: np.ndarray, alpha: float) -> tuple[float | None, float | None]:
    finite = samples[np.isfinite(samples)]
    if finite.size < 10:
        return None, None
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def _relative_metric(
    name: str,
    unit: str,
    higher_is_worse: bool,
    b: np.ndarray,
    c: np.ndarray,
    alpha: float,
    min_effect: float,
    note: str,
    p: float | None,
) -> MetricDiff:
    base, cand = float(b[0]), float(c[0])
    if not (math.isfinite(base) and math.isfinite(cand)) or base <= 0:
        return _unmeasured(name, unit, higher_is_worse, base, cand)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_samples = c[1:] / b[1:] - 1.0
    low, high = _interval(rel_samples, alpha)
    relative = cand / base - 1.0
    # An unstable figure is shown with its interval, but never called a change: too little data.
    significant = _significant(note, low, high, p, alpha)
    verdict, why = _verdict(relative, significant, higher_is_worse, min_effect)
    return MetricDiff(
        name=name,
        unit=unit,
        higher_is_worse=higher_is_worse,
        baseline=_round(base),
        candidate=_round(cand),
        difference=_round(cand - base),
        relative=_round(relative),
        ci_low=_round(low),
        ci_high=_round(high),
        significant=significant,
        verdict=verdict,
        stable=not note,
        note="; ".join(x for x in (note, why, _p_note(low, high, p, alpha)) if x),
        p_value=_round(p),
    )


def _absolute_metric(name: str, b: np.ndarray, c: np.ndarray, alpha: float, note: str, p: float | None) -> MetricDiff:
    base, cand = float(b[0]), float(c[0])
    low, high = _interval(c[1:] - b[1:], alpha)
    significant = _significant(note, low, high, p, alpha)
    verdict, why = _verdict(cand - base, significant, True, MIN_ERROR_EFFECT)
    return MetricDiff(
        name=name,
        unit="ratio",
        higher_is_worse=True,
        baseline=_round(base),
        candidate=_round(cand),
        difference=_round(cand - base),
        relative=None,
        ci_low=_round(low),
        ci_high=_round(high),
        significant=significant,
        verdict=verdict,
        stable=not note,
        note="; ".join(x for x in (note, why, _p_note(low, high, p, alpha)) if x),
        p_value=_round(p),
    )


def _significant(note: str, low: float | None, high: float | None, p: float | None, alpha: float) -> bool:
    """Called only on a stable figure whose interval excludes zero and whose permutation test agrees."""
    excludes_zero = low is not None and high is not None and (low > 0.0 or high < 0.0)
    return not note and excludes_zero and p is not None and p < alpha


def _p_note(low: float | None, high: float | None, p: float | None, alpha: float) -> str:
    excludes_zero = low is not None and high is not None and (low > 0.0 or high < 0.0)
    if excludes_zero and p is not None and p >= alpha:
        return (
            f"the interval excludes zero, but shuffling seconds between the sides gives as big a difference "
            f"{100 * p:.0f}% of the time: a few seconds decide it"
        )
    return ""


def _verdict(change: float, significant: bool, higher_is_worse: bool, min_effect: float) -> tuple[MetricVerdict, str]:
    if not significant:
        return "no significant change", ""
    if abs(change) < min_effect:
        return "no significant change", f"real but below the {_pct(min_effect)} minimum effect"
    worse = change > 0 if higher_is_worse else change < 0
    return ("regression" if worse else "improvement"), ""


def _stability(pct: float, base: _Drawn, cand: _Drawn) -> str:
    notes = []
    for role, side in (("baseline", base), ("candidate", cand)):
        total = float(side.counts[0].sum())
        beyond = total * (100.0 - pct) / 100.0
        if beyond < MIN_TAIL_SAMPLES:
            notes.append(
                f"{role} has {beyond:.0f} requests beyond P{pct:g} (needs {MIN_TAIL_SAMPLES}): "
                "too few for a stable figure, so no change is called"
            )
    seconds = _seconds_note(base.n, cand.n)
    return "; ".join(notes + ([seconds] if seconds else []))


def _seconds_note(n_base: int, n_cand: int) -> str:
    short = min(n_base, n_cand)
    if short < MIN_SECONDS:
        return (
            f"only {short} seconds of load on one side (needs {MIN_SECONDS}): too short for a stable figure, "
            "so no change is called"
        )
    return ""


def _unmeasured(
    name: str, unit: str, higher_is_worse: bool, base: float | None = None, cand: float | None = None
) -> MetricDiff:
    fine = [v if v is not None and math.isfinite(v) else None for v in (base, cand)]
    return MetricDiff(
        name=name,
        unit=unit,
        higher_is_worse=higher_is_worse,
        baseline=fine[0],
        candidate=fine[1],
        difference=None,
        relative=None,
        ci_low=None,
        ci_high=None,
        significant=False,
        verdict="not measured",
        stable=False,
        note="a side has no answered request to measure",
    )


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _pct(value: float) -> str:
    return f"{100 * value:g}%"
