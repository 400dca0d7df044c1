"""The evaluation's bootstrap: how fast, and how honest (a script: it prints, never asserts).

1. Speed: 1000 resamples of accuracy and macro precision/recall/F1 on N rows, benchbox's vectorised
   confusion-count bootstrap against calling scikit-learn once per resample (the obvious way),
   in the same run, as a ratio. Both give the same figures on the same indices (checked here).
2. Coverage: draw many labelled sets from a classifier whose true accuracy is known, and count how
   often the 95% interval holds it. An honest interval covers it ~95% of the time; the percentile
   bootstrap is known to run a little short on small sets.

    .venv/bin/python benchmarks/evaluate.py [--rows 300] [--resamples 1000] [--trials 400]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchbox.evaluate import bootstrap, metrics  # noqa: E402


def synthetic(rows: int, accuracy: float, k: int, rng: np.random.Generator) -> metrics.Labelled:
    y = rng.integers(0, k, rows)
    wrong = rng.random(rows) >= accuracy
    pred = np.where(wrong, (y + rng.integers(1, k, rows)) % k, y)
    return metrics.Labelled(y, pred, k)


def speed(rows: int, resamples: int) -> None:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    data = synthetic(rows, 0.9, 3, np.random.default_rng(1))
    idx = bootstrap.indices(rows, resamples, 7)
    t0 = time.perf_counter()
    ours = metrics.confusion_statistics(data, idx)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = []
    for row in idx:
        yt, yp = data.y_true[row], data.y_pred[row]
        labels = sorted(set(yt) | set(yp[yp < data.k]))
        p, r, f, _ = precision_recall_fscore_support(yt, yp, labels=labels, average="macro", zero_division=0)
        theirs.append((accuracy_score(yt, yp), p, r, f))
    t_sk = time.perf_counter() - t0
    theirs_a = np.array(theirs)
    same = all(
        np.allclose(ours[name], theirs_a[:, i])
        for i, name in enumerate(("accuracy", "precision_macro", "recall_macro", "f1_macro"))
    )
    print(
        f"speed: {resamples} resamples x {rows} rows: vectorised {1000 * t_ours:.1f} ms, "
        f"scikit-learn per resample {1000 * t_sk:.0f} ms: {t_sk / t_ours:.0f}x faster; same figures: {same}"
    )


def coverage(rows: int, resamples: int, trials: int) -> None:
    rng = np.random.default_rng(2)
    for true_accuracy in (0.9, 0.97):
        held = 0
        for t in range(trials):
            data = synthetic(rows, true_accuracy, 3, rng)
            found = metrics.classification(data, 0.95, resamples, seed=t)
            acc = next(m for m in found if m.name == "accuracy")
            held += acc.low <= true_accuracy <= acc.high  # type: ignore[operator]
        print(
            f"coverage: true accuracy {true_accuracy}, {rows} rows: the 95% interval held it in "
            f"{held}/{trials} sets ({100 * held / trials:.1f}%)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=400)
    args = parser.parse_args()
    speed(args.rows, args.resamples)
    coverage(args.rows, args.resamples, args.trials)


if __name__ == "__main__":
    main()
