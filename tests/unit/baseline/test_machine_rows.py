"""``predict --machine`` and ``diagnose --machine`` with a learnt baseline (issue 22, item
2): each row gains level, evidence_location, indicators and anomaly; without a baseline a
one-line note and nothing else changes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.baseline.routes import RouteSpec, route
from desktop.cli import main

FS = 12000.0
KEYS = {"level", "evidence_location", "indicators", "anomaly"}


def _write(path: Path, x: np.ndarray) -> Path:
    pq.write_table(pa.table({"time_s": np.arange(x.size) / FS, "de": x}), path)
    return path


@pytest.fixture()
def files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Path]:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de", "--unit", "g"]) == 0
    g = find_preset("6205")
    healthy = [s.x for s in list(route(RouteSpec(g, 1800.0, days=0.05, seed=3)))[:6]]
    fault = [s.x for s in list(route(RouteSpec(g, 1800.0, days=0.05, seed=3,
                                               fault="outer_race", onset_day=0.0,
                                               start_db=6.0, end_db=6.0)))[:3]]
    out = {f"base{i}": _write(tmp_path / f"base{i}.parquet", x)
           for i, x in enumerate(healthy[:3])}
    out["healthy"] = _write(tmp_path / "healthy.parquet", np.concatenate(healthy[3:]))
    out["fault"] = _write(tmp_path / "fault.parquet", np.concatenate(fault))
    capsys.readouterr()
    return out


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict, str]:
    assert main(list(argv)) == 0
    cap = capsys.readouterr()
    return json.loads(cap.out), cap.err


def test_without_a_baseline_only_a_note(files: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    plain, _ = _run(capsys, "predict", str(files["fault"]), "--json")
    doc, err = _run(capsys, "predict", str(files["fault"]), "--json", "--machine", "pump")
    assert "no learnt baseline" in err and err.count("note:") == 1
    assert doc["windows"] == plain["windows"]
    d1, _ = _run(capsys, "diagnose", str(files["fault"]), "--json", "--machine", "pump")
    assert "level" not in d1 and all("level" not in w for w in d1["windows"])


def test_rows_gain_the_baseline_verdict(files: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    d0, _ = _run(capsys, "diagnose", str(files["fault"]), "--json", "--machine", "pump")
    assert main(["baseline", "pump", *(str(files[f"base{i}"]) for i in range(3))]) == 0
    capsys.readouterr()
    plain, _ = _run(capsys, "predict", str(files["fault"]), "--json")
    doc, _ = _run(capsys, "predict", str(files["fault"]), "--json", "--machine", "pump")
    assert len(doc["windows"]) == len(plain["windows"])
    for w, p in zip(doc["windows"], plain["windows"], strict=True):
        assert set(w) >= KEYS and {k: w[k] for k in p} == p  # existing keys unchanged
        assert set(w["indicators"]["acc_rms"]) == {"value", "alert", "alarm"}
    assert {w["level"] for w in doc["windows"]} == {"alarm"}
    assert {w["evidence_location"] for w in doc["windows"]} == {"outer_race"}
    assert doc["summary"]["baseline"]["level"] == "alarm"
    ok, _ = _run(capsys, "predict", str(files["healthy"]), "--json", "--machine", "pump")
    assert {w["level"] for w in ok["windows"]} == {"ok"}
    assert {w["evidence_location"] for w in ok["windows"]} == {"normal"}

    d, _ = _run(capsys, "diagnose", str(files["fault"]), "--json", "--machine", "pump")
    assert set(d) >= KEYS and d["level"] == "alarm" and d["evidence_location"] == "outer_race"
    # the diagnosis's own keys (its location included) are unchanged
    assert {k: d[k] for k in d0 if k != "windows"} == {k: v for k, v in d0.items()
                                                       if k != "windows"}
    assert d["windows"] and all(set(w) >= KEYS for w in d["windows"])
    assert [{k: w[k] for k in w0} for w, w0 in zip(d["windows"], d0["windows"],
                                                   strict=True)] == d0["windows"]

    assert main(["predict", str(files["fault"]), "--machine", "pump"]) == 0
    text = capsys.readouterr().out
    assert "baseline" in text and "ALARM outer_race" in text
    assert main(["diagnose", str(files["fault"]), "--machine", "pump"]) == 0
    assert "ALARM outer_race" in capsys.readouterr().out


def test_unknown_machine_is_one_line(files: dict[str, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", str(files["fault"]), "--machine", "nobody"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
