"""``baseline NAME FILES --adabn MODEL`` stores a machine's AdaBN statistics, and
``predict --machine NAME`` uses them with a note (stderr; JSON ``model.adabn``); other
keys and models are unchanged (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.baseline.routes import RouteSpec, route
from desktop.baseline.store import BaselineStore
from desktop.cli import main

FS = 12000.0
MODEL = "fault-cwru"


def _write(path: Path, x: np.ndarray) -> Path:
    pq.write_table(pa.table({"time_s": np.arange(x.size) / FS, "de": x}), path)
    return path


@pytest.fixture()
def pump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de", "--unit", "g"]) == 0
    capsys.readouterr()
    snaps = [s.x for s in route(RouteSpec(find_preset("6205"), 1800.0, days=0.15,
                                          seed=8))][:16]
    return _write(tmp_path / "healthy.parquet", np.concatenate(snaps))


def test_predict_machine_says_whether_adabn_applied(pump: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["predict", str(pump), "--machine", "pump"]) == 0
    assert "AdaBN: not applied (no AdaBN statistics" in capsys.readouterr().err
    assert main(["predict", str(pump), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "adabn" not in plain["model"]
    # the shipped model on a simulated machine fails the healthy check: stored, refused
    assert main(["baseline", "pump", str(pump), "--adabn", MODEL]) == 0
    assert "AdaBN fault-cwru: stored, not used" in capsys.readouterr().out
    assert main(["predict", str(pump), "--json", "--machine", "pump"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"]["adabn"].startswith("AdaBN: not applied")
    assert {k: v for k, v in doc["model"].items() if k != "adabn"} == plain["model"]

    monkeypatch.setattr("desktop.ml.training.machine_adabn.MIN_NORMAL_SHARE", 0.0)
    assert main(["baseline", "pump", str(pump), "--adabn", MODEL, "--adabn-layers", "first",
                 "--json"]) == 0
    learnt = json.loads(capsys.readouterr().out)
    assert learnt["sensors"]["de"]["adabn"][MODEL]["layers"] == "first"
    assert BaselineStore().load("pump").sensors["de"].adabn[MODEL]["usable"] is not False
    assert main(["predict", str(pump), "--json", "--machine", "pump"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "machine 'pump'" in doc["model"]["adabn"]
    assert main(["predict", str(pump), "--machine", "pump"]) == 0
    assert "AdaBN: batch-norm statistics of machine 'pump'" in capsys.readouterr().err


def test_adabn_needs_a_fault_model(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "pump", str(pump), "--adabn", "quality-steel"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a fault classifier" in err and len(err.splitlines()) == 1
    assert main(["baseline", "pump", str(pump), "--adabn", "no-such-model"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not BaselineStore().exists("pump")  # refused before any work
