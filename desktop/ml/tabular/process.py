"""Process monitoring model: consecutive samples of named process variables → anomaly score,
alarm, most likely fault and the variables that contribute most.

Three detectors, each with a limit from **normal training data only**; a sample is *over*
when any of them is over, and ``score`` is the largest of the three scores (each divided by
its own limit, so ``score > 1`` is one sample over a limit):

* **lagged Mahalanobis** (:class:`Detector`): every sample is extended with the ``lags``
  samples before it (a dynamic, DPCA-like view), standardised with the normal training
  data and scored by its squared Mahalanobis distance under a Ledoit–Wolf shrunk covariance
  of normal operation (T² on all directions);
* **window statistics** (:class:`WindowDetector`): over the last ``window`` samples, the
  mean of each standardised variable and the log of its standard deviation (relative to
  normal), scored the same way. It sees what a single sample cannot: a variable that
  became noisier (random-variation faults), quieter, or slightly but persistently offset.
  Rows with fewer than ``window`` samples before them are not judged by it (score 0);
* **flatline**: a variable that never repeats a value in normal operation and now has not
  changed for more than ``flat_limit`` samples (a stuck valve or a frozen sensor). Its score
  is the run length / ``flat_limit``.

Limits: the normal run is cut into contiguous blocks; for each block a detector fitted on
the other blocks scores it; the limit is the ``quantile`` of these out-of-block scores
(in-sample scores would put the limit far too low).

Alarm rule: ``alarm`` when at least ``n_of_m[0]`` of the last ``n_of_m[1]`` samples (this one
included) are over. Rows must be consecutive samples in time order.

Contributors: a T² splits exactly into one term per input (z_i · (Σ⁻¹z)_i); per variable,
the terms of its lagged values (divided by that detector's limit) plus those of its window
mean and spread (divided by theirs) plus its flatline score are summed, and the variables
with the largest positive sums are listed, strongest first (a contribution plot).

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


def window_stats(X: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation of the last ``window`` rows (this one included) per row,
    and per row the number of rows they cover (fewer than ``window`` at the start)."""
    from numpy.lib.stride_tricks import sliding_window_view

    X = np.asarray(X, dtype=np.float64)
    pad = np.vstack([np.repeat(X[:1], window - 1, axis=0), X])
    v = sliding_window_view(pad, window, axis=0)  # (rows, variables, window)
    return v.mean(axis=-1), v.std(axis=-1), np.minimum(np.arange(1, len(X) + 1), window)


def unchanged_runs(X: np.ndarray, cap: int) -> np.ndarray:
    """Per row and variable: for how many samples the value has not changed (0 if it just
    did), counted at most ``cap`` (so ``cap`` rows of context are enough)."""
    X = np.asarray(X, dtype=np.float64)
    same = np.zeros(X.shape, dtype=bool)
    same[1:] = X[1:] == X[:-1]
    out = np.zeros(X.shape, dtype=np.int64)
    run = np.zeros(X.shape[1], dtype=np.int64)
    for i in range(len(X)):
        run = np.where(same[i], np.minimum(run + 1, cap), 0)
        out[i] = run
    return out


SPREAD_FLOOR = 0.05  # in normal standard deviations: keeps log(spread) finite for a flat line


@dataclass
class WindowDetector:
    """T² of the window means and log spreads of the standardised variables."""

    center: np.ndarray      # (p,) normal mean of each variable
    spread: np.ndarray      # (p,) normal standard deviation of each variable
    reference: np.ndarray   # (p,) typical window std of the standardised variables (normal)
    mean: np.ndarray        # (2p,)
    scale: np.ndarray       # (2p,)
    precision: np.ndarray   # (2p, 2p)
    limit: float
    window: int

    def features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows × 2p features, rows with a full window)."""
        m, s, covered = window_stats((np.asarray(X, float) - self.center) / self.spread,
                                     self.window)
        f = np.hstack([m, np.log((s + SPREAD_FLOOR) / (self.reference + SPREAD_FLOOR))])
        return f, covered >= self.window

    @classmethod
    def fit(cls, X: np.ndarray | Sequence[np.ndarray], window: int) -> WindowDetector:
        """Fit on one normal run or several contiguous pieces of it (windows stay inside a
        piece; only rows with a full window are used)."""
        from sklearn.covariance import LedoitWolf

        parts = [p for p in ([X] if isinstance(X, np.ndarray) else list(X)) if len(p)]
        allx = np.vstack(parts)
        center, spread = allx.mean(axis=0), allx.std(axis=0)
        spread[spread < 1e-9] = 1.0
        full = [p for p in parts if len(p) >= window] or parts
        stds = np.vstack([window_stats((p - center) / spread, window)[1][window - 1:]
                          for p in full])
        det = cls(center, spread, np.median(stds, axis=0), np.zeros(0), np.zeros(0),
                  np.zeros((0, 0)), 1.0, window)
        F = []
        for p in full:
            f, ok = det.features(p)
            F.append(f[ok] if ok.any() else f)
        Z = np.vstack(F)
        det.mean = Z.mean(axis=0)
        det.scale = Z.std(axis=0)
        det.scale[det.scale < 1e-9] = 1.0
        det.precision = LedoitWolf().fit((Z - det.mean) / det.scale).precision_
        return det

    def t2_terms(self, X: np.ndarray) -> np.ndarray:
        """(rows, 2p) terms summing to T²; zero for rows without a full window."""
        f, ok = self.features(X)
        z = (f - self.mean) / self.scale
        return z * (z @ self.precision) * ok[:, None]

    def t2(self, X: np.ndarray) -> np.ndarray:
        return self.t2_terms(X).sum(axis=1)


def out_of_block_window_t2(normal: np.ndarray, window: int, blocks: int = 5) -> np.ndarray:
    """Window T² of each normal sample from a detector fitted without its contiguous block
    (the block is scored with the ``window − 1`` samples before it as context)."""
    edges = np.linspace(0, len(normal), blocks + 1).astype(int)
    out = []
    for b in range(blocks):
        det = WindowDetector.fit([normal[:edges[b]], normal[edges[b + 1]:]], window)
        lo = max(0, edges[b] - window + 1)
        t2 = det.t2(normal[lo:edges[b + 1]])[edges[b] - lo:]
        if lo == edges[b]:  # the run's first block: no context, its first rows unjudged
            t2 = t2[window - 1:]
        out.append(t2)
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
    window: WindowDetector | None = None
    flat_watch: np.ndarray | None = None  # (p,) bool: variables that never repeat in normal
    flat_limit: int = 0                   # 0: no flatline check

    @property
    def variables(self) -> list[str]:
        return self.card.input_columns

    @property
    def context_rows(self) -> int:
        """How many earlier samples a verdict depends on (a stream keeps that many)."""
        return max(self.detector.lags, self.window.window - 1 if self.window else 0,
                   self.flat_limit + 1 if self.flat_limit else 0)

    def analyse(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays for a run of consecutive samples: score, over, alarm, fault proba, terms."""
        if np.isnan(X).any():
            raise ModelError("the process model needs every value: the table has empty cells")
        p = len(self.variables)
        terms = self.detector.t2_terms(X) / self.detector.limit
        scores = [terms.sum(axis=1)]
        per_var = terms.reshape(len(X), self.detector.lags + 1, p).sum(axis=1)
        if self.window is not None:
            wt = self.window.t2_terms(X) / self.window.limit
            scores.append(wt.sum(axis=1))
            per_var = per_var + wt[:, :p] + wt[:, p:]
        if self.flat_limit and self.flat_watch is not None and self.flat_watch.any():
            runs = unchanged_runs(X, self.flat_limit + 1) * self.flat_watch
            flat = runs / self.flat_limit
            scores.append(flat.max(axis=1))
            per_var = per_var + np.where(flat > 1, flat, 0.0)
        score = np.max(np.vstack(scores), axis=0)
        over = score > 1.0
        alarm = n_of_m(over, *self.n_of_m)
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
    d, c, w = model.detector, model.classifier, model.window
    Path(folder).mkdir(parents=True, exist_ok=True)
    arrays = {"mean": d.mean, "scale": d.scale, "precision": d.precision,
              "limit": np.array([d.limit]), "coef": c.coef, "intercept": c.intercept}
    if w is not None:
        arrays.update({"window_center": w.center, "window_spread": w.spread,
                       "window_reference": w.reference, "window_mean": w.mean,
                       "window_scale": w.scale, "window_precision": w.precision,
                       "window_limit": np.array([w.limit])})
    if model.flat_limit:
        watch = model.flat_watch if model.flat_watch is not None else np.ones(len(d.mean))
        arrays["flat_watch"] = np.asarray(watch, dtype=np.float64)
    save_arrays(Path(folder) / DETECTOR_FILE, arrays)
    card.save(Path(folder))


WINDOW_ARRAYS = ("window_center", "window_spread", "window_reference", "window_mean",
                 "window_scale", "window_precision", "window_limit")


def load_process(folder: Path, card: TabularCard | None = None) -> ProcessModel:
    """Load a process model folder. ``window`` and ``flat_limit`` in the card's
    hyper-parameters switch on the window and flatline detectors (absent or 0: off, as in
    models trained before they existed)."""
    folder = Path(folder)
    card = card or TabularCard.load(folder)
    if card.kind != "process":
        raise ModelError(f"{folder} holds a {card.kind} model, not a process model")
    hp = card.hyper_parameters
    try:
        lags = int(hp["lags"])
        n, m = (int(v) for v in hp["n_of_m"])
        pmin = float(hp["fault_min_probability"])
        window = int(hp.get("window") or 0)
        flat_limit = int(hp.get("flat_limit") or 0)
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{folder}/card.json: hyper_parameters need lags, n_of_m and "
                         f"fault_min_probability") from None
    if not (0 <= lags <= 50 and 1 <= n <= m <= 1000 and 0 <= pmin <= 1
            and (window == 0 or 2 <= window <= 1000) and 0 <= flat_limit <= 1000):
        raise ModelError(f"{folder}/card.json: lags, n_of_m, fault_min_probability, window "
                         f"or flat_limit out of range")
    path = folder / DETECTOR_FILE
    expected = {"mean": "f", "scale": "f", "precision": "f", "limit": "f",
                "coef": "f", "intercept": "f"}
    if window:
        expected.update({name: "f" for name in WINDOW_ARRAYS})
    if flat_limit:
        expected["flat_watch"] = "f"
    a = load_arrays(path, expected)
    p = len(card.input_columns)
    width = p * (lags + 1)
    k = len(card.classes)
    shapes: list[tuple[str, tuple[int, ...]]] = [
        ("mean", (width,)), ("scale", (width,)), ("precision", (width, width)),
        ("limit", (1,)), ("coef", (k, width)), ("intercept", (k,))]
    if window:
        shapes += [("window_center", (p,)), ("window_spread", (p,)),
                   ("window_reference", (p,)), ("window_mean", (2 * p,)),
                   ("window_scale", (2 * p,)), ("window_precision", (2 * p, 2 * p)),
                   ("window_limit", (1,))]
    if flat_limit:
        shapes.append(("flat_watch", (p,)))
    for name, shape in shapes:
        check_shape(path, name, a[name], shape)
    positive = [a["limit"], a["scale"]]
    if window:
        positive += [a["window_limit"], a["window_scale"], a["window_spread"]]
    if any(np.any(v <= 0) for v in positive) or (window and np.any(a["window_reference"] < 0)):
        raise ModelError(f"{path}: limits and scales must be positive")
    det = Detector(a["mean"], a["scale"], a["precision"], float(a["limit"][0]), lags)
    wdet = None
    if window:
        wdet = WindowDetector(a["window_center"], a["window_spread"], a["window_reference"],
                              a["window_mean"], a["window_scale"], a["window_precision"],
                              float(a["window_limit"][0]), window)
    watch = a["flat_watch"] > 0.5 if flat_limit else None
    return ProcessModel(card, det, FaultClassifier(a["coef"], a["intercept"], card.classes),
                        (n, m), pmin, wdet, watch, flat_limit)


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
