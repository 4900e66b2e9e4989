"""AdaBN statistics and open-set thresholds re-estimated from a machine's route snapshots
and stored with its baseline (issue 22, item 1; desktop.ml.training.machine_adabn), used
when a machine is given (desktop.ml.inference.machine_stats) on both backends."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.baseline.learn import learn_baseline
from desktop.baseline.routes import RouteSpec, route
from desktop.baseline.store import BaselineStore
from desktop.cli import main
from desktop.ml.inference.machine_stats import for_machine, with_machine_statistics
from desktop.ml.inference.predictors import load_predictor
from desktop.ml.training.machine_adabn import machine_statistics

FS = 12000.0
MODEL = "fault-cwru"


def _write(path: Path, x: np.ndarray) -> Path:
    pq.write_table(pa.table({"time_s": np.arange(x.size) / FS, "de": x}), path)
    return path


@pytest.fixture(scope="module")
def snaps() -> list[np.ndarray]:
    g = find_preset("6205")
    return [s.x for s in route(RouteSpec(g, 1800.0, days=0.15, seed=8))][:16]


@pytest.fixture()
def pump(tmp_path: Path, snaps: list[np.ndarray], capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de", "--unit", "g"]) == 0
    capsys.readouterr()
    return _write(tmp_path / "healthy.parquet", np.concatenate(snaps))


def test_statistics_that_fail_the_healthy_check_are_stored_not_used(pump: Path) -> None:
    # the shipped CWRU model on a simulated machine: adapted, it calls the healthy
    # windows faults (tools/eval_baseline_adabn.py), so the statistics are refused
    res = learn_baseline("pump", [pump], adabn=partial(machine_statistics, MODEL))
    entry = res.sensors["de"].adabn[MODEL]
    assert entry["usable"] is False and entry["healthy_normal_share"] < 0.9
    assert entry["note"] in res.sensors["de"].notes
    pred = load_predictor(MODEL, backend="numpy")
    same, why = for_machine(pred, "pump", "de")
    assert same is pred and "healthy windows" in why


def test_adabn_is_learnt_with_the_baseline_and_used(pump: Path, snaps: list,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("desktop.ml.training.machine_adabn.MIN_NORMAL_SHARE", 0.0)
    res = learn_baseline("pump", [pump], adabn=partial(machine_statistics, MODEL))
    entry = BaselineStore().load("pump").sensors["de"].adabn[MODEL]
    assert res.sensors["de"].adabn[MODEL]["windows"] == entry["windows"] >= 100
    assert entry["snapshots"] == 16 and entry["method"].startswith("AdaBN")
    base = load_predictor(MODEL, backend="torch")
    assert entry["ood"]["energy_threshold"] >= base.card.domain["ood"]["energy_threshold"]
    x = np.stack([snaps[0][i:i + 2048] for i in range(0, 8192, 2048)])
    p0 = base.predict_windows(x)
    outs = {}
    for backend in ("torch", "numpy"):
        pred, note = for_machine(load_predictor(MODEL, backend=backend), "pump", "de")
        assert "machine 'pump'" in note and pred is not None
        assert pred.card.domain["ood"]["energy_threshold"] == entry["ood"]["energy_threshold"]
        outs[backend] = pred.predict_windows(x)
    np.testing.assert_allclose(outs["torch"], outs["numpy"], atol=2e-3)
    assert np.abs(outs["torch"] - p0).max() > 1e-3  # the statistics changed the network
    np.testing.assert_allclose(base.predict_windows(x), p0)  # the cached one is untouched


def test_too_few_windows_is_a_note_and_mismatches_are_refused(pump: Path,
                                                              tmp_path: Path,
                                                              snaps: list) -> None:
    thin = _write(tmp_path / "thin.parquet", np.concatenate(snaps[:3]))
    res = learn_baseline("pump", [thin], adabn=partial(machine_statistics, MODEL))
    sb = res.sensors["de"]
    assert not sb.adabn and any("no AdaBN statistics" in n and "100 windows" in n
                                for n in sb.notes)
    pred = load_predictor(MODEL, backend="numpy")
    same, why = with_machine_statistics(pred, {"model": MODEL, "version": "999",
                                               "stats": {"x": [1.0]}})
    assert same is pred and "v999" in why
    same, why = for_machine(pred, "pump", "de")
    assert same is pred and why.startswith("AdaBN: not applied")


def test_whole_file_verdicts_use_the_machine_statistics(pump: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr("desktop.ml.training.machine_adabn.MIN_NORMAL_SHARE", 0.0)
    from desktop.ml.inference.file_verdicts import judge_recording
    from desktop.recording.readers import read_recording

    learn_baseline("pump", [pump], adabn=partial(machine_statistics, MODEL, layers="first"))
    rec = read_recording(pump)
    plain = judge_recording(MODEL, rec)
    mine = judge_recording(MODEL, rec, machine="pump")
    assert "adabn" not in plain["info"] and "machine 'pump'" in mine["info"]["adabn"]
    assert len(mine["verdicts"]) == len(plain["verdicts"])
