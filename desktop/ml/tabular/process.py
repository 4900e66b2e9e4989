"""Process monitoring model: consecutive samples of named process variables → anomaly score,
alarm, most likely fault and the variables that contribute most.

Detector (``lagged_mahalanobis``): every sample is extended with the ``lags`` samples
before it (a dynamic, DPCA-like view: faults that change the process *dynamics* show up
even when each value alone looks normal), standardised with the normal training data, and
scored by its squared Mahalanobis distance under a Ledoit–Wolf shrunk covariance of normal
operation (T² on all directions; shrinkage keeps it stable with 52 × (lags + 1) inputs and
only a few hundred normal samples). ``score`` is that distance divided by the limit, so
``score > 1`` is one sample over the limit.

The limit is set from **normal training data only**: the normal run is cut into contiguous
blocks; for each block a detector fitted on the other blocks scores it; the limit is the
``quantile`` of these out-of-block scores (in-sample scores would put the limit far too low:
a covariance fitted on 500 samples fits its own samples better than new ones).

Alarm rule: ``alarm`` when at least ``n_of_m[0]`` of the last ``n_of_m[1]`` samples (this one
included) are over the limit. Rows must be consecutive samples in time order.

Contributors: the T² of a sample splits exactly into one term per input (z_i · (Σ⁻¹z)_i);
the terms of a variable's current and lagged values are summed, and the variables with
the largest positive sums are listed, strongest first (a contribution plot).

Fault: a shrinkage LDA over the lagged features, trained on the fault runs, names the most
likely IDV when the alarm is on and its probability reaches ``fault_min_probability``;
otherwise ``fault`` is null. Faults 3, 9 and 15 are not among its classes: in this data
they are indistinguishable from normal operation (the literature agrees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.ml.errors import ModelError
from desktop.ml.tabular.arrays import check_shape, load_arrays, save_arrays
from desktop.ml.tabular.card import TabularCard
from desktop.ml.tabular.table import match_columns, read_frame

TEP_COLUMNS = [f"xmeas_{i}" for i in range(1, 42)] + [f"xmv_{i}" for i in range(1, 12)]
DETECTOR_FILE = "detector.npz"
TOP_CONTRIBUTORS = 5


def lagged(X: np.ndarray, lags: int) -> np.ndarray:
    """``[x_t, x_{t-1}, …, x_{t-lags}]`` per row; before the first row, the first row."""
    X = np.asarray(X, dtype=np.float64)
    if lags == 0:
        return X
    pad = np.vstack([np.repeat(X[:1], lags, axis=0), X])
    n = len(X)
    return np.hstack([pad[lags - j:lags - j + n] for j in range(lags + 1)])


def n_of_m(over: np.ndarray, n: int, m: int) -> np.ndarray:
    """True where at least n of the last m flags (this one included) are True."""
    c = np.convolve(over.astype(int), np.ones(m, dtype=int))[:len(over)]
    return c >= n


@dataclass
class Detector:
    mean: np.ndarray        # (p·(L+1),)
    scale: np.ndarray
    precision: np.ndarray   # (p·(L+1), p·(L+1))
    limit: float
    lags: int

    @classmethod
    def fit(cls, X: np.ndarray | Sequence[np.ndarray], lags: int) -> Detector:
        """Fit on one normal run, or on several contiguous pieces of it (lagged apart)."""
        from sklearn.covariance import LedoitWolf

        parts = [X] if isinstance(X, np.ndarray) else list(X)
        Z = np.vstack([lagged(p, lags) for p in parts if len(p)])
        mean = Z.mean(axis=0)
        scale = Z.std(axis=0)
        scale[scale < 1e-9] = 1.0
        prec = LedoitWolf().fit((Z - mean) / scale).precision_
        return cls(mean, scale, prec, 1.0, lags)

    def t2_terms(self, X: np.ndarray) -> np.ndarray:
        z = (lagged(X, self.lags) - self.mean) / self.scale
        return z * (z @ self.precision)  # rows sum to T²

    def t2(self, X: np.ndarray) -> np.ndarray:
        return self.t2_terms(X).sum(axis=1)


def out_of_block_t2(normal: np.ndarray, lags: int, blocks: int = 5) -> np.ndarray:
    """T² of each normal sample from a detector fitted without its contiguous block."""
    edges = np.linspace(0, len(normal), blocks + 1).astype(int)
    out = []
    for b in range(blocks):
        det = Detector.fit([normal[:edges[b]], normal[edges[b + 1]:]], lags)
        out.append(det.t2(normal[edges[b]:edges[b + 1]]))
    return np.concatenate(out)


@dataclass
class FaultClassifier:
    """Linear softmax (from shrinkage LDA) over the detector's standardised lagged inputs."""

    coef: np.ndarray        # (faults, p·(L+1))
    intercept: np.ndarray   # (faults,)
    faults: list[str]

    @classmethod
    def fit(cls, det: Detector, runs: dict[str, list[np.ndarray]]) -> FaultClassifier:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        names = sorted(runs, key=lambda s: int(s.split("_")[-1]) if s[-1].isdigit() else s)
        Z, y = [], []
        for i, name in enumerate(names):
            for piece in runs[name]:
                Z.append((lagged(piece, det.lags) - det.mean) / det.scale)
                y.append(np.full(len(piece), i))
        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(
            np.vstack(Z), np.concatenate(y))
        return cls(lda.coef_.astype(np.float64), lda.intercept_.astype(np.float64), names)

    def proba(self, X: np.ndarray, det: Detector) -> np.ndarray:
        z = (lagged(X, det.lags) - det.mean) / det.scale
        s = z @ self.coef.T + self.intercept
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)


@dataclass
class ProcessModel:
    card: TabularCard
    detector: Detector
    classifier: FaultClassifier
    n_of_m: tuple[int, int]
    fault_min_probability: float

    @property
    def variables(self) -> list[str]:
        return self.card.input_columns

    def analyse(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays for a run of consecutive samples: score, over, alarm, fault proba, terms."""
        if np.isnan(X).any():
            raise ModelError("the process model needs every value: the table has empty cells")
        terms = self.detector.t2_terms(X)
        score = terms.sum(axis=1) / self.detector.limit
        over = score > 1.0
        alarm = n_of_m(over, *self.n_of_m)
        p = len(self.variables)
        per_var = terms.reshape(len(X), self.detector.lags + 1, p).sum(axis=1)
        return {"score": score, "over": over, "alarm": alarm, "per_variable": per_var,
                "fault_proba": self.classifier.proba(X, self.detector)}

    def predict(self, X: np.ndarray, top: int = TOP_CONTRIBUTORS) -> list[dict[str, Any]]:
        return self.rows(self.analyse(X), top)

    def rows(self, a: dict[str, np.ndarray], top: int = TOP_CONTRIBUTORS
             ) -> list[dict[str, Any]]:
        """One verdict dict per row of the :meth:`analyse` arrays ``a``."""
        rows = []
        for i in range(len(a["score"])):
            pf = a["fault_proba"][i]
            k = int(pf.argmax())
            confident = bool(a["alarm"][i]) and pf[k] >= self.fault_min_probability
            order = [j for j in np.argsort(-a["per_variable"][i])[:top]
                     if a["per_variable"][i, j] > 0]
            rows.append({
                "score": round(float(a["score"][i]), 4),
                "alarm": bool(a["alarm"][i]),
                "fault": self.classifier.faults[k] if confident else None,
                "fault_probability": round(float(pf[k]), 4) if confident else None,
                "contributors": [self.variables[j] for j in order],
            })
        return rows


def save_process(folder: Path, card: TabularCard, model: ProcessModel) -> None:
    d, c = model.detector, model.classifier
    Path(folder).mkdir(parents=True, exist_ok=True)
    save_arrays(Path(folder) / DETECTOR_FILE, {
        "mean": d.mean, "scale": d.scale, "precision": d.precision,
        "limit": np.array([d.limit]), "coef": c.coef, "intercept": c.intercept})
    card.save(Path(folder))


def load_process(folder: Path, card: TabularCard | None = None) -> ProcessModel:
    folder = Path(folder)
    card = card or TabularCard.load(folder)
    if card.kind != "process":
        raise ModelError(f"{folder} holds a {card.kind} model, not a process model")
    hp = card.hyper_parameters
    try:
        lags = int(hp["lags"])
        n, m = (int(v) for v in hp["n_of_m"])
        pmin = float(hp["fault_min_probability"])
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{folder}/card.json: hyper_parameters need lags, n_of_m and "
                         f"fault_min_probability") from None
    if not (0 <= lags <= 50 and 1 <= n <= m <= 1000 and 0 <= pmin <= 1):
        raise ModelError(f"{folder}/card.json: lags, n_of_m or fault_min_probability out "
                         f"of range")
    path = folder / DETECTOR_FILE
    a = load_arrays(path, {"mean": "f", "scale": "f", "precision": "f", "limit": "f",
                           "coef": "f", "intercept": "f"})
    width = len(card.input_columns) * (lags + 1)
    k = len(card.classes)
    for name, shape in (("mean", (width,)), ("scale", (width,)), ("precision", (width, width)),
                        ("limit", (1,)), ("coef", (k, width)), ("intercept", (k,))):
        check_shape(path, name, a[name], shape)
    if a["limit"][0] <= 0 or np.any(a["scale"] <= 0):
        raise ModelError(f"{path}: limit and scales must be positive")
    det = Detector(a["mean"], a["scale"], a["precision"], float(a["limit"][0]), lags)
    return ProcessModel(card, det, FaultClassifier(a["coef"], a["intercept"], card.classes),
                        (n, m), pmin)


def predict_table(folder: Path, table: Any) -> dict[str, Any]:
    """The JSON document for a table (path or DataFrame): ``{"model", "notices", "rows"}``."""
    model = load_process(folder)
    t = match_columns(read_frame(table), model.variables, allow_headerless=True,
                      what=f"process model '{model.card.name}'")
    rows = model.predict(t.values)
    if t.ids is not None:
        for r, i in zip(rows, t.ids, strict=True):
            r["id"] = i
    notices = list(t.notices)
    notices.append(f"rows are read as consecutive samples in time order; an alarm needs "
                   f"{model.n_of_m[0]} of the last {model.n_of_m[1]} samples over the limit")
    return {"model": model.card.name, "kind": "process", "id_column": t.id_column,
            "notices": notices, "rows": rows}
