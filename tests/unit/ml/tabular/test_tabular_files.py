"""Model files are numbers only: hostile, garbage or oversized files are refused without
running anything, and the exported trees predict exactly like scikit-learn."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop.ml.errors import ModelError
from desktop.ml.tabular import arrays
from desktop.ml.tabular.arrays import load_arrays
from desktop.ml.tabular.trees import Forest, TreeEnsemble, export_forest, export_hgb

ROOT = Path(__file__).resolve().parents[4]

MARKER_ENV = "LINEWATCH_TEST_MARKER"


class _Bomb:
    """Unpickling this would create the marker file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).touch, ())


def _hgb(n_classes: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((240, 4))
    X[::9, 1] = np.nan
    y = (X[:, 0] > 0).astype(int) + (2 * (X[:, 2] > 0) if n_classes > 2 else 0)
    return HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(X, y), X


@pytest.mark.parametrize("n_classes", [2, 4])
def test_exported_trees_match_sklearn_after_a_round_trip(tmp_path: Path, n_classes: int) -> None:
    est, X = _hgb(n_classes)
    ens = export_hgb(est, X_check=X)
    ens.save(tmp_path / "trees.npz")
    back = TreeEnsemble.load(tmp_path / "trees.npz", 4, ens.n_outputs)
    assert np.abs(back.predict_proba(X) - est.predict_proba(X)).max() < 1e-12


def test_a_pickle_inside_an_npz_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "trees.npz"
    obj = np.empty(1, dtype=object)
    obj[0] = _Bomb(str(marker))
    np.savez(path, feature=obj)  # an object array: stored as a pickle inside the .npy
    with pytest.raises(ModelError, match="refused"):
        load_arrays(path)
    assert not marker.exists()


def test_a_plain_pickle_renamed_to_npz_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "trees.npz"
    path.write_bytes(pickle.dumps(_Bomb(str(marker))))
    with pytest.raises(ModelError, match="not a numeric array file"):
        TreeEnsemble.load(path, 4, 1)
    assert not marker.exists()


def test_foreign_members_garbage_and_zip_bombs_are_refused(tmp_path: Path,
                                                          monkeypatch) -> None:
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.pkl", b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="not a numeric array"):
        load_arrays(path)
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelError, match="not a numeric array file"):
        load_arrays(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        buf = io.BytesIO()
        np.save(buf, np.zeros(1 << 20))  # 8 MB of zeros, compresses to a few kB
        zf.writestr("value.npy", buf.getvalue())
    monkeypatch.setattr(arrays, "MAX_UNCOMPRESSED_BYTES", 1 << 20)
    with pytest.raises(ModelError, match="uncompressed"):
        load_arrays(path)
    monkeypatch.setattr(arrays, "MAX_FILE_BYTES", 100)
    with pytest.raises(ModelError, match="more than any tabular model"):
        load_arrays(path)


def test_tree_arrays_that_loop_or_point_outside_are_refused(tmp_path: Path) -> None:
    est, _ = _hgb(2)
    a = export_hgb(est).arrays()
    split = int(np.flatnonzero(a["is_leaf"] == 0)[0])
    looped = dict(a)
    looped["left"] = a["left"].copy()
    looped["left"][split] = split  # a node that is its own child would walk forever
    with pytest.raises(ModelError, match="points outside its tree"):
        TreeEnsemble.from_arrays(tmp_path / "t.npz", looped, 4, 1)
    bad_feature = dict(a)
    bad_feature["feature"] = a["feature"].copy()
    bad_feature["feature"][split] = 99
    with pytest.raises(ModelError, match="unknown feature"):
        TreeEnsemble.from_arrays(tmp_path / "t.npz", bad_feature, 4, 1)
    np.savez(tmp_path / "missing.npz", **{k: v for k, v in a.items() if k != "value"})
    with pytest.raises(ModelError, match="missing: \\['value'\\]"):
        TreeEnsemble.load(tmp_path / "missing.npz", 4, 1)


# ---------------------------------------------------------------------------- forests
def _forest(kind: str, n_classes: int):
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    rng = np.random.default_rng(1)
    X = rng.standard_normal((240, 4))
    X[::7, 3] = np.nan  # learnt missing-value branches
    y = (X[:, 0] > 0).astype(int) + (2 * (X[:, 2] > 0) if n_classes > 2 else 0)
    cls = ExtraTreesClassifier if kind == "extra_trees" else RandomForestClassifier
    return cls(n_estimators=12, max_features=0.5, random_state=0, n_jobs=1).fit(X, y), X


@pytest.mark.parametrize(("kind", "n_classes"), [("extra_trees", 4), ("random_forest", 2)])
def test_exported_forest_matches_sklearn_after_a_round_trip(tmp_path: Path, kind: str,
                                                            n_classes: int) -> None:
    est, X = _forest(kind, n_classes)
    forest = export_forest(est, X_check=X)
    forest.save(tmp_path / "forest.npz")
    back = Forest.load(tmp_path / "forest.npz", 4, n_classes)
    assert back.n_trees == 12
    X_new = np.random.default_rng(5).standard_normal((300, 4))
    X_new[::5, 0] = np.nan  # missing where training had none: sklearn's routing too
    for data in (X, X_new):
        assert np.abs(back.predict_proba(data) - est.predict_proba(data)).max() < 1e-12


def test_a_long_table_is_walked_in_blocks_with_the_same_result(monkeypatch) -> None:
    from desktop.ml.tabular import trees

    est, X = _forest("extra_trees", 4)
    forest = export_forest(est)
    hgb_est, Xh = _hgb(4)
    ens = export_hgb(hgb_est)
    whole_f, whole_h = forest.predict_proba(X), ens.predict_proba(Xh)
    monkeypatch.setattr(trees, "WALK_CELLS", 50)  # a few rows per block
    # (summation order may differ in the last bit between block sizes)
    assert np.abs(forest.predict_proba(X) - whole_f).max() < 1e-12
    assert np.abs(ens.predict_proba(Xh) - whole_h).max() < 1e-12


def test_hostile_forest_arrays_are_refused(tmp_path: Path) -> None:
    est, _ = _forest("extra_trees", 4)
    a = export_forest(est).arrays()
    split = int(np.flatnonzero(a["is_leaf"] == 0)[0])
    leaf = int(np.flatnonzero(a["is_leaf"] == 1)[0])
    cases = {
        "points outside its tree": ("right", split, split - 1 if split else 0),
        "unknown feature": ("feature", split, 4),
    }
    for message, (name, i, v) in cases.items():
        bad = dict(a)
        bad[name] = a[name].copy()
        bad[name][i] = v
        with pytest.raises(ModelError, match=message):
            Forest.from_arrays(tmp_path / "f.npz", bad, 4, 4)
    # a child in the next tree: the walk would leave its own tree
    bad = dict(a)
    bad["left"] = a["left"].copy()
    bad["left"][split] = int(a["tree_start"][1])
    with pytest.raises(ModelError, match="points outside its tree"):
        Forest.from_arrays(tmp_path / "f.npz", bad, 4, 4)
    # leaf values must be class distributions
    for v in (-0.5, 7.0, np.nan):
        bad = dict(a)
        bad["value"] = a["value"].copy()
        bad["value"][leaf, 0] = v
        with pytest.raises(ModelError, match=r"distribution|NaN"):
            Forest.from_arrays(tmp_path / "f.npz", bad, 4, 4)
    bad = dict(a)
    bad["tree_start"] = a["tree_start"].copy()
    bad["tree_start"][-1] += 1
    with pytest.raises(ModelError, match="offsets"):
        Forest.from_arrays(tmp_path / "f.npz", bad, 4, 4)
    with pytest.raises(ModelError, match="shape"):
        Forest.from_arrays(tmp_path / "f.npz", a, 4, 3)  # wrong class count
    # a pickle planted as the forest file, and an extra member, never run / are refused
    marker = tmp_path / "marker"
    obj = np.empty(1, dtype=object)
    obj[0] = _Bomb(str(marker))
    np.savez(tmp_path / "forest.npz", **a, extra=obj)
    with pytest.raises(ModelError, match="refused"):
        Forest.load(tmp_path / "forest.npz", 4, 4)
    (tmp_path / "forest.npz").write_bytes(pickle.dumps(_Bomb(str(marker))))
    with pytest.raises(ModelError, match="not a numeric array file"):
        Forest.load(tmp_path / "forest.npz", 4, 4)
    assert not marker.exists()
    np.savez(tmp_path / "forest.npz", **a, note=np.zeros(1))
    with pytest.raises(ModelError, match="unexpected: \\['note'\\]"):
        Forest.load(tmp_path / "forest.npz", 4, 4)


def test_walking_chosen_paths_and_the_fast_occlusion_equal_the_plain_ways() -> None:
    """The explanation's shortcut (re-walk only the paths an occlusion touches) gives the
    probabilities of predicting every occluded copy, on real plates with a missing value."""
    from desktop.ml.tabular import load_model

    model = load_model(ROOT / "models" / "quality-steel")
    df = pd.read_csv(ROOT / "tests" / "fixtures" / "steel_excerpt.csv")
    X = df[model.card.input_columns].to_numpy(float)[:40]
    X[3, 5] = np.nan
    n, d = X.shape
    rep = np.repeat(X[:, None, :], d, axis=1)
    rep[:, np.arange(d), np.arange(d)] = model.median
    plain = model.predict_proba(rep.reshape(n * d, d)).reshape(n, d, -1)
    assert np.allclose(model.occluded(X, model.median), plain, atol=1e-12)
    learner = model.occluded.__self__
    Z = learner.transform(X)
    nodes = learner.hgb.nodes
    # walking chosen (row, tree) pairs alone (what an occlusion re-walks) reaches the same
    # leaves as the whole grid
    rows, trees = np.array([0, 3, 3, 39, 17]), np.array([0, 7, 8, 500, nodes.n_trees - 1])
    leaf, _ = nodes.walk(Z, rows, nodes.tree_start[trees])
    assert np.array_equal(leaf, nodes.leaves(Z)[rows, trees])
