"""Calibrated class probabilities and the reject option (``accept`` / ``refer``) for
quality models (issue 26).

**Calibration: temperature scaling.** One parameter ``T`` (> 0) turns a model's class
probabilities ``p`` (rows, classes) into ``softmax(log p / T)``: ``T > 1`` softens
over-confident probabilities, ``T < 1`` sharpens timid ones. It is fitted by minimising the
negative log-likelihood of *out-of-sample* probabilities (cross-fitted: each row judged by a
model that did not learn from it). Why temperature and not isotonic / Platt / Dirichlet:
with ~1,350 rows and 7 classes (two of them 38 and 50 rows), per-class isotonic maps
(about a step per dozen rows) and Dirichlet / vector scaling (7–56 parameters) fit the
noise of a few hundred calibration rows, and isotonic breaks the sum-to-one of the class
vector; one scalar cannot overfit and it never changes which class wins (the order of the
parts by top probability may shift a little: a part's top probability after scaling
depends on its whole class vector, so the reject threshold is chosen on the calibrated
values).

**Top-label ECE.** :func:`top_label_ece`: the rows are put in ``bins`` equal-width bins of
their top probability (0–1); ECE = Σ_bins (rows in bin / rows) · |accuracy in bin − mean top
probability in bin|. 15 bins (the usual choice; with ~400 rows a perfectly calibrated model
still shows an ECE of about 0.02–0.03 from sampling noise alone).

**Reject option.** A part is ``accept`` when its calibrated top probability is at least
``threshold``, else ``refer`` (an inspector looks at it). :func:`choose_threshold` picks the
*lowest* threshold whose accepted out-of-sample rows reach ``target`` accuracy (default
0.95): the most parts accepted at the target. The out-of-sample confidences and
correctness it was chosen on are kept (``calibration.npz``), so another target can be
asked for at predict time and the same rule re-chooses the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.ml.errors import ModelError
from desktop.ml.tabular.arrays import check_shape, load_arrays, save_arrays

CALIBRATION_FILE = "calibration.npz"
ECE_BINS = 15
DEFAULT_TARGET = 0.95
ACCEPT, REFER = "accept", "refer"
#: the threshold when no cut reaches the target: above any probability, so every part is
#: referred (a finite number: the card is JSON)
NOTHING_ACCEPTED = float(np.nextafter(1.0, 2.0))
#: temperature search range (log scale), wide enough for any sane model
_LOG_T_RANGE = (-3.0, 3.0)
_EPS = 1e-12


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """(rows, classes) probabilities → ``softmax(log p / T)`` (rows, classes), rows sum to 1.
    Zero probabilities are floored at 1e-12 before the log."""
    p = np.asarray(proba, dtype=np.float64)
    if temperature == 1.0:
        return p
    logit = np.log(np.maximum(p, _EPS)) / float(temperature)
    logit -= logit.max(axis=1, keepdims=True)
    e = np.exp(logit)
    return e / e.sum(axis=1, keepdims=True)


def nll(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood (nats per row) of the true classes ``y`` (rows,)."""
    p = np.asarray(proba)[np.arange(len(y)), np.asarray(y)]
    return float(-np.log(np.maximum(p, _EPS)).mean())


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the NLL of out-of-sample ``proba`` (rows, classes) for
    labels ``y`` (rows,), searched on log T in [−3, 3] (bounded Brent)."""
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda lt: nll(apply_temperature(proba, float(np.exp(lt))), y),
                          bounds=_LOG_T_RANGE, method="bounded",
                          options={"xatol": 1e-6})
    return float(np.exp(res.x))


def top_label_ece(proba: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label expected calibration error of (rows, classes) ``proba`` for labels ``y``:
    equal-width bins of the top probability over [0, 1] (a value on an edge goes to the bin
    below), weighted mean |accuracy − mean confidence| per bin."""
    p = np.asarray(proba)
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == np.asarray(y)
    return confidence_ece(conf, correct, bins)


def confidence_ece(conf: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of confidences ``conf`` (rows,) against 0/1 ``correct`` (rows,); see
    :func:`top_label_ece`."""
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    idx = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in np.unique(idx):
        m = idx == b
        total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


@dataclass(frozen=True)
class Threshold:
    """A reject threshold and what it gave on the rows it was chosen on."""

    threshold: float   # accept when the calibrated top probability >= threshold
    target: float      # the accuracy asked for on accepted rows
    coverage: float    # share of rows accepted
    accuracy: float | None  # accuracy on accepted rows (None: none accepted)
    rows: int          # rows it was chosen on
    reached: bool      # False: no threshold reaches the target; every part is referred

    def to_json(self) -> dict[str, Any]:
        # the threshold unrounded: a part exactly at it must be decided as when chosen
        return {"threshold": self.threshold, "target_accuracy": self.target,
                "coverage": round(self.coverage, 4),
                "accuracy_accepted": None if self.accuracy is None else round(self.accuracy, 4),
                "rows": self.rows, "reached": self.reached}


def choose_threshold(conf: np.ndarray, correct: np.ndarray, target: float = DEFAULT_TARGET
                     ) -> Threshold:
    """The lowest threshold on ``conf`` (rows,) whose accepted rows (``conf >= threshold``)
    are right (``correct``, rows of 0/1) at least ``target`` of the time, i.e. the largest
    coverage at the target. Cuts fall only between distinct confidences (tied rows are
    accepted or referred together). When no cut reaches the target the threshold is just
    above 1 (no part is accepted: every one goes to an inspector) and ``reached`` is
    False."""
    if not 0 < target <= 1:
        raise ValueError(f"target accuracy must be in (0, 1], got {target}")
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    n = conf.size
    if n == 0:
        return Threshold(NOTHING_ACCEPTED, target, 0.0, None, 0, False)
    order = np.argsort(-conf, kind="stable")
    c, ok = conf[order], correct[order]
    acc = np.cumsum(ok) / np.arange(1, n + 1)
    last_of_tie = np.append(c[1:] < c[:-1], True)  # a cut after row k keeps ties together
    good = np.flatnonzero((acc >= target - 1e-12) & last_of_tie)
    if good.size == 0:
        return Threshold(NOTHING_ACCEPTED, target, 0.0, None, n, False)
    k = int(good.max())
    return Threshold(float(c[k]), target, (k + 1) / n, float(acc[k]), n, True)


def coverage_curve(conf: np.ndarray, correct: np.ndarray,
                   coverages: Sequence[float] | None = None) -> list[dict[str, float]]:
    """Accuracy on the accepted rows when the ``coverage`` share with the highest ``conf``
    is accepted, for each coverage (default 0.05, 0.10, …, 1.00): a list of
    ``{"coverage", "threshold", "accuracy"}`` (the threshold = the lowest accepted conf)."""
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    order = np.argsort(-conf, kind="stable")
    c, ok = conf[order], correct[order]
    acc = np.cumsum(ok) / np.arange(1, len(c) + 1)
    grid = coverages if coverages is not None else np.round(np.arange(1, 21) * 0.05, 2)
    out = []
    for cov in grid:
        k = max(1, round(float(cov) * len(c)))
        out.append({"coverage": round(k / len(c), 4), "threshold": round(float(c[k - 1]), 4),
                    "accuracy": round(float(acc[k - 1]), 4)})
    return out


def decisions(conf: np.ndarray, threshold: float) -> list[str]:
    """``accept`` where ``conf >= threshold``, else ``refer`` (one per row)."""
    return [ACCEPT if c >= threshold else REFER for c in np.asarray(conf, dtype=np.float64)]


@dataclass
class Calibration:
    """What a quality model folder says about its probabilities and its reject threshold:
    the card's ``calibration`` section plus ``calibration.npz`` (the out-of-sample
    calibrated confidences and correctness the threshold was chosen on)."""

    temperature: float
    threshold: Threshold
    conf: np.ndarray      # (rows,) calibrated out-of-sample top probabilities
    correct: np.ndarray   # (rows,) bool: was the top class right
    info: dict[str, Any]  # the card section (method, ECE figures, where the rows came from)

    def threshold_for(self, target: float | None) -> Threshold:
        """The threshold for ``target`` (None or the stored target: the stored one)."""
        if target is None or abs(target - self.threshold.target) < 1e-12:
            return self.threshold
        return choose_threshold(self.conf, self.correct, target)

    def calibrate(self, proba: np.ndarray) -> np.ndarray:
        return apply_temperature(proba, self.temperature)

    def save(self, folder: Path) -> None:
        save_arrays(Path(folder) / CALIBRATION_FILE,
                    {"conf": np.asarray(self.conf, dtype=np.float64),
                     "correct": np.asarray(self.correct, dtype=np.uint8)})

    def card_section(self) -> dict[str, Any]:
        return {**self.info, "method": "temperature", "temperature": round(self.temperature, 6),
                "reject": self.threshold.to_json(), "file": CALIBRATION_FILE}


def fit_calibration(oof_proba: np.ndarray, y: np.ndarray, target: float = DEFAULT_TARGET,
                    info: dict[str, Any] | None = None, bins: int = ECE_BINS) -> Calibration:
    """Temperature and reject threshold from out-of-sample ``oof_proba`` (rows, classes) and
    labels ``y`` (rows,). ``info`` (where the rows came from) goes into the card section,
    with the rows' ECE before and after."""
    y = np.asarray(y)
    t = fit_temperature(oof_proba, y)
    cal = apply_temperature(oof_proba, t)
    conf = cal.max(axis=1)
    correct = cal.argmax(axis=1) == y
    section = {**(info or {}), "ece_bins": bins,
               "oof_ece_before": round(top_label_ece(oof_proba, y, bins), 4),
               "oof_ece_after": round(top_label_ece(cal, y, bins), 4),
               "oof_nll_before": round(nll(oof_proba, y), 4),
               "oof_nll_after": round(nll(cal, y), 4)}
    return Calibration(t, choose_threshold(conf, correct, target), conf, correct, section)


def load_calibration(folder: Path, section: Any) -> Calibration | None:
    """The calibration a card section names (None when the card has none); refuses a
    section or file that does not make sense with a :class:`ModelError`."""
    if not section:
        return None
    path = Path(folder) / CALIBRATION_FILE
    if not isinstance(section, dict) or section.get("method") != "temperature":
        raise ModelError(f"{folder}: card 'calibration' must be a temperature calibration")
    t = section.get("temperature")
    rej = section.get("reject")
    if (not isinstance(t, (int, float)) or not np.isfinite(t) or not 0 < t < 100
            or not isinstance(rej, dict)):
        raise ModelError(f"{folder}: card 'calibration' needs a positive 'temperature' and "
                         f"a 'reject' section")
    try:
        thr = Threshold(float(rej["threshold"]), float(rej["target_accuracy"]),
                        float(rej["coverage"]),
                        None if rej.get("accuracy_accepted") is None
                        else float(rej["accuracy_accepted"]), int(rej["rows"]),
                        bool(rej["reached"]))
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{folder}: card 'calibration.reject' is incomplete") from None
    if not 0 < thr.target <= 1:
        raise ModelError(f"{folder}: card 'calibration.reject.target_accuracy' must be in (0, 1]")
    if not np.isfinite(thr.threshold) or not 0 <= thr.threshold <= NOTHING_ACCEPTED:
        raise ModelError(f"{folder}: card 'calibration.reject.threshold' must be in [0, 1]")
    a = load_arrays(path, {"conf": "f", "correct": "ub"})
    check_shape(path, "conf", a["conf"], (None,))
    check_shape(path, "correct", a["correct"], (len(a["conf"]),))
    if a["conf"].size and (a["conf"].min() < 0 or a["conf"].max() > 1 + 1e-9):
        raise ModelError(f"{path}: confidences outside [0, 1]")
    return Calibration(float(t), thr, a["conf"], a["correct"].astype(bool), dict(section))


__all__ = ["ACCEPT", "CALIBRATION_FILE", "DEFAULT_TARGET", "ECE_BINS", "REFER", "Calibration",
           "Threshold", "apply_temperature", "choose_threshold", "confidence_ece",
           "coverage_curve", "decisions", "fit_calibration", "fit_temperature",
           "load_calibration", "nll", "top_label_ece"]
