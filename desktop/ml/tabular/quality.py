"""Per-part quality model: one row of named measurements → a defect class.

Candidate learners, compared by stratified cross-validation in :func:`cross_validate`:

* ``hgb_trees``: scikit-learn ``HistGradientBoostingClassifier``, stored as plain arrays
  (:mod:`desktop.ml.tabular.trees`, no pickle);
* ``hgb_forest``: a soft vote (weighted mean of the class probabilities) of the boosted
  trees and an ``ExtraTreesClassifier`` / ``RandomForestClassifier``, both stored as plain
  arrays (``trees.npz``, ``forest.npz``);
* ``mlp``: a small torch MLP (two hidden layers, dropout, AdamW) on standardised features
  (log1p first for the skewed, non-negative columns), stored as plain arrays and run with
  numpy at prediction time (so predicting needs neither torch nor scikit-learn).

Any of them may learn from derived features as well as the input columns
(``hyper_parameters["features"]``, :mod:`desktop.ml.tabular.features`): the learner object
takes the input columns and derives the rest itself, so training, prediction and
fine-tuning all apply the same transform.

Each verdict carries ``class``, ``probability``, ``decision`` and ``top_features``: per-row
*occlusion* contributions: for each feature, how much the predicted class's probability
drops when that one value is replaced by the training median (positive: the value pushed
towards the verdict). Cheap (one extra prediction per feature) and model-agnostic; not SHAP.

A model whose card has a ``calibration`` section (:mod:`desktop.ml.tabular.calibration`)
reports temperature-scaled probabilities (occluded ones too) and ``decision`` ``accept``
when the calibrated ``probability`` reaches its reject threshold, else ``refer``; a model
without one reports its raw probabilities and accepts every part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.ml.errors import ModelError
from desktop.ml.tabular.arrays import check_shape, load_arrays, save_arrays
from desktop.ml.tabular.calibration import (
    ACCEPT,
    CALIBRATION_FILE,
    REFER,
    Calibration,
    Threshold,
    load_calibration,
)
from desktop.ml.tabular.card import TabularCard
from desktop.ml.tabular.features import RAW, Transform, make_transform
from desktop.ml.tabular.table import match_columns, read_frame
from desktop.ml.tabular.trees import TREE_ARRAYS, Forest, TreeEnsemble, export_forest, export_hgb

TREES_FILE = "trees.npz"
FOREST_FILE = "forest.npz"
MLP_FILE = "mlp.npz"
PREP_FILE = "preprocess.npz"
TOP_FEATURES = 3
TREE_ARCHITECTURES = ("hgb_trees", "hgb_forest")

HGB_DEFAULT = {"learning_rate": 0.05, "max_iter": 300, "max_leaf_nodes": 15,
               "min_samples_leaf": 20, "l2_regularization": 1.0}
FOREST_DEFAULT = {"kind": "extra_trees", "n_estimators": 300, "max_features": 0.5,
                  "min_samples_leaf": 1}
MLP_DEFAULT = {"hidden": [128, 64], "dropout": 0.2, "epochs": 300, "learning_rate": 3e-3,
               "weight_decay": 1e-3, "batch_size": 128}
_FOREST_KINDS = ("extra_trees", "random_forest")


def model_files(arch: str) -> list[str]:
    """The numeric files (besides ``replay.npz``) a quality model folder holds."""
    return [PREP_FILE, *{"hgb_trees": [TREES_FILE], "hgb_forest": [TREES_FILE, FOREST_FILE],
                         "mlp": [MLP_FILE]}[arch]]


def split_params(arch: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(feature set name, the learner's own settings) from a card's hyper-parameters."""
    p = dict(params)
    features = str(p.pop("features", RAW) or RAW)
    if arch == "hgb_forest":
        if not isinstance(p.get("hgb"), dict) or not isinstance(p.get("forest"), dict):
            raise ModelError("an hgb_forest model needs 'hgb' and 'forest' settings")
        w = p.get("weights", [0.5, 0.5])
        if (not isinstance(w, list) or len(w) != 2 or not all(isinstance(v, (int, float))
                                                              for v in w)
                or min(w) < 0 or sum(w) <= 0):
            raise ModelError("hgb_forest 'weights' must be two non-negative numbers")
        kind = p["forest"].get("kind", "extra_trees")
        if kind not in _FOREST_KINDS:
            raise ModelError(f"forest kind must be one of {', '.join(_FOREST_KINDS)}")
    return features, p


# ---------------------------------------------------------------------------- learners
def fit_hgb(X: np.ndarray, y: np.ndarray, params: dict[str, Any], seed: int = 0,
            sample_weight: np.ndarray | None = None):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(early_stopping=False, random_state=seed,
                                          **params).fit(X, y, sample_weight=sample_weight)


def fit_forest(X: np.ndarray, y: np.ndarray, params: dict[str, Any], seed: int = 0,
               sample_weight: np.ndarray | None = None):
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    p = {**FOREST_DEFAULT, **params}
    cls = ExtraTreesClassifier if p.pop("kind") == "extra_trees" else RandomForestClassifier
    return cls(n_jobs=1, random_state=seed, **p).fit(X, y, sample_weight=sample_weight)


def occluded_copies_proba(predict_proba: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                          median: np.ndarray) -> np.ndarray:
    """(rows, inputs, classes): ``predict_proba`` of every copy of every row with one input
    set to its ``median`` — the plain occlusion, for any learner."""
    n, d = X.shape
    rep = np.repeat(X[:, None, :], d, axis=1)   # (n, d, d)
    rep[:, np.arange(d), np.arange(d)] = median  # occlude one input each
    return predict_proba(rep.reshape(n * d, d)).reshape(n, d, -1)


class _Occlusion:
    """One tree ensemble's walk of ``Z`` (leaves and path masks), and its per-row sums of
    leaf values (by output for boosted trees, ``tree_output``; class distributions summed
    for a forest, ``tree_output`` None) after moving only the paths an occlusion touches."""

    def __init__(self, nodes: Any, Z: np.ndarray, value: np.ndarray,
                 tree_output: np.ndarray | None, n_outputs: int = 0) -> None:
        n, t = Z.shape[0], nodes.n_trees
        self.nodes, self.value = nodes, value
        self.starts = np.tile(nodes.tree_start[:-1], n)
        self.rows = np.repeat(np.arange(n), t)
        self.leaf, self.mask = nodes.walk(Z, self.rows, self.starts, paths=True)
        self.out = None if tree_output is None else np.tile(tree_output, n)
        v = value[self.leaf]
        if self.out is None:  # forest: (rows, classes)
            self.total = v.reshape(n, t, -1).sum(axis=1)
        else:  # boosted: (rows, outputs)
            self.total = np.zeros((n, n_outputs))
            np.add.at(self.total, (self.rows, self.out), v)

    def moved(self, Zj: np.ndarray, bits: np.uint64, baseline: np.ndarray | None
              ) -> np.ndarray:
        hit = np.flatnonzero(self.mask & bits)
        total = self.total.copy()
        if hit.size:
            new, _ = self.nodes.walk(Zj, self.rows[hit], self.starts[hit])
            delta = self.value[new] - self.value[self.leaf[hit]]
            if self.out is None:
                np.add.at(total, self.rows[hit], delta)
            else:
                np.add.at(total, (self.rows[hit], self.out[hit]), delta)
        return total if baseline is None else total + baseline


@dataclass
class TreeLearner:
    """Boosted trees, optionally soft-voted with a forest, behind a feature transform."""

    transform: Transform
    hgb: TreeEnsemble
    forest: Forest | None = None
    weights: tuple[float, float] = (1.0, 0.0)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Z = self.transform(X)
        p = self.hgb.predict_proba(Z)
        if self.forest is None:
            return p
        w_h, w_f = self.weights
        return (w_h * p + w_f * self.forest.predict_proba(Z)) / (w_h + w_f)

    def occluded_proba(self, X: np.ndarray, median: np.ndarray) -> np.ndarray:
        """(rows, inputs, classes): the probabilities with input ``j`` set to ``median[j]``,
        for every ``j`` — equal to :meth:`predict_proba` of each occluded copy, but faster:
        the first walk records which columns each (row, tree) path splits on, and an
        occlusion re-walks only the paths that split on a column it changes (the input and
        the derived columns computed from it); every other path keeps its leaf."""
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        Z = self.transform(X)
        if Z.shape[1] >= 64:  # path masks are 64-bit: predict every occluded copy
            return occluded_copies_proba(self.predict_proba, X, median)
        parts = [_Occlusion(self.hgb.nodes, Z, self.hgb.value, self.hgb.tree_output,
                            self.hgb.n_outputs)]
        if self.forest is not None:
            parts.append(_Occlusion(self.forest.nodes, self.forest.rounded(Z),
                                    self.forest.value, None))
        q = np.empty((n, d, max(self.hgb.n_outputs, 2)))  # binary: one output, 2 classes
        for j in range(d):
            Xj = X.copy()
            Xj[:, j] = median[j]
            Zj = self.transform(Xj)
            same = (Zj == Z) | (np.isnan(Zj) & np.isnan(Z))
            bits = np.uint64(0)
            for c in np.flatnonzero(~same.all(axis=0)):
                bits |= np.left_shift(np.uint64(1), np.uint64(c))
            raw = parts[0].moved(Zj, bits, self.hgb.baseline)
            p = self.hgb.proba_from_raw(raw)
            if self.forest is not None:
                total = parts[1].moved(self.forest.rounded(Zj), bits, None)
                w_h, w_f = self.weights
                p = (w_h * p + w_f * total / self.forest.n_trees) / (w_h + w_f)
            q[:, j] = p
        return q

    def save(self, folder: Path) -> None:
        self.hgb.save(folder / TREES_FILE)
        if self.forest is not None:
            self.forest.save(folder / FOREST_FILE)


def _skewed(X: np.ndarray) -> np.ndarray:
    """Columns that get log1p before standardising: non-negative and spanning decades."""
    lo, hi = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    return (lo >= 0) & (hi > 100 * np.maximum(np.nanmedian(X, axis=0), 1e-9)) & (hi > 10)


@dataclass
class MLPWeights:
    log_mask: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]  # (W: out×in, b: out)
    transform: Transform | None = None  # input columns → the network's columns

    def prepare(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        X[:, self.log_mask] = np.log1p(np.maximum(X[:, self.log_mask], 0))
        X = (X - self.mean) / self.scale
        return np.nan_to_num(X, nan=0.0)  # a missing value sits at the training mean

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        h = self.prepare(self.transform(X) if self.transform is not None else X)
        for i, (W, b) in enumerate(self.layers):
            h = h @ W.T + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return e / e.sum(axis=1, keepdims=True)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"log_mask": self.log_mask.astype(np.uint8), "mean": self.mean,
               "scale": self.scale}
        for i, (W, b) in enumerate(self.layers):
            out[f"W{i}"], out[f"b{i}"] = W, b
        return out

    def save(self, folder: Path) -> None:
        save_arrays(folder / MLP_FILE, self.arrays())

def fit_mlp(X: np.ndarray, y: np.ndarray, n_classes: int, params: dict[str, Any],
            seed: int = 0) -> MLPWeights:
    from desktop.ml.backend import require_torch

    require_torch("training a quality MLP")
    import torch
    from torch import nn

    p = {**MLP_DEFAULT, **params}
    log_mask = _skewed(X)
    Xl = np.array(X, dtype=np.float64)
    Xl[:, log_mask] = np.log1p(np.maximum(Xl[:, log_mask], 0))
    mean = np.nanmean(Xl, axis=0)
    scale = np.nanstd(Xl, axis=0)
    scale[scale < 1e-12] = 1.0
    prep = MLPWeights(log_mask, mean, scale, [])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Xt = torch.tensor(prep.prepare(X), dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.long)
    dims = [X.shape[1], *p["hidden"], n_classes]
    mods: list[nn.Module] = []
    for i in range(len(dims) - 1):
        mods.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            mods += [nn.ReLU(), nn.Dropout(p["dropout"])]
    net = nn.Sequential(*mods)
    opt = torch.optim.AdamW(net.parameters(), lr=p["learning_rate"],
                            weight_decay=p["weight_decay"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, p["epochs"])
    loss_fn = nn.CrossEntropyLoss()
    n = len(Xt)
    for _ in range(p["epochs"]):
        net.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, p["batch_size"]):
            idx = perm[i:i + p["batch_size"]]
            opt.zero_grad()
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    prep.layers = [(m.weight.detach().double().numpy().copy(),
                    m.bias.detach().double().numpy().copy()) for m in linears]
    return prep


# ---------------------------------------------------------------------------- the model
#: rows judged (and explained) at once by :meth:`QualityModel.predict`
PREDICT_BLOCK = 256


@dataclass
class QualityModel:
    card: TabularCard
    predict_proba: Callable[[np.ndarray], np.ndarray]
    median: np.ndarray  # training medians, the occlusion reference
    #: (X, median) → (rows, inputs, classes) occluded probabilities, when the learner has
    #: a faster way than predicting every occluded copy (trees: only touched paths)
    occluded: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    #: temperature + reject threshold (None: raw probabilities, every part accepted)
    calibration: Calibration | None = None

    @property
    def classes(self) -> list[str]:
        return self.card.classes

    def calibrated_proba(self, X: np.ndarray) -> np.ndarray:
        """(rows, classes) probabilities after the card's temperature (raw without one)."""
        p = self.predict_proba(X)
        return p if self.calibration is None else self.calibration.calibrate(p)

    def threshold(self, target: float | None = None) -> Threshold | None:
        """The reject threshold for ``target`` accuracy on accepted parts (None: the
        card's own target); None when the model has no calibration."""
        return None if self.calibration is None else self.calibration.threshold_for(target)

    def contributions(self, X: np.ndarray, cls: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Occlusion: p(class | x) − p(class | x with feature j set to the median)."""
        n, d = X.shape
        if self.occluded is not None:
            q = self.occluded(X, self.median)
        else:
            q = occluded_copies_proba(self.predict_proba, X, self.median)
        if self.calibration is not None:  # in the same (calibrated) units as ``p``
            q = self.calibration.calibrate(q.reshape(n * d, -1)).reshape(n, d, -1)
        return p[:, None] - q[np.arange(n)[:, None], np.arange(d)[None, :], cls[:, None]]

    def predict(self, X: np.ndarray, top: int = TOP_FEATURES,
                progress: Callable[[int, int], None] | None = None,
                target: float | None = None) -> list[dict[str, Any]]:
        """One verdict per row of ``X`` (rows, inputs): ``class``, ``probability``
        (calibrated when the card says how), ``decision`` (``accept``/``refer`` at the
        threshold for ``target`` accuracy on accepted parts; None: the card's target) and
        the ``top`` inputs by occlusion contribution. ``progress(done, total)`` is called
        after each block of :data:`PREDICT_BLOCK` rows."""
        thr = self.threshold(target)
        cut = None if thr is None else thr.threshold
        rows: list[dict[str, Any]] = []
        for i in range(0, len(X), PREDICT_BLOCK):
            rows += self._predict_block(X[i:i + PREDICT_BLOCK], top, cut)
            if progress is not None:
                progress(min(i + PREDICT_BLOCK, len(X)), len(X))
        return rows

    def _predict_block(self, X: np.ndarray, top: int, cut: float | None
                       ) -> list[dict[str, Any]]:
        proba = self.calibrated_proba(X)
        cls = proba.argmax(axis=1)
        pc = proba[np.arange(len(cls)), cls]
        contrib = self.contributions(X, cls, pc)
        rows = []
        for i in range(len(cls)):
            order = np.argsort(-contrib[i])[:top]
            rows.append({
                "class": self.classes[cls[i]],
                "probability": round(float(pc[i]), 4),
                "decision": decide(float(pc[i]), cut),
                "top_features": [{"feature": self.card.input_columns[j],
                                  "value": None if np.isnan(X[i, j]) else float(X[i, j]),
                                  "contribution": round(float(contrib[i, j]), 4)}
                                 for j in order],
            })
        return rows


def decide(probability: float, cut: float | None) -> str:
    """``accept`` or ``refer`` for one part's calibrated top probability (no threshold:
    ``accept``)."""
    return ACCEPT if cut is None or probability >= cut else REFER


def save_quality(folder: Path, card: TabularCard, learner: TreeLearner | MLPWeights,
                 median: np.ndarray, calibration: Calibration | None = None) -> None:
    """Write a quality model folder; with ``calibration``, the card gets its section and
    the folder ``calibration.npz`` (listed in ``files``)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_arrays(folder / PREP_FILE, {"median": median})
    learner.save(folder)
    if calibration is not None:
        calibration.save(folder)
        card.calibration = calibration.card_section()
        if CALIBRATION_FILE not in card.files:
            card.files = [*card.files, CALIBRATION_FILE]
    card.save(folder)


def load_quality(folder: Path, card: TabularCard | None = None) -> QualityModel:
    folder = Path(folder)
    card = card or TabularCard.load(folder)
    if card.kind != "quality":
        raise ModelError(f"{folder} holds a {card.kind} model, not a quality model")
    d, k = len(card.input_columns), len(card.classes)
    features, params = split_params(card.architecture, card.hyper_parameters)
    try:
        transform = make_transform(features, card.input_columns)
    except ModelError as exc:
        raise ModelError(f"{folder}: {exc}") from None
    width = transform.n_outputs  # what the learner sees: inputs + derived features
    prep = load_arrays(folder / PREP_FILE, {"median": "f"})
    check_shape(folder / PREP_FILE, "median", prep["median"], (d,))
    calibration = load_calibration(folder, card.calibration)
    if card.architecture in TREE_ARCHITECTURES:
        hgb = TreeEnsemble.load(folder / TREES_FILE, width, k if k > 2 else 1)
        learner = TreeLearner(transform, hgb)
        if card.architecture == "hgb_forest":
            learner.forest = Forest.load(folder / FOREST_FILE, width, k)
            w = params.get("weights", [0.5, 0.5])
            learner.weights = (float(w[0]), float(w[1]))
        return QualityModel(card, learner.predict_proba, prep["median"],
                            learner.occluded_proba, calibration)
    n_layers = len(params.get("hidden", [])) + 1
    spec = {"log_mask": "ub", "mean": "f", "scale": "f"}
    spec.update({f"{w}{i}": "f" for i in range(n_layers) for w in "Wb"})
    path = folder / MLP_FILE
    a = load_arrays(path, spec)
    for name in ("log_mask", "mean", "scale"):
        check_shape(path, name, a[name], (width,))
    layers = []
    for i in range(n_layers):
        out = k if i == n_layers - 1 else None
        check_shape(path, f"W{i}", a[f"W{i}"], (out, width))
        width = a[f"W{i}"].shape[0]
        check_shape(path, f"b{i}", a[f"b{i}"], (width,))
        layers.append((a[f"W{i}"].astype(np.float64), a[f"b{i}"].astype(np.float64)))
    w = MLPWeights(a["log_mask"].astype(bool), a["mean"], a["scale"], layers, transform)
    return QualityModel(card, w.predict_proba, prep["median"], calibration=calibration)


def predict_table(folder: Path, table: Any,
                  progress: Callable[[int, int], None] | None = None,
                  target: float | None = None) -> dict[str, Any]:
    """The JSON document for a table (path or DataFrame): ``{"model", "notices", "rows",
    "reject"}``; ``progress(done, total)`` after each block of rows (see
    :meth:`QualityModel.predict`); ``target``: the accuracy asked for on accepted parts
    (None: the card's). ``reject`` says the threshold used and what it gave on the rows it
    was chosen on (None: the model has no calibration, every part is accepted)."""
    model = load_quality(folder)
    if target is not None and not 0 < target <= 1:
        from desktop.core.errors import InputError

        raise InputError(f"--target-accuracy must be in (0, 1], got {target:g}")
    frame = read_frame(table)
    # The training file's label column (``fault``), or ``label`` (a parts CSV), is set aside.
    label = model.card.training_data.get("label_column")
    present = {str(c).strip().lower() for c in frame.columns}
    if (not label or str(label).lower() not in present) and "label" in present:
        label = "label"
    t = match_columns(frame, model.card.input_columns, label_column=label,
                      what=f"quality model '{model.card.name}'")
    rows = model.predict(t.values, progress=progress, target=target)
    if t.ids is not None:
        for r, i in zip(rows, t.ids, strict=True):
            r["id"] = i
    notices = list(t.notices)
    thr = model.threshold(target)
    if thr is None:
        notices.append(f"'{model.card.name}' has no calibration: probabilities are raw and "
                       f"every part is accepted")
    elif not thr.reached:
        notices.append(f"no threshold reaches {thr.target:.1%} accuracy on the parts it is "
                       f"chosen on: every part below {thr.threshold:.3f} is referred")
    reject = None if thr is None else {**thr.to_json(), "temperature": model.calibration.temperature
                                       if model.calibration else None}
    return {"model": model.card.name, "kind": "quality", "id_column": t.id_column,
            "notices": notices, "rows": rows, "reject": reject}


# ---------------------------------------------------------------------------- training
def make_learner(arch: str, X: np.ndarray, y: np.ndarray, n_classes: int,
                 params: dict[str, Any], seed: int = 0, *,
                 columns: Sequence[str] | None = None,
                 sample_weight: np.ndarray | None = None) -> TreeLearner | MLPWeights:
    """A fitted learner whose ``predict_proba`` takes the input columns (trees: already
    exported to arrays). ``columns`` names the input columns (needed by a feature set);
    ``sample_weight`` is for the tree learners only."""
    features, p = split_params(arch, params)
    cols = list(columns) if columns is not None else [f"x{i}" for i in range(X.shape[1])]
    transform = make_transform(features, cols)
    Z = transform(X)
    check = Z[:50]
    if arch == "hgb_trees":
        return TreeLearner(transform, export_hgb(fit_hgb(Z, y, p, seed, sample_weight),
                                                 X_check=check))
    if arch == "hgb_forest":
        hgb = export_hgb(fit_hgb(Z, y, p["hgb"], seed, sample_weight), X_check=check)
        forest = export_forest(fit_forest(Z, y, p["forest"], seed, sample_weight),
                               X_check=check)
        w = p.get("weights", [0.5, 0.5])
        return TreeLearner(transform, hgb, forest, (float(w[0]), float(w[1])))
    if sample_weight is not None:
        raise ValueError("the MLP learner takes no sample weights")
    weights = fit_mlp(Z, y, n_classes, p, seed)
    weights.transform = transform
    return weights


def cross_validate(arch: str, X: np.ndarray, y: np.ndarray, n_classes: int,
                   params: dict[str, Any], folds: int = 5, seed: int = 0,
                   progress: Callable[[str], None] | None = None, *,
                   columns: Sequence[str] | None = None,
                   oof: np.ndarray | None = None,
                   sample_weight: np.ndarray | None = None) -> dict[str, Any]:
    """Stratified k-fold accuracy: mean, sd (population) and the per-fold values. ``oof``
    (rows, classes), when given, is filled with each row's out-of-fold probabilities (the
    rows a calibration is fitted on); ``sample_weight`` (tree learners) weights the fits."""
    from sklearn.model_selection import StratifiedKFold

    accs = []
    t0 = time.monotonic()
    for i, (tr, va) in enumerate(StratifiedKFold(folds, shuffle=True,
                                                 random_state=seed).split(X, y)):
        m = make_learner(arch, X[tr], y[tr], n_classes, params, seed, columns=columns,
                         sample_weight=None if sample_weight is None else sample_weight[tr])
        p = m.predict_proba(X[va])
        if oof is not None:
            oof[va] = p
        accs.append(float((p.argmax(1) == y[va]).mean()))
        if progress:
            progress(f"{arch} fold {i + 1}/{folds}: {accs[-1]:.4f}")
    return {"accuracy_mean": round(float(np.mean(accs)), 4),
            "accuracy_sd": round(float(np.std(accs)), 4),
            "folds": [round(a, 4) for a in accs], "k": folds, "seed": seed,
            "seconds": round(time.monotonic() - t0, 1)}


__all__ = [
    "FOREST_DEFAULT",
    "HGB_DEFAULT",
    "MLP_DEFAULT",
    "TREE_ARCHITECTURES",
    "TREE_ARRAYS",
    "QualityModel",
    "TreeLearner",
    "cross_validate",
    "decide",
    "load_quality",
    "make_learner",
    "model_files",
    "out_of_fold_proba",
    "predict_table",
    "save_quality",
    "split_params",
]


def out_of_fold_proba(arch: str, X: np.ndarray, y: np.ndarray, n_classes: int,
                      params: dict[str, Any], folds: int = 5, seed: int = 0, *,
                      columns: Sequence[str] | None = None,
                      sample_weight: np.ndarray | None = None,
                      progress: Callable[[str], None] | None = None
                      ) -> tuple[np.ndarray, dict[str, Any]]:
    """(rows, classes) out-of-fold probabilities of ``X`` (stratified ``folds``-fold, each
    row judged by a learner fitted without it) and the cross-validation figures."""
    oof = np.zeros((len(y), n_classes))
    cv = cross_validate(arch, X, y, n_classes, params, folds, seed, progress,
                        columns=columns, oof=oof, sample_weight=sample_weight)
    return oof, cv
