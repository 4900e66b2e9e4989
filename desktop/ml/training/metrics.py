"""Held-out metrics of a classifier: accuracy, per-class recall/precision/F1, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]
                           ) -> dict[str, Any]:
    """Accuracy, per-class recall/precision/F1 (classes present in truth or prediction),
    and the confusion matrix (rows = true, columns = predicted, over ``classes``)."""
    k = len(classes)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (y_true, y_pred), 1)
    per_class = {}
    for i, c in enumerate(classes):
        support, predicted, hit = confusion[i].sum(), confusion[:, i].sum(), confusion[i, i]
        if support == 0 and predicted == 0:
            continue
        recall = hit / support if support else 0.0
        precision = hit / predicted if predicted else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {"recall": round(float(recall), 4), "precision": round(float(precision), 4),
                        "f1": round(float(f1), 4), "support": int(support)}
    n = int(y_true.shape[0])
    return {"windows": n,
            "accuracy": round(float(np.mean(y_true == y_pred)), 4) if n else None,
            "per_class": per_class, "classes": list(classes), "confusion": confusion.tolist()}


def base_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str],
                 n_base: int) -> dict[str, Any]:
    """The base model on the same windows: ``accuracy`` over the classes it knows only;
    ``accuracy_all_windows`` counts windows of classes new to it as wrong (it cannot name
    them). Per-class entries of new classes are marked ``known_to_base: false``."""
    known = y_true < n_base
    out = classification_metrics(y_true, y_pred, classes)
    out["accuracy"] = (round(float(np.mean(y_true[known] == y_pred[known])), 4)
                       if known.any() else None)
    out["accuracy_all_windows"] = (round(float(np.mean(y_true == y_pred)), 4)
                                   if y_true.shape[0] else None)
    out["unknown_class_windows"] = int((~known).sum())
    out["windows"] = int(known.sum())
    for i, c in enumerate(classes):
        if i >= n_base and c in out["per_class"]:
            out["per_class"][c]["known_to_base"] = False
    return out
