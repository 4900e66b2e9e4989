"""Anomaly detector trained on healthy vibration only.

Why features and a Gaussian instead of a network: there are ~3 s of healthy signal, far
too little for an autoencoder to learn "healthy" without also learning to reconstruct
faults. A handful of condition-monitoring features (level, impulsiveness, where the energy
sits in frequency) with a shrunk covariance estimate is robust with ~100 windows, needs no
torch at run time, and its score (squared Mahalanobis distance) is easy to explain.

Features per window: :func:`desktop.analysis.features.vibration_features`.

The threshold is the largest score on held-out healthy windows (never used for fitting)
times a margin; the card records it with the false-alarm and detection rates it gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop.analysis.features import vibration_features

ARCHITECTURE = "gaussian-features"
CLASSES = ["normal", "anomaly"]
DEFAULTS: dict[str, Any] = {"n_bands": 10, "shrinkage": 0.3, "threshold": 1.0,
                            "score_scale": 1.0}


@dataclass
class GaussianModel:
    """Mean and precision (inverse shrunk covariance) of healthy features."""

    mean: np.ndarray
    precision: np.ndarray
    n_bands: int
    threshold: float = 1.0
    score_scale: float = 1.0

    @classmethod
    def fit(cls, healthy: np.ndarray, n_bands: int, shrinkage: float) -> GaussianModel:
        """Fit on raw healthy windows. Shrinking toward the diagonal keeps the estimate
        invertible and stable when windows are few and strongly correlated."""
        f = vibration_features(healthy, n_bands)
        mean = f.mean(axis=0)
        cov = np.cov(f, rowvar=False)
        cov = (1 - shrinkage) * cov + shrinkage * np.diag(np.diag(cov))
        cov += 1e-9 * np.eye(cov.shape[0])
        return cls(mean, np.linalg.inv(cov), n_bands)

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each window's features from healthy."""
        d = vibration_features(windows, self.n_bands) - self.mean
        return np.einsum("ij,jk,ik->i", d, self.precision, d)

    def calibrate(self, healthy_held_out: np.ndarray, margin: float = 1.5) -> None:
        """Threshold = margin x the largest held-out healthy score; the logistic scale of
        the probability is the spread (log) of those scores, so ~1 log-spread above the
        threshold reads as ~73 % anomaly."""
        s = self.scores(healthy_held_out)
        self.threshold = float(s.max() * margin)
        self.score_scale = float(max(np.std(np.log(s + 1e-12)), 0.1))

    def probabilities(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(probs (n, 2) over [normal, anomaly], scores (n,))``."""
        s = self.scores(windows)
        z = (np.log(s + 1e-12) - np.log(self.threshold)) / self.score_scale
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        return np.column_stack([1 - p, p]), s

    def tensors(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.astype(np.float64),
                "precision": self.precision.astype(np.float64)}

    def hyper_parameters(self, shrinkage: float) -> dict[str, Any]:
        return {"n_bands": self.n_bands, "shrinkage": shrinkage, "threshold": self.threshold,
                "score_scale": self.score_scale}


def expected_tensors(hp: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    d = 4 + int(hp["n_bands"])
    return {"mean": ((d,), "F64"), "precision": ((d, d), "F64")}


def auroc(negatives: Sequence[float], positives: Sequence[float]) -> float:
    """Area under the ROC curve = P(positive score > negative score), ties count half."""
    neg = np.asarray(negatives, dtype=float)
    pos = np.asarray(positives, dtype=float)
    allv = np.concatenate([neg, pos])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty_like(order, dtype=float)
    sorted_v = allv[order]
    # average ranks over ties
    i = 0
    while i < len(sorted_v):
        j = i
        while j + 1 < len(sorted_v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[len(neg):].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
