"""Calibrated probabilities and the reject option (issue 26): temperature scaling lowers the
ECE of over-confident probabilities on rows it was not fitted on, the threshold reaches its
target accuracy on held-out rows, the shipped quality-steel carries both, and the model
files are reproduced bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.ml.errors import ModelError
from desktop.ml.tabular.arrays import save_arrays
from desktop.ml.tabular.calibration import (
    apply_temperature,
    choose_threshold,
    confidence_ece,
    coverage_curve,
    decisions,
    fit_calibration,
    fit_temperature,
    load_calibration,
    top_label_ece,
)
from desktop.ml.tabular.quality import load_quality

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = ROOT / "models" / "quality-steel"
STEEL_DEV = ROOT.parent / "shared" / "data" / "steel_plates" / "steel_plates_dev.csv"


def overconfident(n: int, seed: int, k: int = 7, sharpen: float = 2.5
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reported probabilities, labels, true probabilities): labels drawn from
    softmax(z), the model reports softmax(sharpen · z) — over-confident by a known factor."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.2, (n, k))
    true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in true])
    rep = np.exp(sharpen * z)
    return rep / rep.sum(1, keepdims=True), y, true


def test_temperature_scaling_reduces_ece_on_held_out_rows() -> None:
    p_cal, y_cal, _ = overconfident(1500, seed=1)
    p_test, y_test, _ = overconfident(1500, seed=2)
    t = fit_temperature(p_cal, y_cal)
    assert 2.0 < t < 3.1  # the sharpening factor, recovered
    before, after = top_label_ece(p_test, y_test), top_label_ece(apply_temperature(p_test, t),
                                                                  y_test)
    assert before > 0.15 and after < 0.05 and after < before / 3
    # temperature never changes the winning class (the order of parts by their top
    # probability may change a little: it depends on the whole vector)
    q = apply_temperature(p_test, t)
    assert (q.argmax(1) == p_test.argmax(1)).all()
    assert np.allclose(q.sum(1), 1)


def test_ece_is_the_weighted_gap_per_equal_width_bin() -> None:
    conf = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 1, 1, 0])
    # bins: [0.9, 0.9667): gap 0.05, weight 0.5; [0.5, 0.5667): gap 0.05, weight 0.5
    assert confidence_ece(conf, correct) == pytest.approx(0.05)
    assert confidence_ece(np.array([1.0]), np.array([1])) == 0.0  # 1.0 goes to the top bin


def test_threshold_reaches_the_target_on_held_out_rows() -> None:
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        conf = rng.beta(5, 1.5, n)  # calibrated confidences: right with that probability
        return conf, rng.random(n) < conf

    c_cal, ok_cal = draw(20_000)
    thr = choose_threshold(c_cal, ok_cal, 0.95)
    assert thr.reached and thr.accuracy >= 0.95
    accepted = c_cal >= thr.threshold
    assert thr.coverage == pytest.approx(accepted.mean())
    # the largest coverage: one more (lower) distinct confidence falls below the target
    lower = np.sort(np.unique(c_cal[~accepted]))[-1]
    assert ok_cal[c_cal >= lower].mean() < 0.95
    c_test, ok_test = draw(20_000)
    held = c_test >= thr.threshold
    assert abs(held.mean() - thr.coverage) < 0.02
    assert ok_test[held].mean() >= 0.945  # the target, up to sampling noise (sd ~0.002)


def test_threshold_keeps_ties_together_and_says_when_the_target_is_out_of_reach() -> None:
    conf = np.array([0.9, 0.8, 0.8, 0.7])
    ok = np.array([1, 1, 0, 1], dtype=bool)
    thr = choose_threshold(conf, ok, 0.9)
    assert thr.threshold == 0.9 and thr.coverage == 0.25  # the 0.8 pair goes together
    none = choose_threshold(np.array([0.6, 0.5]), np.array([False, True]), 0.95)
    assert not none.reached and none.coverage == 0.0 and none.threshold > 1.0
    assert decisions(np.array([0.6, 0.5]), none.threshold) == ["refer", "refer"]
    assert decisions(np.array([0.9, 0.7]), 0.8) == ["accept", "refer"]
    with pytest.raises(ValueError):
        choose_threshold(conf, ok, 1.5)
    curve = coverage_curve(conf, ok, [0.25, 0.5, 1.0])
    assert [p["accuracy"] for p in curve] == [1.0, 1.0, 0.75]


def test_shipped_quality_steel_is_calibrated_with_a_reject_threshold() -> None:
    card = json.loads((SHIPPED / "card.json").read_text())
    cal = card["calibration"]
    assert cal["method"] == "temperature" and cal["ece_bins"] == 15
    assert card["version"] == "2" and "calibration.npz" in card["files"]
    assert cal["reject"]["target_accuracy"] == 0.95 and cal["reject"]["reached"]
    assert cal["reject"]["accuracy_accepted"] >= 0.95
    sel = card["metrics"]["selective_holdout_30pct"]
    assert sel["rows"]["test"] == 408 and sel["rows"]["fit_and_calibrate"] == 950
    # the curve is monotone in coverage and ends at the plain accuracy
    assert sel["curve"][-1]["coverage"] == 1.0
    assert sel["curve"][-1]["accuracy"] == pytest.approx(sel["accuracy"], abs=1e-4)
    # every figure of the card is kept (issue 14's) besides the new ones
    assert {"cv_tuning_80pct", "holdout_20pct", "cv_whole_file"} <= set(card["metrics"])
    model = load_quality(SHIPPED)
    assert model.calibration is not None
    assert model.calibration.threshold.threshold == pytest.approx(cal["reject"]["threshold"])
    # asking for a stricter target refers more of the same rows
    strict = model.threshold(0.99)
    assert strict is not None and strict.threshold >= model.threshold().threshold
    assert strict.coverage <= model.threshold().coverage


def test_a_broken_calibration_section_or_file_is_refused(tmp_path: Path) -> None:
    p, y, _ = overconfident(300, seed=3)
    cal = fit_calibration(p, y)
    cal.save(tmp_path)
    section = cal.card_section()
    back = load_calibration(tmp_path, section)
    assert back.threshold.threshold == cal.threshold.threshold
    assert back.temperature == pytest.approx(cal.temperature, abs=1e-6)
    assert load_calibration(tmp_path, {}) is None
    with pytest.raises(ModelError, match="temperature"):
        load_calibration(tmp_path, {**section, "temperature": -1})
    with pytest.raises(ModelError, match="incomplete"):
        load_calibration(tmp_path, {**section, "reject": {"threshold": 0.5}})
    save_arrays(tmp_path / "calibration.npz", {"conf": np.array([1.5]),
                                               "correct": np.array([1], dtype=np.uint8)})
    with pytest.raises(ModelError, match="outside"):
        load_calibration(tmp_path, section)


def test_model_arrays_are_written_bit_for_bit(tmp_path: Path) -> None:
    a = {"x": np.arange(10.0), "y": np.eye(3, dtype=np.int32)}
    save_arrays(tmp_path / "a.npz", a)
    first = (tmp_path / "a.npz").read_bytes()
    import time

    time.sleep(2.1)  # a zip member's date has 2 s resolution
    save_arrays(tmp_path / "a.npz", a)
    assert (tmp_path / "a.npz").read_bytes() == first
    with np.load(tmp_path / "a.npz") as back:
        assert np.array_equal(back["x"], a["x"]) and np.array_equal(back["y"], a["y"])


@pytest.mark.skipif(not STEEL_DEV.exists(), reason="needs ../shared/data/steel_plates")
def test_the_training_tool_reproduces_its_model_files_bit_for_bit(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("tq", ROOT / "tools" /
                                                  "train_quality_steel.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run / "quality-steel"
        tool.main(["--data", str(STEEL_DEV), "--out", str(out), "--quick", "--rows", "300",
                   "--folds", "3", "--candidates", "hgb_et_geo"])
        outs.append(out)
    card = json.loads((outs[0] / "card.json").read_text())
    for name in card["files"]:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    other = json.loads((outs[1] / "card.json").read_text())
    assert card["calibration"] == other["calibration"]
    sel = card["metrics"]["selective_holdout_30pct"]
    assert sel["rows"] == {"fit_and_calibrate": 210, "test": 90}
    assert 0 <= sel["coverage"] <= 1 and sel["ece_bins"] == 15
