"""Training really trains (small slices), and the shipped models predict known rows."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop.ml.errors import ModelError
from desktop.ml.tabular import load_model, predict_rows, predict_table
from desktop.ml.tabular.process import TEP_COLUMNS
from desktop.ml.tabular.table import ColumnError

ROOT = Path(__file__).resolve().parents[4]
FIX = ROOT / "tests" / "fixtures"
SHIPPED = ROOT / "models"


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------- training
@pytest.mark.parametrize("arch", ["hgb_default", "hgb_et_geo", "mlp"])
def test_quality_training_on_a_slice_learns_and_writes_a_loadable_folder(tmp_path, arch):
    data = tmp_path / "steel.csv"
    pd.read_csv(FIX / "steel_excerpt.csv").drop(columns="part_id").to_csv(data, index=False)
    out = tmp_path / "quality-test"
    _tool("train_quality_steel").main(["--data", str(data), "--out", str(out), "--quick",
                                       "--folds", "3", "--candidates", arch])
    card = json.loads((out / "card.json").read_text())
    assert card["kind"] == "quality" and len(card["input_columns"]) == 27
    assert card["metrics"]["cv_whole_file"]["k"] == 3
    rows = predict_rows(out, data)
    truth = pd.read_csv(data)["fault"].tolist()
    acc = np.mean([r["class"] == t for r, t in zip(rows, truth, strict=True)])
    assert acc > 0.5  # 7 classes: chance is 1/7; the fitted rows are mostly right


def _synthetic_tep(folder: Path, rng: np.random.Generator) -> None:
    """A correlated AR(1) 'plant' of 52 variables; fault k shifts variable k by 10 sd."""
    mix = rng.standard_normal((52, 52)) * 0.3 + np.eye(52)

    def run(n, shift=None):
        e = np.zeros((n, 52))
        for t in range(1, n):
            e[t] = 0.7 * e[t - 1] + rng.standard_normal(52)
        x = e @ mix.T
        if shift is not None:
            x[:, shift] += 10 * x[:, shift].std()
        return x

    folder.mkdir()
    np.savetxt(folder / "d00.dat", run(400).T)  # stored transposed, like the real d00.dat
    for k in range(1, 22):
        np.savetxt(folder / f"d{k:02d}.dat", run(60, shift=k))


def test_process_training_on_synthetic_runs_detects_the_faults(tmp_path):
    data = tmp_path / "tep"
    _synthetic_tep(data, np.random.default_rng(1))
    out = tmp_path / "process-test"
    _tool("train_process_tep").main(["--data", str(data), "--out", str(out)])
    card = json.loads((out / "card.json").read_text())
    late = card["metrics"]["heldout_late"]
    assert late["false_alarm_rate"] <= 0.1
    assert late["mean_detection_18"] > 0.8
    assert "IDV_1" in card["metrics"]["heldout_onset"]["detection_delay_minutes"]


# ---------------------------------------------------------------------------- shipped
def test_shipped_quality_model_on_known_plates():
    doc = predict_table(SHIPPED / "quality-steel", FIX / "steel_excerpt.csv")
    assert doc["kind"] == "quality" and doc["id_column"] == "part_id"
    truth = pd.read_csv(FIX / "steel_excerpt.csv")
    rows = doc["rows"]
    assert len(rows) == len(truth) and rows[0]["id"] == truth["part_id"][0]
    for r in rows:
        assert set(r) >= {"class", "probability", "top_features"}
        assert 0 < r["probability"] <= 1 and len(r["top_features"]) == 3
        assert r["top_features"][0]["feature"] in doc_columns()
    # these plates were in the training file: the model must know them
    acc = np.mean([r["class"] == t for r, t in zip(rows, truth["fault"], strict=True)])
    assert acc >= 0.9
    json.dumps(doc)  # the document is plain JSON


def doc_columns() -> list[str]:
    return load_model(SHIPPED / "quality-steel").card.input_columns


def test_shipped_quality_model_refuses_a_renamed_column(tmp_path):
    df = pd.read_csv(FIX / "steel_excerpt.csv").rename(columns={"Pixels_Areas": "Area"})
    with pytest.raises(ColumnError, match="missing column\\(s\\): Pixels_Areas; unexpected "
                                          "column\\(s\\): Area"):
        predict_rows(SHIPPED / "quality-steel", df)


def test_shipped_process_model_on_known_runs(tmp_path):
    normal = predict_rows(SHIPPED / "process-tep", FIX / "tep_normal_excerpt.csv")
    assert len(normal) == 30 and not any(r["alarm"] for r in normal)
    assert all(r["fault"] is None for r in normal)
    for name, fault in (("tep_idv1_excerpt.csv", "IDV_1"), ("tep_idv6_excerpt.csv", "IDV_6")):
        rows = predict_rows(SHIPPED / "process-tep", FIX / name)
        assert all(r["alarm"] for r in rows[5:])  # the 3-of-5 rule needs a few samples
        assert all(r["score"] > 1 for r in rows[5:])
        assert len(rows[10]["contributors"]) > 0
        assert all(c in TEP_COLUMNS for c in rows[10]["contributors"])
        named = [r["fault"] for r in rows if r["fault"]]
        assert named and max(set(named), key=named.count) == fault


def test_shipped_process_model_reads_headerless_52_columns_with_a_notice(tmp_path):
    path = tmp_path / "run.dat"
    np.savetxt(path, pd.read_csv(FIX / "tep_idv6_excerpt.csv").to_numpy())
    doc = predict_table(SHIPPED / "process-tep", path)
    assert any("by position" in n for n in doc["notices"])
    assert doc["rows"][-1]["alarm"] is True


def test_a_transposed_headerless_run_is_refused_with_the_hint_to_transpose(tmp_path):
    """TEP's d00.dat is stored 52 x 500 (one variable per row): say so, do not guess."""
    path = tmp_path / "d00.dat"
    np.savetxt(path, pd.read_csv(FIX / "tep_normal_excerpt.csv").to_numpy().T)
    with pytest.raises(ColumnError, match="52 rows, so it may be stored transposed"):
        predict_table(SHIPPED / "process-tep", path)


def test_a_quality_folder_is_not_a_process_model_and_bad_cards_are_refused(tmp_path):
    from desktop.ml.tabular.process import load_process

    with pytest.raises(ModelError, match="not a process model"):
        load_process(SHIPPED / "quality-steel")
    (tmp_path / "card.json").write_text('{"kind": "quality"}')
    with pytest.raises(ModelError, match="lacks required fields"):
        load_model(tmp_path)


# ---------------------------------------------------------------------------- features
def _steel() -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(FIX / "steel_excerpt.csv").drop(columns=["part_id", "fault"])
    return list(df.columns), df.to_numpy(dtype=np.float64)


def test_the_geometry_feature_set_derives_from_named_columns_in_any_order():
    from desktop.ml.tabular.features import FEATURE_SETS, make_transform

    cols, X = _steel()
    t = make_transform("steel_geometry_v1", cols)
    Z = t(X)
    fs = FEATURE_SETS["steel_geometry_v1"]
    assert Z.shape == (len(X), 27 + len(fs.derived)) and np.array_equal(Z[:, :27], X)
    c = {n: X[:, i] for i, n in enumerate(cols)}
    derived = dict(zip(fs.derived, Z[:, 27:].T, strict=True))
    assert np.allclose(derived["mean_luminosity"], c["Sum_of_Luminosity"] / c["Pixels_Areas"])
    assert np.allclose(derived["luminosity_range"],
                       c["Maximum_of_Luminosity"] - c["Minimum_of_Luminosity"])
    assert np.allclose(derived["x_max_rel_conveyer"], c["X_Maximum"] / c["Length_of_Conveyer"])
    # columns in another order (lower case): the same derived values
    order = np.random.default_rng(0).permutation(27)
    t2 = make_transform("steel_geometry_v1", [cols[i].lower() for i in order])
    assert np.allclose(t2(X[:, order])[:, 27:], Z[:, 27:])
    # a missing input gives missing derived values (the trees' missing branch), never inf
    X_nan = X.copy()
    X_nan[0, cols.index("Pixels_Areas")] = np.nan
    X_nan[1, cols.index("X_Perimeter")] = 1e308
    Zn = t(X_nan)
    assert np.isnan(Zn[0, 27 + fs.derived.index("mean_luminosity")])
    assert not np.isinf(Zn).any()
    with pytest.raises(ModelError, match="needs input column"):
        make_transform("steel_geometry_v1", cols[:5])
    with pytest.raises(ModelError, match="unknown feature set"):
        make_transform("steel_geometry_v9", cols)
    assert make_transform(None, cols)(X) is not None


def test_a_forest_model_folder_with_an_unknown_feature_set_or_hostile_forest_is_refused(
        tmp_path):
    import pickle
    import shutil

    data = tmp_path / "steel.csv"
    pd.read_csv(FIX / "steel_excerpt.csv").drop(columns="part_id").to_csv(data, index=False)
    out = tmp_path / "quality-test"
    _tool("train_quality_steel").main(["--data", str(data), "--out", str(out), "--quick",
                                       "--folds", "2", "--candidates", "hgb_et_geo"])
    card = json.loads((out / "card.json").read_text())
    assert card["architecture"] == "hgb_forest" and "forest.npz" in card["files"]
    assert card["hyper_parameters"]["features"] == "steel_geometry_v1"
    assert card["training_data"]["features"]["derived"][0] == "log_x_extent"
    model = load_model(out)
    _, X = _steel()
    assert model.predict_proba(X).shape == (len(X), 7)
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    card["hyper_parameters"]["features"] = "made_up"
    (bad / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="unknown feature set 'made_up'"):
        load_model(bad)
    shutil.rmtree(bad)
    shutil.copytree(out, bad)
    marker = tmp_path / "marker"

    class Bomb:
        def __reduce__(self):
            return (marker.touch, ())

    (bad / "forest.npz").write_bytes(pickle.dumps(Bomb()))
    with pytest.raises(ModelError, match="not a numeric array file"):
        load_model(bad)
    assert not marker.exists()


def test_a_binary_or_non_utf8_file_is_refused_as_a_table_with_what_to_do(tmp_path):
    from desktop.core.errors import InputError

    rec = tmp_path / "vibration.mat"
    rec.write_bytes(b"MATLAB 5.0 MAT-file\x00\x01\x02" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match=r"not a text table \(binary content"):
        predict_table(SHIPPED / "quality-steel", rec)
    latin = tmp_path / "plates.csv"
    latin.write_bytes("Pixels_Areas;Länge µm\n1;2\n".encode("cp1252"))
    with pytest.raises(InputError, match="is not UTF-8 text: save the table as UTF-8"):
        predict_table(SHIPPED / "quality-steel", latin)
