"""A numpy softmax classifier fitted at start-up on a fixed synthetic data set.

The model is deliberately tiny but real: it has a decision boundary, overlapping classes
and two versions that disagree near that boundary, so contract checks, determinism checks
and version comparisons have something genuine to find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchbox.demo.options import MODEL_VERSIONS

LABELS: tuple[str, ...] = ("setosa", "versicolor", "virginica")
N_FEATURES = 4
N_CLASSES = len(LABELS)

# Iris-like class means and spreads (sepal length/width, petal length/width, in cm), so
# inputs look plausible to a human reading a report.
_MEANS = np.array([[5.0, 3.4, 1.5, 0.25], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.55, 2.0]], dtype=np.float64)
_STDS = np.array(
    [[0.35, 0.38, 0.17, 0.1], [0.5, 0.31, 0.47, 0.2], [0.63, 0.32, 0.55, 0.27]],
    dtype=np.float64,
)
_ROWS_PER_CLASS = 100


@dataclass(frozen=True)
class _Recipe:
    """How one model version is trained; versions differ only here."""

    data_seed: int
    l2: float
    steps: int
    learning_rate: float


_RECIPES: dict[str, _Recipe] = {
    "v1": _Recipe(data_seed=1, l2=1e-3, steps=400, learning_rate=0.5),
    # A different sample and stronger regularisation: ~95% accurate like v1, but the
    # versicolor/virginica boundary moves, so a few percent of inputs change class.
    "v2": _Recipe(data_seed=2, l2=0.1, steps=300, learning_rate=0.5),
}
assert set(_RECIPES) == set(MODEL_VERSIONS), "every advertised model version needs a recipe"


@dataclass(frozen=True, eq=False)
class SoftmaxModel:
    """A fitted multinomial logistic regression; immutable once built."""

    version: str
    labels: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_classes), on standardised features
    bias: np.ndarray  # (n_classes,)
    mean: np.ndarray  # (n_features,) training mean, for standardisation
    scale: np.ndarray  # (n_features,) training std

    @property
    def n_features(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.weights.shape[1])

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (B, n_classes), float64.

        A row's result depends only on that row, bit for bit: the logits are summed
        feature by feature in a fixed order instead of through BLAS, whose kernel (and
        so rounding) can change with the batch size. A determinism check that sends the
        same row alone and inside a batch must see identical numbers.
        """
        x = np.asarray(batch, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected shape (B, {self.n_features}), got {x.shape}")
        z = (x - self.mean) / self.scale
        logits = z[:, :1] * self.weights[0] + self.bias
        for j in range(1, self.n_features):
            logits += z[:, j : j + 1] * self.weights[j]
        logits -= logits.max(axis=1, keepdims=True)  # overflow-safe softmax
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Predicted class indices, shape (B,)."""
        return np.argmax(self.predict_proba(batch), axis=1)


def training_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded Gaussian blobs, one per class: (X (n, 4), y (n,))."""
    rng = np.random.default_rng(seed)
    size = (_ROWS_PER_CLASS, N_FEATURES)
    xs = [rng.normal(_MEANS[k], _STDS[k], size=size) for k in range(N_CLASSES)]
    ys = [np.full(_ROWS_PER_CLASS, k, dtype=np.int64) for k in range(N_CLASSES)]
    return np.concatenate(xs), np.concatenate(ys)


def fit_model(version: str = "v1") -> SoftmaxModel:
    """Train the given version by full-batch gradient descent (a few ms; no randomness
    beyond the seeded data, so every process builds the same model)."""
    try:
        recipe = _RECIPES[version]
    except KeyError:
        choices = ", ".join(MODEL_VERSIONS)
        raise ValueError(f"unknown model version {version!r}; choose one of {choices}") from None
    x, y = training_data(recipe.data_seed)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    z = (x - mean) / scale
    onehot = np.eye(N_CLASSES)[y]
    n = z.shape[0]
    w = np.zeros((N_FEATURES, N_CLASSES))
    b = np.zeros(N_CLASSES)
    for _ in range(recipe.steps):
        logits = z @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        err = (p - onehot) / n
        w -= recipe.learning_rate * (z.T @ err + recipe.l2 * w)
        b -= recipe.learning_rate * err.sum(axis=0)
    for arr in (w, b, mean, scale):
        arr.setflags(write=False)  # frozen dataclass, frozen arrays
    return SoftmaxModel(version=version, labels=LABELS, weights=w, bias=b, mean=mean, scale=scale)
