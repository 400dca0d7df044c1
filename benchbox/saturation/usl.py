"""A Universal Scalability Law fit of throughput X against concurrency N, as codahale/usl defines it.

X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1)). Divided through, N/X = a + b (N-1) + c N (N-1)
with lambda = 1/a, sigma = b/a, kappa = c/a: LINEAR in a, b, c, so ordinary least squares (numpy)
fits it without an optimiser. Negative sigma or kappa mean nothing physically; when the free fit
gives one, that term is dropped and the rest refitted (and the statement says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from benchbox.saturation.model import Step, Usl

MIN_POINTS = 4
# Concurrencies closer than this (relative) are one point as far as the curve's shape goes.
DISTINCT = 0.02


def points_from_steps(steps: Sequence[Step]) -> list[tuple[float, float]]:
    """(N, X) of every step the target, not the generator, set: N from Little's law."""
    return [
        (s.concurrency, s.achieved_rps)
        for s in steps
        if s.concurrency and s.concurrency > 0 and s.achieved_rps > 0 and not s.generator_limited
    ]


def distinct_count(ns: Sequence[float]) -> int:
    count, last = 0, -math.inf
    for n in sorted(ns):
        if n > last * (1 + DISTINCT):
            count, last = count + 1, n
    return count


def predict(n: float, lam: float, sigma: float, kappa: float) -> float:
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def fit(points: Sequence[tuple[float, float]]) -> Usl:
    ns = np.array([p[0] for p in points], dtype=float)
    xs = np.array([p[1] for p in points], dtype=float)
    distinct = distinct_count(ns.tolist())
    if distinct < MIN_POINTS:
        return Usl(
            fitted=False,
            points=len(points),
            statement=f"not fitted: {distinct} distinct concurrency levels, the fit needs at least {MIN_POINTS}",
        )
    y = ns / xs
    columns = {"sigma": ns - 1, "kappa": ns * (ns - 1)}
    # Try the full model, then without kappa, then without sigma, then neither: the first whose
    # coefficients are all >= 0 (a physical model) wins.
    for terms in (("sigma", "kappa"), ("sigma",), ("kappa",), ()):
        design = np.column_stack([np.ones_like(ns)] + [columns[t] for t in terms])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        if coef[0] > 0 and all(c >= 0 for c in coef[1:]):
            break
    else:
        return Usl(
            fitted=False,
            points=len(points),
            statement="not fitted: no physical fit (lambda <= 0): throughput does not grow with concurrency",
        )
    values = dict(zip(terms, coef[1:]))
    a = float(coef[0])
    lam, sigma, kappa = 1.0 / a, float(values.get("sigma", 0.0)) / a, float(values.get("kappa", 0.0)) / a
    predicted = np.array([predict(n, lam, sigma, kappa) for n in ns])
    ss_tot = float(((xs - xs.mean()) ** 2).sum())
    r2 = 1.0 - float(((xs - predicted) ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
    peak_n, peak_x, shape = _peak(lam, sigma, kappa)
    dropped = [t for t in ("sigma", "kappa") if t not in terms]
    note = f" ({' and '.join(dropped)} fitted negative, so held at 0)" if dropped else ""
    statement = (
        f"{_quality(r2)} (R² {r2:.2f} over {len(points)} points, {distinct} concurrency levels){note}: "
        f"sigma {sigma:.4g} (contention), kappa {kappa:.4g} (coherency), lambda {lam:.4g} req/s per "
        f"unit of concurrency; {shape}"
    )
    return Usl(
        fitted=True,
        statement=statement,
        points=len(points),
        sigma=sigma,
        kappa=kappa,
        lambda_=lam,
        peak_concurrency=peak_n,
        peak_rps=peak_x,
        r_squared=r2,
    )


def _peak(lam: float, sigma: float, kappa: float) -> tuple[float | None, float | None, str]:
    if kappa > 0 and sigma < 1:
        n = math.sqrt((1 - sigma) / kappa)
        x = predict(n, lam, sigma, kappa)
        return n, x, f"throughput predicted to peak at {x:.4g} req/s at concurrency {n:.3g}, and fall beyond it"
    if sigma > 0:
        return (
            None,
            lam / sigma,
            (f"no coherency cost seen: throughput approaches {lam / sigma:.4g} req/s (lambda/sigma) and never falls"),
        )
    return None, None, "throughput grew linearly with concurrency: no limit seen in the probed range"


def _quality(r2: float) -> str:
    if r2 >= 0.95:
        return "fits well"
    if r2 >= 0.8:
        return "fits roughly"
    return "fits poorly, so treat its predictions with caution"
