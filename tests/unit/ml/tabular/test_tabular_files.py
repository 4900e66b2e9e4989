"""Model files are numbers only: hostile, garbage or oversized files are refused without
running anything, and the exported trees predict exactly like scikit-learn."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from desktop.ml.errors import ModelError
from desktop.ml.tabular import arrays
from desktop.ml.tabular.arrays import load_arrays
from desktop.ml.tabular.trees import TreeEnsemble, export_hgb

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
