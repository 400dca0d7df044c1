"""The demo model's held-out labelled set (eval.csv), and how it was made.

Honest by construction: each row is drawn from one class's distribution (the same iris-like
Gaussians the model versions are trained on, with a seed neither version trained on) and labelled
with that class, the ground truth the model can only approximate. A `region` column marks where a
measurement came from; rows from "apac" were taken with a coarser instrument (extra measurement
noise), so that slice is genuinely harder and the per-slice figures have something to show.

    python -m benchbox.demo.evalset > benchbox/demo/eval.csv   # rewrites the shipped file
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

from benchbox.demo.model import _MEANS, _STDS, LABELS, N_CLASSES

EVAL_SEED = 11  # the model versions train on seeds 1 and 2
ROWS_PER_CLASS = 100
REGIONS = ("eu", "us", "apac")
APAC_NOISE_CM = 0.45
COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")
PATH = Path(__file__).with_name("eval.csv")


def make_csv() -> str:
    """The file's text: header, then one row per example, features to 0.1 cm as a ruler reads them."""
    rng = np.random.default_rng(EVAL_SEED)
    out = io.StringIO()
    out.write(",".join((*COLUMNS, "species", "region")) + "\n")
    for i in range(ROWS_PER_CLASS * N_CLASSES):
        k = i % N_CLASSES  # interleaved, so any prefix of the file is balanced too
        x = rng.normal(_MEANS[k], _STDS[k])
        region = REGIONS[int(rng.integers(0, len(REGIONS)))]
        if region == "apac":
            x = x + rng.normal(0.0, APAC_NOISE_CM, size=x.shape)
        x = np.clip(x, 0.1, None)
        out.write(",".join(f"{v:.1f}" for v in x) + f",{LABELS[k]},{region}\n")
    return out.getvalue()


if __name__ == "__main__":
    sys.stdout.write(make_csv())
