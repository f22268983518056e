"""Linear probes: harmful vs benign from one layer's final-token state, and their statistics.

A probe is a standardisation followed by an L2-regularised logistic regression whose
strength is chosen by cross-validation on the training split only. It is kept as plain
arrays (a weight vector and a bias on the raw state), so applying it needs no sklearn and
its logit is ``state @ weight + bias``: positive means "harmful".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
"""Inverse regularisation strengths tried by the inner cross-validation."""


@dataclass(frozen=True)
class Probe:
    """A linear probe on one layer."""

    layer: int
    weight: np.ndarray
    bias: float
    c: float
    train_accuracy: float
    heldout_accuracy: float

    def logits(self, states: np.ndarray) -> np.ndarray:
        """Return the probe's logit for each state (``(..., hidden)`` -> ``(...)``)."""
        return states @ self.weight + self.bias


@dataclass(frozen=True)
class Split:
    """Indices of the training and held-out instructions."""

    train: np.ndarray
    heldout: np.ndarray


def stratified_split(labels: np.ndarray, heldout_fraction: float = 0.3, seed: int = 0) -> Split:
    """Split indices so that both parts keep the class balance; seeded.

    Raises:
        ValueError: a fraction outside (0, 1), or a class too small to split.
    """
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"The held-out fraction must lie in (0, 1), not {heldout_fraction}.")
    rng = np.random.default_rng(seed)
    train: list[int] = []
    heldout: list[int] = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = round(len(members) * heldout_fraction)
        if count < 1 or count >= len(members) - 1:
            raise ValueError(f"Class {label} has {len(members)} members: too few to split.")
        heldout += members[:count].tolist()
        train += members[count:].tolist()
    return Split(np.array(sorted(train)), np.array(sorted(heldout)))


def train_probe(
    features: np.ndarray,
    labels: np.ndarray,
    split: Split,
    layer: int = 0,
    seed: int = 0,
) -> Probe:
    """Train one probe on ``features[split.train]``; score it on both parts.

    Args:
        features: ``(n, hidden)`` states.
        labels: ``(n,)`` with 1 for harmful, 0 for benign.
        split: Training and held-out indices.
        layer: The layer the features come from (recorded on the probe).
        seed: Seed of the cross-validation folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    x, y = features[split.train].astype(np.float64), labels[split.train]
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    folds = min(5, int(np.bincount(y).min()))
    search = GridSearchCV(
        LogisticRegression(max_iter=5000),
        {"C": list(C_GRID)},
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        scoring="accuracy",
    )
    search.fit((x - mean) / scale, y)
    fitted = search.best_estimator_
    weight = fitted.coef_[0] / scale
    bias = float(fitted.intercept_[0] - mean @ weight)
    probe = Probe(layer, weight, bias, float(search.best_params_["C"]), math.nan, math.nan)
    return Probe(
        layer, weight, bias, probe.c,
        train_accuracy=accuracy(probe.logits(features[split.train]), y),
        heldout_accuracy=accuracy(probe.logits(features[split.heldout]), labels[split.heldout]),
    )


def train_layer_probes(states: np.ndarray, labels: np.ndarray, split: Split, seed: int = 0
                       ) -> list[Probe]:
    """Train a probe on every layer of ``(n, layers + 1, hidden)`` states."""
    return [
        train_probe(states[:, layer], labels, split, layer, seed)
        for layer in range(states.shape[1])
    ]


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Return the fraction of logits on the side of their label (> 0 is harmful)."""
    return float(np.mean((logits > 0).astype(int) == labels))


def best_layer(probes: list[Probe]) -> int:
    """Return the layer with the best held-out accuracy (the earliest on a tie)."""
    return max(probes, key=lambda p: (p.heldout_accuracy, -p.layer)).layer


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% interval."""

    mean: float
    low: float
    high: float
    n: int


def paired_interval(after: np.ndarray, before: np.ndarray, level: float = 0.95) -> Interval:
    """Return the mean paired difference ``after - before`` with a Student-t interval."""
    from scipy import stats

    differences = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    n = len(differences)
    mean = float(differences.mean()) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * differences.std(ddof=1) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


@dataclass(frozen=True)
class Correlation:
    """Pearson and Spearman correlations of two paired series."""

    pearson: float
    pearson_p: float
    spearman: float
    spearman_p: float
    n: int


def correlation(x: np.ndarray, y: np.ndarray) -> Correlation:
    """Return both correlations with their two-sided p-values (NaN under 3 points)."""
    from scipy import stats

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(math.nan, math.nan, math.nan, math.nan, n)
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    return Correlation(float(pearson.statistic), float(pearson.pvalue),
                       float(spearman.statistic), float(spearman.pvalue), n)
