"""Tree ensembles as plain arrays, and numpy predictors for them.

Two kinds, both exported from fitted scikit-learn estimators into flat numeric arrays (one
row per node, trees laid end to end) and walked with numpy:

* :class:`TreeEnsemble`: a ``HistGradientBoostingClassifier``. For prediction it is only
  one baseline score per output, and for every boosting iteration one regression tree per
  output whose leaves add to that output's score (:func:`export_hgb`);
* :class:`Forest`: an ``ExtraTreesClassifier`` or ``RandomForestClassifier``: every tree's
  leaf holds a class distribution and the forest's probabilities are their mean
  (:func:`export_forest`, from each tree's ``tree_`` arrays ``children_left/right``,
  ``feature``, ``threshold``, ``missing_go_to_left`` and ``value``).

We store the trees ourselves, rather than with skops or ONNX (both install here), because:

* loading is :func:`desktop.ml.tabular.arrays.load_arrays`: numbers only, nothing runs;
* the file does not depend on scikit-learn's private attributes, so a model trained with
  one scikit-learn release predicts the same with any other, and the desktop app does not
  need scikit-learn (nor onnxruntime) at prediction time;
* the arrays are validated before use (every child index points forward inside its own
  tree, so a walk always ends; features are in range; values finite; a forest's leaf
  distributions are non-negative and sum to one).

Node semantics are scikit-learn's (``_hist_gradient_boosting/_predictor.pyx`` and
``tree/_tree.pyx``): at a split, ``x[feature] <= threshold`` goes left, a missing value
(NaN) goes left iff ``missing_left``; categorical splits are not supported (our inputs are
numeric measurements) and refused at export. Both exporters check themselves against the
estimator's ``predict_proba``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop.ml.errors import ModelError
from desktop.ml.tabular.arrays import check_shape, load_arrays, save_arrays

TREE_ARRAYS = {"feature": "iu", "threshold": "f", "left": "iu", "right": "iu",
               "missing_left": "ub", "is_leaf": "ub", "value": "f", "tree_start": "iu",
               "tree_output": "iu", "baseline": "f"}
FOREST_ARRAYS = {"feature": "iu", "threshold": "f", "left": "iu", "right": "iu",
                 "missing_left": "ub", "is_leaf": "ub", "value": "f", "tree_start": "iu"}
#: rows × trees walked at once (bounds the memory of a prediction over a large table)
WALK_CELLS = 1 << 21


@dataclass
class _Nodes:
    """The node structure shared by both kinds, validated (see :func:`_check_nodes`)."""

    feature: np.ndarray       # (nodes,) int; 0 at leaves
    threshold: np.ndarray     # (nodes,) float
    left: np.ndarray          # (nodes,) int, global index; a leaf points at itself
    right: np.ndarray
    missing_left: np.ndarray  # (nodes,) bool
    is_leaf: np.ndarray       # (nodes,) bool
    tree_start: np.ndarray    # (trees + 1,) first node of each tree, then the node count
    max_depth: int

    @property
    def n_trees(self) -> int:
        return int(self.tree_start.shape[0] - 1)

    def arrays(self) -> dict[str, np.ndarray]:
        """The node arrays as stored (both kinds' files share these names and dtypes)."""
        return {"feature": self.feature.astype(np.int32), "threshold": self.threshold,
                "left": self.left.astype(np.int32), "right": self.right.astype(np.int32),
                "missing_left": self.missing_left.astype(np.uint8),
                "is_leaf": self.is_leaf.astype(np.uint8), "tree_start": self.tree_start}

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree: (rows, trees) global node indices."""
        X = np.asarray(X, dtype=np.float64)
        starts = self.tree_start[:-1]
        n, t = X.shape[0], starts.shape[0]
        leaf, _ = self.walk(X, np.repeat(np.arange(n), t), np.tile(starts, n))
        return leaf.reshape(n, t)

    def walk(self, X: np.ndarray, rows: np.ndarray, starts: np.ndarray,
             paths: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Walk row ``rows[i]`` of ``X`` from node ``starts[i]`` (a tree's root) to its leaf,
        for every ``i``: (leaves (walks,), and with ``paths`` a uint64 bit mask per walk of
        the features split on along the way; needs fewer than 64 features).

        Only unfinished walks move on at each level (most end long before the deepest
        tree's depth), on flat arrays: a numpy walk, since the point of these files is that
        prediction needs neither scikit-learn nor compiled code of ours.
        """
        X = np.asarray(X, dtype=np.float64)
        d = X.shape[1]
        out = np.asarray(starts, dtype=np.int64).copy()
        mask = np.zeros(out.shape[0], dtype=np.uint64) if paths else None
        active = np.flatnonzero(~self.is_leaf[out])
        cur = out[active]
        base = np.asarray(rows, dtype=np.int64)[active] * d  # each walk's row, as an offset
        flat = X.ravel()
        # Children always lie further on inside the same tree (validated), so every walk
        # ends within max_depth + 1 steps.
        for _ in range(self.max_depth + 1):
            if not active.size:
                break
            f = self.feature[cur]
            if mask is not None:
                mask[active] |= np.left_shift(np.uint64(1), f.astype(np.uint64))
            x = flat[base + f]
            go_left = np.where(np.isnan(x), self.missing_left[cur], x <= self.threshold[cur])
            cur = np.where(go_left, self.left[cur], self.right[cur])
            done = self.is_leaf[cur]
            out[active[done]] = cur[done]
            keep = ~done
            active, cur, base = active[keep], cur[keep], base[keep]
        return out, mask

    def chunks(self, X: np.ndarray, n_features: int):
        """``X`` checked, then cut into row blocks of at most :data:`WALK_CELLS` walks."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"expected (rows, {n_features}) inputs, got {X.shape}")
        step = max(1, WALK_CELLS // max(self.n_trees, 1))
        for i in range(0, X.shape[0], step):
            yield i, X[i:i + step]


def _check_nodes(path: Path, g: dict[str, np.ndarray], n_features: int,
                 prefix: str = "") -> _Nodes:
    """Validate the node arrays: shapes, tree offsets, and that every split's children lie
    after it inside its own tree (so a walk always ends) and its feature exists."""
    n_nodes = g["feature"].shape[0] if g["feature"].ndim == 1 else -1
    for k in ("feature", "threshold", "left", "right", "missing_left", "is_leaf"):
        check_shape(path, prefix + k, g[k], (n_nodes,))
    check_shape(path, prefix + "tree_start", g["tree_start"], (None,))
    start = g["tree_start"].astype(np.int64)
    n_trees = start.shape[0] - 1
    if n_trees < 1 or n_nodes < 1:
        raise ModelError(f"{path}: no trees")
    if start[0] != 0 or start[-1] != n_nodes or np.any(np.diff(start) < 1):
        raise ModelError(f"{path}: tree offsets are inconsistent")
    is_leaf = g["is_leaf"].astype(bool)
    feature = g["feature"].astype(np.int64)
    left = g["left"].astype(np.int64)
    right = g["right"].astype(np.int64)
    # The end of the tree each node belongs to: children must lie after their parent
    # and before that end, so every walk moves forward and stops inside its tree.
    owner = np.repeat(np.arange(n_trees), np.diff(start))
    end = start[1:][owner]
    idx = np.arange(n_nodes)
    split = ~is_leaf
    bad = split & ((left <= idx) | (right <= idx) | (left >= end) | (right >= end)
                   | (feature < 0) | (feature >= n_features))
    if bad.any():
        raise ModelError(f"{path}: node {int(np.flatnonzero(bad)[0])} points outside its "
                         f"tree or at an unknown feature: refused")
    # depth bound for the walk: longest root-to-leaf path, computed forward.
    depth = np.zeros(n_nodes, dtype=np.int64)
    for i in np.flatnonzero(split):  # parents come before children
        depth[left[i]] = depth[i] + 1
        depth[right[i]] = depth[i] + 1
    return _Nodes(feature=np.where(split, feature, 0),
                  threshold=g["threshold"].astype(np.float64),
                  left=np.where(split, left, idx), right=np.where(split, right, idx),
                  missing_left=g["missing_left"].astype(bool), is_leaf=is_leaf,
                  tree_start=start, max_depth=int(depth.max()))


# ---------------------------------------------------------------------------- boosting
@dataclass
class TreeEnsemble:
    """Boosted trees: ``raw[:, k] = baseline[k] + Σ value(leaf of x in tree t)`` over trees
    with ``tree_output[t] == k``; probabilities are the softmax (sigmoid for one output)."""

    nodes: _Nodes
    value: np.ndarray         # (nodes,) float, used at leaves
    tree_output: np.ndarray   # (trees,) which output (class score) a tree adds to
    baseline: np.ndarray      # (outputs,)
    n_features: int

    @property
    def n_outputs(self) -> int:
        return int(self.baseline.shape[0])

    @property
    def n_trees(self) -> int:
        return int(self.tree_output.shape[0])

    @property
    def max_depth(self) -> int:
        return self.nodes.max_depth

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Summed scores, shape (rows, outputs)."""
        X = np.asarray(X, dtype=np.float64)
        out = np.tile(self.baseline, (X.shape[0] if X.ndim == 2 else 0, 1))
        for i, block in self.nodes.chunks(X, self.n_features):
            vals = self.value[self.nodes.leaves(block)]  # (rows, trees)
            for k in range(self.n_outputs):
                out[i:i + len(block), k] += vals[:, self.tree_output == k].sum(axis=1)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (rows, classes)."""
        return self.proba_from_raw(self.raw(X))

    def proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Class probabilities from raw scores (rows, outputs)."""
        if self.n_outputs == 1:  # binary: one score, the log-odds of the second class
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        raw = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(raw)
        return e / e.sum(axis=1, keepdims=True)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        a = {**self.nodes.arrays(), "value": self.value,
             "tree_output": self.tree_output.astype(np.int32), "baseline": self.baseline}
        return {prefix + k: v for k, v in a.items()}

    def save(self, path: Path) -> None:
        save_arrays(path, self.arrays())

    @classmethod
    def load(cls, path: Path, n_features: int, n_outputs: int) -> TreeEnsemble:
        """Read and validate a trees file written by :meth:`save`."""
        return cls.from_arrays(path, load_arrays(path, TREE_ARRAYS), n_features, n_outputs)

    @classmethod
    def from_arrays(cls, path: Path, a: dict[str, np.ndarray], n_features: int,
                    n_outputs: int, prefix: str = "") -> TreeEnsemble:
        g = {k: a[prefix + k] for k in TREE_ARRAYS}
        nodes = _check_nodes(path, g, n_features, prefix)
        check_shape(path, prefix + "value", g["value"], (nodes.feature.shape[0],))
        check_shape(path, prefix + "baseline", g["baseline"], (n_outputs,))
        check_shape(path, prefix + "tree_output", g["tree_output"], (nodes.n_trees,))
        out = g["tree_output"].astype(np.int64)
        if out.min() < 0 or out.max() >= n_outputs:
            raise ModelError(f"{path}: a tree adds to an output the model does not have")
        return cls(nodes=nodes, value=g["value"].astype(np.float64), tree_output=out,
                   baseline=g["baseline"].astype(np.float64), n_features=n_features)


# ---------------------------------------------------------------------------- forests
@dataclass
class Forest:
    """Averaged trees: ``p(x) = mean over trees of value[leaf of x in tree t]``, each leaf
    value a class distribution (non-negative, summing to one)."""

    nodes: _Nodes
    value: np.ndarray  # (nodes, classes); rows of split nodes are unused (zeros)
    n_features: int

    @property
    def n_outputs(self) -> int:
        return int(self.value.shape[1])

    @property
    def n_trees(self) -> int:
        return self.nodes.n_trees

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (rows, classes)."""
        # scikit-learn's (non-histogram) trees compare float32 inputs with their
        # thresholds: round the same way, or a value next to a threshold can go the
        # other way.
        X = self.rounded(X)
        out = np.zeros((X.shape[0] if X.ndim == 2 else 0, self.n_outputs))
        for i, block in self.nodes.chunks(X, self.n_features):
            out[i:i + len(block)] = self.value[self.nodes.leaves(block)].mean(axis=1)
        return out

    @staticmethod
    def rounded(X: np.ndarray) -> np.ndarray:
        """``X`` as the forest's walk compares it (float32 values, held in float64)."""
        with np.errstate(over="ignore"):
            return np.asarray(X, dtype=np.float64).astype(np.float32).astype(np.float64)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        a = {**self.nodes.arrays(), "value": self.value}
        return {prefix + k: v for k, v in a.items()}

    def save(self, path: Path) -> None:
        save_arrays(path, self.arrays())

    @classmethod
    def load(cls, path: Path, n_features: int, n_outputs: int) -> Forest:
        """Read and validate a forest file written by :meth:`save`."""
        return cls.from_arrays(path, load_arrays(path, FOREST_ARRAYS), n_features, n_outputs)

    @classmethod
    def from_arrays(cls, path: Path, a: dict[str, np.ndarray], n_features: int,
                    n_outputs: int, prefix: str = "") -> Forest:
        g = {k: a[prefix + k] for k in FOREST_ARRAYS}
        nodes = _check_nodes(path, g, n_features, prefix)
        check_shape(path, prefix + "value", g["value"], (nodes.feature.shape[0], n_outputs))
        value = g["value"].astype(np.float64)
        leaf = value[nodes.is_leaf]
        if np.any(leaf < 0) or np.any(np.abs(leaf.sum(axis=1) - 1.0) > 1e-6):
            raise ModelError(f"{path}: a leaf's class distribution is negative or does not "
                             f"sum to one: refused")
        return cls(nodes=nodes, value=np.where(nodes.is_leaf[:, None], value, 0.0),
                   n_features=n_features)


# ---------------------------------------------------------------------------- export
def _check_export(model: TreeEnsemble | Forest, estimator, X_check: np.ndarray | None,
                  tol: float = 1e-9) -> None:
    if X_check is not None:
        err = float(np.max(np.abs(model.predict_proba(X_check)
                                  - estimator.predict_proba(X_check))))
        if err > tol:
            raise AssertionError(f"exported trees differ from the estimator by {err}")


def export_hgb(estimator, X_check: np.ndarray | None = None) -> TreeEnsemble:
    """Copy a fitted ``HistGradientBoostingClassifier`` into a :class:`TreeEnsemble`.

    Reads the fitted trees (``_predictors``) and ``_baseline_prediction``; when ``X_check``
    is given the copy must reproduce ``predict_proba`` there to 1e-9, or this raises.
    """
    feats, thr, lefts, rights, miss, leaves, vals, starts, outs = ([] for _ in range(9))
    offset = 0
    for iteration in estimator._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"].astype(bool)):
                raise ValueError("categorical splits are not supported by the tree file")
            starts.append(offset)
            outs.append(k)
            feats.append(nodes["feature_idx"].astype(np.int32))
            thr.append(nodes["num_threshold"].astype(np.float64))
            lefts.append(nodes["left"].astype(np.int64) + offset)
            rights.append(nodes["right"].astype(np.int64) + offset)
            miss.append(nodes["missing_go_to_left"].astype(np.uint8))
            leaves.append(nodes["is_leaf"].astype(np.uint8))
            vals.append(nodes["value"].astype(np.float64))
            offset += len(nodes)
    starts.append(offset)
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
    n_features = int(estimator.n_features_in_)
    arrays = {"feature": np.concatenate(feats), "threshold": np.concatenate(thr),
              "left": np.concatenate(lefts).astype(np.int32),
              "right": np.concatenate(rights).astype(np.int32),
              "missing_left": np.concatenate(miss), "is_leaf": np.concatenate(leaves),
              "value": np.concatenate(vals), "tree_start": np.asarray(starts, np.int64),
              "tree_output": np.asarray(outs, np.int32), "baseline": baseline}
    ens = TreeEnsemble.from_arrays(Path("<export>"), arrays, n_features, baseline.shape[0])
    _check_export(ens, estimator, X_check)
    return ens


def export_forest(estimator, X_check: np.ndarray | None = None) -> Forest:
    """Copy a fitted ``ExtraTreesClassifier`` / ``RandomForestClassifier`` into a
    :class:`Forest` (single-output classifiers only).

    Each tree's ``tree_`` gives ``children_left/right`` (-1 at leaves, local indices),
    ``feature``, ``threshold``, ``missing_go_to_left`` and ``value`` (per-node class
    weights, normalised here to distributions). When ``X_check`` is given the copy must
    reproduce ``predict_proba`` there to 1e-9, or this raises.
    """
    if getattr(estimator, "n_outputs_", 1) != 1:
        raise ValueError("multi-output forests are not supported by the forest file")
    k = len(estimator.classes_)
    feats, thr, lefts, rights, miss, leaves, vals, starts = ([] for _ in range(8))
    offset = 0
    for tree in estimator.estimators_:
        t = tree.tree_
        n = int(t.node_count)
        leaf = t.children_left[:n] < 0
        starts.append(offset)
        feats.append(np.where(leaf, 0, t.feature[:n]).astype(np.int32))
        thr.append(np.asarray(t.threshold[:n], dtype=np.float64))
        lefts.append(np.where(leaf, 0, t.children_left[:n] + offset).astype(np.int64))
        rights.append(np.where(leaf, 0, t.children_right[:n] + offset).astype(np.int64))
        m = getattr(t, "missing_go_to_left", None)
        miss.append(np.zeros(n, np.uint8) if m is None else np.asarray(m[:n], np.uint8))
        leaves.append(leaf.astype(np.uint8))
        v = np.asarray(t.value[:n, 0, :], dtype=np.float64)
        if v.shape[1] != k:
            raise ValueError(f"a tree has {v.shape[1]} classes, the forest {k}")
        total = v.sum(axis=1, keepdims=True)
        vals.append(np.where(leaf[:, None], v / np.where(total > 0, total, 1.0), 0.0))
        offset += n
    starts.append(offset)
    n_features = int(estimator.n_features_in_)
    arrays = {"feature": np.concatenate(feats), "threshold": np.concatenate(thr),
              "left": np.concatenate(lefts).astype(np.int32),
              "right": np.concatenate(rights).astype(np.int32),
              "missing_left": np.concatenate(miss), "is_leaf": np.concatenate(leaves),
              "value": np.concatenate(vals), "tree_start": np.asarray(starts, np.int64)}
    forest = Forest.from_arrays(Path("<export>"), arrays, n_features, k)
    _check_export(forest, estimator, X_check)
    return forest
