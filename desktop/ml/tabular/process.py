"""Process monitoring model: consecutive samples of named process variables → anomaly score,
alarm, most likely fault and the variables that contribute most.

Four detectors, each with a limit from **normal training data only**; a sample is *over*
when any of them is over, and ``score`` is the largest of their scores (each divided by
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
* **difference window** (:class:`WindowDetector` with ``differences=True``): the same
  statistics over the last ``diff_window`` *first differences* ``x_t − x_{t−1}``: the mean
  difference is the variable's slope over the window, the spread of the differences its
  sample-to-sample jitter. It sees the random-variation faults whose level stays inside
  normal limits but whose short-term movement changes (IDV 16 and 19 in TEP). Its limit has
  a margin (``diff_limit_margin``): a 30-sample window has few independent values in a
  500-sample normal run, so the plain quantile sits low;
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
mean and spread and of its difference-window mean and spread (each divided by its
detector's limit) plus its flatline score are summed, and the variables
with the largest positive sums are listed, strongest first (a contribution plot).

Contributor clarity (issue 26): ``contributor_share`` = the top contributor's positive sum
divided by the sum of all 52 variables' positive sums (0–1; None when no variable
contributes). ``contributors_clear`` is True when that share is at least
:data:`CLEAR_SHARE` (0.5: one variable holds the majority of the excess, so the
contribution plot points at one place), False when it is *diffuse* (the excess is spread
over many variables: a plant-wide upset, where the top bar alone is a weak hint). On the
TEP training runs (limits from the normal run only) single-loop faults are clear on most
alarmed samples (IDV 4: 100 %, 17: 97 %, 21: 100 %, 6: 76 %) and plant-wide ones diffuse
(IDV 1, 2, 8, 12, 19: ≤ 2 % clear); see docs/quality-process.md.

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
from desktop.ml.tabular.table import match_columns, read_frame, refuse_empty_cells

TEP_COLUMNS = [f"xmeas_{i}" for i in range(1, 42)] + [f"xmv_{i}" for i in range(1, 12)]
DETECTOR_FILE = "detector.npz"
TOP_CONTRIBUTORS = 5
#: top contributor's share of all positive contributions from which the plot is "clear"
CLEAR_SHARE = 0.5


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


def first_differences(X: np.ndarray) -> np.ndarray:
    """``x_t − x_{t−1}`` per row, shape of ``X``; the first row (no predecessor) is 0."""
    X = np.asarray(X, dtype=np.float64)
    d = np.zeros_like(X)
    d[1:] = X[1:] - X[:-1]
    return d


@dataclass
class WindowDetector:
    """T² of the window means and log spreads of the standardised variables (or, with
    ``differences``, of their first differences)."""

    center: np.ndarray      # (p,) normal mean of each variable (or difference)
    spread: np.ndarray      # (p,) normal standard deviation of each variable (or difference)
    reference: np.ndarray   # (p,) typical window std of the standardised variables (normal)
    mean: np.ndarray        # (2p,)
    scale: np.ndarray       # (2p,)
    precision: np.ndarray   # (2p, 2p)
    limit: float
    window: int
    differences: bool = False

    @property
    def context(self) -> int:
        """Earlier rows a full window needs (one more for differences)."""
        return self.window - 1 + int(self.differences)

    def series(self, X: np.ndarray) -> np.ndarray:
        """The rows the window statistics are taken over: ``X`` or its first differences."""
        return first_differences(X) if self.differences else np.asarray(X, dtype=np.float64)

    def features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows × 2p features, rows with a full window)."""
        m, s, _ = window_stats((self.series(X) - self.center) / self.spread, self.window)
        f = np.hstack([m, np.log((s + SPREAD_FLOOR) / (self.reference + SPREAD_FLOOR))])
        return f, np.arange(len(f)) >= self.context

    @classmethod
    def fit(cls, X: np.ndarray | Sequence[np.ndarray], window: int,
            differences: bool = False) -> WindowDetector:
        """Fit on one normal run or several contiguous pieces of it (windows stay inside a
        piece; only rows with a full window are used)."""
        from sklearn.covariance import LedoitWolf

        parts = [p for p in ([X] if isinstance(X, np.ndarray) else list(X))
                 if len(p) > int(differences)]
        seqs = [first_differences(p)[1:] if differences else np.asarray(p, float)
                for p in parts]
        allx = np.vstack(seqs)
        center, spread = allx.mean(axis=0), allx.std(axis=0)
        spread[spread < 1e-9] = 1.0
        long_seqs = [q for q in seqs if len(q) >= window] or seqs
        stds = np.vstack([window_stats((q - center) / spread, window)[1][window - 1:]
                          for q in long_seqs])
        det = cls(center, spread, np.median(stds, axis=0), np.zeros(0), np.zeros(0),
                  np.zeros((0, 0)), 1.0, window, differences)
        full = [p for p in parts if len(p) > det.context] or parts
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


def out_of_block_window_t2(normal: np.ndarray, window: int, blocks: int = 5,
                           differences: bool = False) -> np.ndarray:
    """Window T² of each normal sample from a detector fitted without its contiguous block
    (the block is scored with the samples a full window needs before it as context)."""
    edges = np.linspace(0, len(normal), blocks + 1).astype(int)
    out = []
    for b in range(blocks):
        det = WindowDetector.fit([normal[:edges[b]], normal[edges[b + 1]:]], window,
                                 differences)
        lo = max(0, edges[b] - det.context)
        t2 = det.t2(normal[lo:edges[b + 1]])[edges[b] - lo:]
        if lo == edges[b]:  # the run's first block: no context, its first rows unjudged
            t2 = t2[det.context:]
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

    def rebased(self, old: Detector, new: Detector) -> FaultClassifier:
        """The same scores for inputs standardised by ``new`` instead of ``old`` (limits
        refitted on a plant's own normal data keep the fault namer): with
        ``z_old = (x − m_old)/s_old`` and ``x = z_new·s_new + m_new``, the coefficients
        become ``coef·s_new/s_old`` and the intercept gains ``coef·(m_new − m_old)/s_old``.

        Raises:
            ModelError: the two detectors have different lags or widths.
        """
        if old.lags != new.lags or old.mean.shape != new.mean.shape:
            raise ModelError("the fault namer needs the same variables and lags as before")
        coef = self.coef * (new.scale / old.scale)
        intercept = self.intercept + self.coef @ ((new.mean - old.mean) / old.scale)
        return FaultClassifier(coef, intercept, list(self.faults))

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
    classifier: FaultClassifier | None  # None: names no fault (a monitor without fault runs)
    n_of_m: tuple[int, int]
    fault_min_probability: float
    window: WindowDetector | None = None
    flat_watch: np.ndarray | None = None  # (p,) bool: variables that never repeat in normal
    flat_limit: int = 0                   # 0: no flatline check
    diff_window: WindowDetector | None = None  # over first differences; None: off

    @property
    def variables(self) -> list[str]:
        return self.card.input_columns

    @property
    def context_rows(self) -> int:
        """How many earlier samples a verdict depends on (a stream keeps that many)."""
        return max(self.detector.lags, self.window.context if self.window else 0,
                   self.diff_window.context if self.diff_window else 0,
                   self.flat_limit + 1 if self.flat_limit else 0)

    def analyse(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays for a run of consecutive samples: score, over, alarm, fault proba, terms."""
        if np.isnan(X).any():
            raise ModelError("the process model needs every value: the table has empty cells")
        p = len(self.variables)
        terms = self.detector.t2_terms(X) / self.detector.limit
        scores = [terms.sum(axis=1)]
        per_var = terms.reshape(len(X), self.detector.lags + 1, p).sum(axis=1)
        for wdet in (self.window, self.diff_window):
            if wdet is not None:
                wt = wdet.t2_terms(X) / wdet.limit
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
        proba = (self.classifier.proba(X, self.detector) if self.classifier is not None
                 else np.zeros((len(X), 0)))
        return {"score": score, "over": over, "alarm": alarm, "per_variable": per_var,
                "fault_proba": proba}

    def predict(self, X: np.ndarray, top: int = TOP_CONTRIBUTORS) -> list[dict[str, Any]]:
        return self.rows(self.analyse(X), top)

    def rows(self, a: dict[str, np.ndarray], top: int = TOP_CONTRIBUTORS
             ) -> list[dict[str, Any]]:
        """One verdict dict per row of the :meth:`analyse` arrays ``a``."""
        rows = []
        for i in range(len(a["score"])):
            pf = a["fault_proba"][i]
            k = int(pf.argmax()) if pf.size else -1
            confident = (bool(a["alarm"][i]) and self.classifier is not None and k >= 0
                         and pf[k] >= self.fault_min_probability)
            order = [j for j in np.argsort(-a["per_variable"][i])[:top]
                     if a["per_variable"][i, j] > 0]
            positive = np.maximum(a["per_variable"][i], 0.0)
            total = float(positive.sum())
            share = float(positive.max()) / total if order and total > 0 else None
            rows.append({
                "score": round(float(a["score"][i]), 4),
                "alarm": bool(a["alarm"][i]),
                "fault": self.classifier.faults[k] if confident and self.classifier else None,
                "fault_probability": round(float(pf[k]), 4) if confident else None,
                "contributors": [self.variables[j] for j in order],
                # each contributor's summed terms (in units of its detectors' limits): the
                # bars of the contribution plot, in the same order
                "contributions": [round(float(a["per_variable"][i, j]), 4) for j in order],
                # the top contributor's share of all positive contributions, and whether
                # that makes the plot clear (>= CLEAR_SHARE) or diffuse
                "contributor_share": None if share is None else round(share, 4),
                "contributors_clear": None if share is None else bool(share >= CLEAR_SHARE),
            })
        return rows


def save_process(folder: Path, card: TabularCard, model: ProcessModel) -> None:
    d, c, w = model.detector, model.classifier, model.window
    Path(folder).mkdir(parents=True, exist_ok=True)
    arrays = {"mean": d.mean, "scale": d.scale, "precision": d.precision,
              "limit": np.array([d.limit])}
    if c is not None:
        arrays.update({"coef": c.coef, "intercept": c.intercept})
    for prefix, wd in (("window", w), ("diff_window", model.diff_window)):
        if wd is not None:
            arrays.update({f"{prefix}_center": wd.center, f"{prefix}_spread": wd.spread,
                           f"{prefix}_reference": wd.reference, f"{prefix}_mean": wd.mean,
                           f"{prefix}_scale": wd.scale, f"{prefix}_precision": wd.precision,
                           f"{prefix}_limit": np.array([wd.limit])})
    if model.flat_limit:
        watch = model.flat_watch if model.flat_watch is not None else np.ones(len(d.mean))
        arrays["flat_watch"] = np.asarray(watch, dtype=np.float64)
    save_arrays(Path(folder) / DETECTOR_FILE, arrays)
    card.save(Path(folder))


WINDOW_ARRAYS = ("center", "spread", "reference", "mean", "scale", "precision", "limit")


def _window_shapes(prefix: str, p: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{prefix}_center", (p,)), (f"{prefix}_spread", (p,)),
            (f"{prefix}_reference", (p,)), (f"{prefix}_mean", (2 * p,)),
            (f"{prefix}_scale", (2 * p,)), (f"{prefix}_precision", (2 * p, 2 * p)),
            (f"{prefix}_limit", (1,))]


def load_process(folder: Path, card: TabularCard | None = None) -> ProcessModel:
    """Load a process model folder. ``window``, ``diff_window`` and ``flat_limit`` in the
    card's hyper-parameters switch on the window, difference-window and flatline detectors
    (absent or 0: off, as in models trained before they existed).

    Raises:
        ModelError: the card's hyper-parameters are missing or out of range, or
            ``detector.npz`` lacks an array, has a wrong shape, a non-positive limit or
            scale, or is not a plain-array file.
    """
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
        diff_window = int(hp.get("diff_window") or 0)
        flat_limit = int(hp.get("flat_limit") or 0)
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{folder}/card.json: hyper_parameters need lags, n_of_m and "
                         f"fault_min_probability") from None
    if not (0 <= lags <= 50 and 1 <= n <= m <= 1000 and 0 <= pmin <= 1
            and all(w == 0 or 2 <= w <= 1000 for w in (window, diff_window))
            and 0 <= flat_limit <= 1000):
        raise ModelError(f"{folder}/card.json: lags, n_of_m, fault_min_probability, window, "
                         f"diff_window or flat_limit out of range")
    path = folder / DETECTOR_FILE
    windows = [prefix for prefix, w in (("window", window), ("diff_window", diff_window)) if w]
    k = len(card.classes)
    expected = {"mean": "f", "scale": "f", "precision": "f", "limit": "f"}
    if k:  # a fault namer; a monitor trained without fault runs has no classes
        expected.update({"coef": "f", "intercept": "f"})
    for prefix in windows:
        expected.update({f"{prefix}_{name}": "f" for name in WINDOW_ARRAYS})
    if flat_limit:
        expected["flat_watch"] = "f"
    a = load_arrays(path, expected)
    p = len(card.input_columns)
    width = p * (lags + 1)
    shapes: list[tuple[str, tuple[int, ...]]] = [
        ("mean", (width,)), ("scale", (width,)), ("precision", (width, width)),
        ("limit", (1,))]
    if k:
        shapes += [("coef", (k, width)), ("intercept", (k,))]
    for prefix in windows:
        shapes += _window_shapes(prefix, p)
    if flat_limit:
        shapes.append(("flat_watch", (p,)))
    for name, shape in shapes:
        check_shape(path, name, a[name], shape)
    positive = [a["limit"], a["scale"]]
    for prefix in windows:
        positive += [a[f"{prefix}_limit"], a[f"{prefix}_scale"], a[f"{prefix}_spread"]]
    if any(np.any(v <= 0) for v in positive) or any(
            np.any(a[f"{prefix}_reference"] < 0) for prefix in windows):
        raise ModelError(f"{path}: limits and scales must be positive")
    det = Detector(a["mean"], a["scale"], a["precision"], float(a["limit"][0]), lags)

    def window_detector(prefix: str, size: int) -> WindowDetector | None:
        if not size:
            return None
        return WindowDetector(*(a[f"{prefix}_{name}"] for name in WINDOW_ARRAYS[:-1]),
                              limit=float(a[f"{prefix}_limit"][0]), window=size,
                              differences=prefix == "diff_window")

    watch = a["flat_watch"] > 0.5 if flat_limit else None
    clf = FaultClassifier(a["coef"], a["intercept"], card.classes) if k else None
    return ProcessModel(card, det, clf,
                        (n, m), pmin, window_detector("window", window), watch, flat_limit,
                        window_detector("diff_window", diff_window))


def predict_table(folder: Path, table: Any) -> dict[str, Any]:
    """The JSON document for a table (path or DataFrame): ``{"model", "notices", "rows"}``."""
    model = load_process(folder)
    t = match_columns(read_frame(table), model.variables, allow_headerless=True,
                      what=f"process model '{model.card.name}'")
    refuse_empty_cells(t, "the process model needs every value of every sample; fill the "
                          "cells or cut those rows")
    rows = model.predict(t.values)
    if t.ids is not None:
        for r, i in zip(rows, t.ids, strict=True):
            r["id"] = i
    notices = list(t.notices)
    notices.append(f"rows are read as consecutive samples in time order; an alarm needs "
                   f"{model.n_of_m[0]} of the last {model.n_of_m[1]} samples over the limit")
    windows = [(w.context, f"{'difference ' if w.differences else ''}window of {w.window}")
               for w in (model.window, model.diff_window) if w is not None]
    unjudged = [f"the {what} from row {context + 1}" for context, what in windows
                if len(rows) <= context + model.n_of_m[1]]
    if unjudged:
        notices.append(f"only {len(rows)} rows: {'; '.join(unjudged)} on (slow changes "
                       f"and changed noise are seen only after that); give a longer run")
    return {"model": model.card.name, "kind": "process", "id_column": t.id_column,
            "notices": notices, "rows": rows}
