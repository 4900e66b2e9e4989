"""Gradient-boosted trees as plain arrays, and a numpy predictor for them.

A fitted scikit-learn ``HistGradientBoostingClassifier`` is, for prediction, only: one
baseline score per output, and for every boosting iteration one regression tree per output
whose leaves add to that output's score. :func:`export_hgb` copies exactly that out of the
fitted estimator into flat numeric arrays (one row per node, trees laid end to end), and
:class:`TreeEnsemble` walks them with numpy. We store the trees ourselves, rather than with
skops or ONNX (both install here), because:

* loading is :func:`desktop.ml.tabular.arrays.load_arrays`: numbers only, nothing runs;
* the file does not depend on scikit-learn's private attributes, so a model trained with
  one scikit-learn release predicts the same with any other, and the desktop app does not
  need scikit-learn (nor onnxruntime) at prediction time;
* the arrays are validated before use (every child index points forward inside its own
  tree, so a walk always ends; features are in range; values finite).

Node semantics are scikit-learn's (``_hist_gradient_boosting/_predictor.pyx``): at a split,
``x[feature] <= threshold`` goes left, a missing value (NaN) goes left iff ``missing_left``;
categorical splits are not supported (our inputs are numeric measurements) and refused at
export. :func:`export_hgb` checks itself against ``estimator.predict_proba``.
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


@dataclass
class TreeEnsemble:
    """Boosted trees: ``raw[:, k] = baseline[k] + Σ value(leaf of x in tree t)`` over trees
    with ``tree_output[t] == k``; probabilities are the softmax (sigmoid for one output)."""

    feature: np.ndarray       # (nodes,) int
    threshold: np.ndarray     # (nodes,) float
    left: np.ndarray          # (nodes,) int, index inside the node arrays (global)
    right: np.ndarray
    missing_left: np.ndarray  # (nodes,) bool
    is_leaf: np.ndarray       # (nodes,) bool
    value: np.ndarray         # (nodes,) float, used at leaves
    tree_start: np.ndarray    # (trees + 1,) first node of each tree, then the node count
    tree_output: np.ndarray   # (trees,) which output (class score) a tree adds to
    baseline: np.ndarray      # (outputs,)
    n_features: int
    max_depth: int = 0

    @property
    def n_outputs(self) -> int:
        return int(self.baseline.shape[0])

    @property
    def n_trees(self) -> int:
        return int(self.tree_output.shape[0])

    # ------------------------------------------------------------------ prediction
    def raw(self, X: np.ndarray) -> np.ndarray:
        """Summed scores, shape (rows, outputs)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected (rows, {self.n_features}) inputs, got {X.shape}")
        n = X.shape[0]
        node = np.broadcast_to(self.tree_start[:-1], (n, self.n_trees)).copy()
        rows = np.arange(n)[:, None]
        # Each step moves every unfinished walk one level down; max_depth + 1 steps reach
        # every leaf (validated: children always lie further on, inside the same tree).
        for _ in range(self.max_depth + 1):
            leaf = self.is_leaf[node]
            if leaf.all():
                break
            x = X[rows, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            nxt = np.where(go_left, self.left[node], self.right[node])
            node = np.where(leaf, node, nxt)
        out = np.tile(self.baseline, (n, 1))
        vals = self.value[node]  # (rows, trees)
        for k in range(self.n_outputs):
            out[:, k] += vals[:, self.tree_output == k].sum(axis=1)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (rows, classes)."""
        raw = self.raw(X)
        if self.n_outputs == 1:  # binary: one score, the log-odds of the second class
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        raw = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(raw)
        return e / e.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ files
    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {prefix + k: getattr(self, k) for k in TREE_ARRAYS}

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
        n_nodes = g["feature"].shape[0] if g["feature"].ndim == 1 else -1
        for k in ("feature", "threshold", "left", "right", "missing_left", "is_leaf", "value"):
            check_shape(path, prefix + k, g[k], (n_nodes,))
        check_shape(path, prefix + "baseline", g["baseline"], (n_outputs,))
        check_shape(path, prefix + "tree_output", g["tree_output"], (None,))
        n_trees = g["tree_output"].shape[0]
        check_shape(path, prefix + "tree_start", g["tree_start"], (n_trees + 1,))
        if n_trees < 1 or n_nodes < 1:
            raise ModelError(f"{path}: no trees")
        start = g["tree_start"].astype(np.int64)
        if start[0] != 0 or start[-1] != n_nodes or np.any(np.diff(start) < 1):
            raise ModelError(f"{path}: tree offsets are inconsistent")
        out = g["tree_output"].astype(np.int64)
        if out.min() < 0 or out.max() >= n_outputs:
            raise ModelError(f"{path}: a tree adds to an output the model does not have")
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
        feature = np.where(split, feature, 0)
        return cls(feature=feature, threshold=g["threshold"].astype(np.float64),
                   left=np.where(split, left, idx), right=np.where(split, right, idx),
                   missing_left=g["missing_left"].astype(bool), is_leaf=is_leaf,
                   value=g["value"].astype(np.float64), tree_start=start, tree_output=out,
                   baseline=g["baseline"].astype(np.float64), n_features=n_features,
                   max_depth=int(depth.max()))


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
    if X_check is not None:
        ours = ens.predict_proba(X_check)
        theirs = estimator.predict_proba(X_check)
        err = float(np.max(np.abs(ours - theirs)))
        if err > 1e-9:
            raise AssertionError(f"exported trees differ from the estimator by {err}")
    return ens
