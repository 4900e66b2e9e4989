"""The shipped models on real, held-out CWRU excerpts, through the API and the CLI.

The fixture (tests/fixtures/cwru_excerpt.npz, made by ``tools/train_fault_cwru.py
--make-fixture``) holds 3 windows per class from the last 20 % of 1 hp fault files and of
the healthy file: the time region the shipped model kept out of training for validation.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.io import savemat
from scipy.signal import resample_poly

from desktop.cli import add_commands
from desktop.core.errors import LinewatchError
from desktop.ml.inference.predictors import load_predictor

#: the model commands of ``linewatch`` (predict, calibrate, train, models)
ML_COMMANDS = ("predict", "calibrate", "train", "models")

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "cwru_excerpt.npz"
LOCATION = {"normal": "normal", "ball_007": "ball", "inner_021": "inner_race",
            "outer_007": "outer_race"}


@pytest.fixture(scope="module")
def excerpts() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k].astype(np.float64) for k in z.files}


@pytest.fixture(scope="module")
def fault_model():
    return load_predictor("fault-cwru", device="cpu")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(), ML_COMMANDS)
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_shipped_fault_model_card(fault_model) -> None:
    card = fault_model.card
    assert card.kind == "fault" and card.architecture == "wdcnn_ensemble"
    assert card.hyper_parameters["members"] == 5
    assert card.classes == ["normal", "ball_007", "ball_014", "ball_021", "inner_007",
                            "inner_014", "inner_021", "outer_007", "outer_014", "outer_021"]
    assert card.sample_rate == 12000 and card.window == 2048
    assert card.training_command.startswith("linewatch train --recipe fault-cwru")
    assert (fault_model.folder / "weights.safetensors").stat().st_size < 2 << 20


def test_fault_model_names_the_right_class(fault_model, excerpts) -> None:
    for label, x in excerpts.items():
        verdicts = fault_model.predict_signal(x, 12000.0)
        assert len(verdicts) == 3
        assert [v.label for v in verdicts] == [label] * 3, label
        assert all(v.location == LOCATION[label] for v in verdicts)
        assert verdicts[1].start_s == pytest.approx(2048 / 12000)


def test_other_rates_are_resampled_to_the_model_rate(fault_model, excerpts) -> None:
    x48 = resample_poly(excerpts["inner_021"], 4, 1)
    verdicts = fault_model.predict_signal(x48, 48000.0)
    assert [v.label for v in verdicts] == ["inner_021"] * 3
    assert verdicts[-1].end_s == pytest.approx(3 * 2048 / 12000)


def test_gaps_skip_windows_and_short_input_is_refused(fault_model, excerpts) -> None:
    x = excerpts["outer_007"].copy()
    x[3000] = np.nan
    verdicts = fault_model.predict_signal(x, 12000.0)
    assert fault_model.last_skipped == 1 and verdicts[0].start_s == 0.0
    with pytest.raises(LinewatchError, match="needs at least"):
        fault_model.predict_signal(x[:1000], 12000.0)


def test_cli_predict_csv_json(tmp_path: Path, excerpts, capsys) -> None:
    path = tmp_path / "rec.csv"
    np.savetxt(path, excerpts["ball_007"][:, None], header="DE accel", comments="",
               fmt="%.6f")
    with pytest.raises(LinewatchError, match="--rate"):
        run_cli(["predict", str(path)], capsys)
    doc = json.loads(run_cli(["predict", str(path), "--rate", "12000", "--json"], capsys))
    assert set(doc) == {"model", "classes", "windows", "summary"}
    assert len(doc["classes"]) == 10 and len(doc["windows"]) == 3
    for w in doc["windows"]:
        assert set(w) == {"start_s", "end_s", "class", "probability", "location", "ood_score"}
        assert w["class"] == "ball_007" and w["location"] == "ball"
        assert 0 < w["probability"] <= 1
    assert doc["summary"]["class_shares"]["ball_007"] == 1.0


def test_cli_predict_mat_v5_and_v73(tmp_path: Path, excerpts, capsys) -> None:
    # v5, CWRU-style: rate from the "12k_" name, DE channel found by the card's hint.
    v5 = tmp_path / "12k_Drive_End_IR021_1_210.mat"
    savemat(v5, {"X210_FE_time": excerpts["normal"][:, None],
                 "X210_DE_time": excerpts["inner_021"][:, None],
                 "X210RPM": np.array([[1774]])})
    out = run_cli(["predict", str(v5)], capsys)
    assert "channel X210_DE_time" in out and "inner_021 100.0%" in out
    out = run_cli(["predict", str(v5), "--channel", "FE_time", "--json"], capsys)
    assert json.loads(out)["summary"]["majority_class"] == "normal"
    # v7.3 = HDF5 behind a 512-byte MATLAB header; no rate inside → --rate needed.
    v73 = tmp_path / "recording.mat"
    with h5py.File(v73, "w", userblock_size=512) as f:
        f["accel_DE_time"] = excerpts["outer_007"][None, :]
    header = b"MATLAB 7.3 MAT-file, created by a test".ljust(116) + b"\0" * 8 + b"\x00\x02IM"
    with open(v73, "r+b") as fh:
        fh.write(header)
    with pytest.raises(LinewatchError, match="--rate"):
        run_cli(["predict", str(v73)], capsys)
    doc = json.loads(run_cli(["predict", str(v73), "--rate", "12000", "--json"], capsys))
    assert {w["class"] for w in doc["windows"]} == {"outer_007"}
    with pytest.raises(LinewatchError, match="no channel 'BA_time'"):
        run_cli(["predict", str(v73), "--rate", "12000", "--channel", "BA_time"], capsys)


def test_cwru_normal_baseline_files_are_read_at_48_khz(tmp_path: Path, excerpts,
                                                      capsys) -> None:
    """CWRU's healthy files have no rate prefix but are 48 kHz: assumed, and said so."""
    path = tmp_path / "normal_2_99.mat"
    at_48k = resample_poly(excerpts["normal"], 4, 1)
    savemat(path, {"X099_DE_time": at_48k[:, None], "X099_FE_time": at_48k[:, None],
                   "X099RPM": np.array([[1750]])})
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(), ML_COMMANDS)
    args = parser.parse_args(["predict", str(path), "--json"])
    assert args.func(args) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["summary"]["input_rate"] == 48000.0
    assert doc["summary"]["majority_class"] == "normal"
    assert "48000 Hz (a CWRU normal baseline file)" in captured.err
    # Any other file without a rate still has to be told.
    other = tmp_path / "healthy_pump.mat"
    savemat(other, {"X099_DE_time": at_48k[:, None]})
    with pytest.raises(LinewatchError, match="--rate"):
        run_cli(["predict", str(other)], capsys)


def test_anomaly_model_flags_faults_not_health(excerpts, capsys, tmp_path: Path) -> None:
    det = load_predictor("anomaly-cwru")
    assert det.card.kind == "anomaly" and det.classes == ["normal", "anomaly"]
    for label, x in excerpts.items():
        verdicts = det.predict_signal(x, 12000.0)
        want = "normal" if label == "normal" else "anomaly"
        assert [v.label for v in verdicts] == [want] * 3, label
        assert all(v.score is not None for v in verdicts)
    path = tmp_path / "healthy.csv"
    np.savetxt(path, excerpts["normal"][:, None], header="DE", comments="", fmt="%.6f")
    doc = json.loads(run_cli(["predict", str(path), "--model", "anomaly-cwru", "--rate",
                              "12000", "--json"], capsys))
    assert doc["classes"] == ["normal", "anomaly"]
    assert all(w["class"] == "normal" and "score" in w for w in doc["windows"])


def test_cli_models_list(capsys) -> None:
    doc = json.loads(run_cli(["models", "list", "--json"], capsys))
    names = {m["name"]: m for m in doc["models"]}
    assert names["fault-cwru"]["shipped"] and names["anomaly-cwru"]["kind"] == "anomaly"


def test_predict_says_why_it_chose_the_channel(tmp_path: Path, excerpts, capsys) -> None:
    path = tmp_path / "12k_Drive_End_IR021_1_210.mat"
    savemat(path, {"X210_FE_time": excerpts["normal"][:, None],
                   "X210_DE_time": excerpts["inner_021"][:, None]})
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(), ML_COMMANDS)
    args = parser.parse_args(["predict", str(path), "--json"])
    assert args.func(args) == 0
    captured = capsys.readouterr()
    assert ("channel X210_DE_time: first channel whose name contains 'DE_time'"
            in captured.err)
    summary = json.loads(captured.out)["summary"]
    assert summary["channel_reason"] == "first channel whose name contains 'DE_time'"
    args = parser.parse_args(["predict", str(path), "--channel", "X210_FE_time"])
    args.func(args)
    assert "matched --channel X210_FE_time" in capsys.readouterr().err


def test_mat_files_read_like_any_recording(tmp_path: Path, excerpts) -> None:
    """``info``, ``replay:`` and predict share read_recording, which reads .mat too."""
    from desktop.recording.readers import read_recording, summarize_recording

    path = tmp_path / "12k_Drive_End_B007_1_119.mat"
    savemat(path, {"X119_DE_time": excerpts["ball_007"][:, None], "X119RPM": np.array([[1772]])})
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["X119_DE_time"] and rec.sample_rate == 12000
    summary = summarize_recording(path)
    assert summary.samples == excerpts["ball_007"].shape[0] and summary.sample_rate == 12000
