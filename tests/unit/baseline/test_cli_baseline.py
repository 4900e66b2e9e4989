"""``linewatch baseline`` and ``linewatch trend --machine`` through the real CLI."""

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


def _write(path: Path, x: np.ndarray) -> Path:
    t = np.arange(x.size) / FS
    pq.write_table(pa.table({"time_s": t, "de": x}), path)
    return path


@pytest.fixture()
def machine(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm-range", "1500", "1900",
                 "--channel", "de", "--unit", "g"]) == 0
    capsys.readouterr()
    return "pump"


def _routes(tmp_path: Path) -> tuple[list[Path], Path]:
    g = find_preset("6205")
    healthy = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3)))[:5]
    fault = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3, fault="outer_race",
                                 onset_day=0.0, start_db=3.0, end_db=6.0)))[:4]
    base = [_write(tmp_path / f"base_{i}.parquet", s.x) for i, s in enumerate(healthy[:3])]
    route_dir = tmp_path / "route"
    route_dir.mkdir()
    # names carry the time; written in reverse so mtime and listing order disagree
    stamps = [f"2004.02.12.{10 + i:02d}.00.00" for i in range(6)]
    xs = [s.x for s in healthy[3:]] + [s.x for s in fault]
    for stamp, x in reversed(list(zip(stamps, xs, strict=True))):
        _write(route_dir / f"{stamp}.parquet", x)
    return base, route_dir


def test_baseline_then_trend_json(machine: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    base, route_dir = _routes(tmp_path)
    assert main(["baseline", machine, *map(str, base), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    sb = doc["sensors"]["de"]
    assert sb["snapshots"] == 3 and sb["thin"] is True
    assert {"acc_rms", "vel_rms", "peak", "crest", "kurtosis", "env_bpfo"} <= set(sb["limits"])

    out = tmp_path / "trend.parquet"
    assert main(["trend", str(route_dir), "--machine", machine, "--json",
                 "--out", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(rows) == 6
    for key in ("file", "time", "sensor", "level", "location", "indicators", "anomaly",
                "evidence"):
        assert key in rows[0]
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert rows[0]["time"] == "2004-02-12 10:00:00" and rows[0]["sensor"] == "de"
    assert set(rows[0]["indicators"]["acc_rms"]) == {"value", "alert", "alarm"}
    assert rows[0]["level"] == "ok"
    assert rows[-1]["level"] == "alarm" and rows[-1]["state"] == "alarm"
    assert rows[-1]["location"] == "outer_race"
    table = pq.read_table(out)
    assert table.num_rows == 6 and "acc_rms_alarm" in table.column_names


def test_errors_are_one_line_exit_2(machine: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", machine, str(tmp_path / "nothing*.parquet")]) == 2
    assert "no file matches" in capsys.readouterr().err
    _write(tmp_path / "a.parquet", np.zeros(int(FS)))
    assert main(["trend", str(tmp_path / "a.parquet"), "--machine", machine]) == 2
    err = capsys.readouterr().err
    assert "no baseline" in err and len(err.strip().splitlines()) == 1
    assert main(["baseline", "nobody", str(tmp_path / "a.parquet")]) == 2


def test_plain_trend_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "a.parquet", np.sin(np.arange(int(2 * FS)) / 5.0))
    assert main(["trend", str(f), "--channel", "de", "--json", "--block", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["trend"]) == 2 and doc["channel"] == "de"
    assert main(["trend", str(f)]) == 2


def test_hook_for_other_commands(machine: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.baseline.hooks import machine_judge

    assert machine_judge(machine) is None
    base, route_dir = _routes(tmp_path)
    assert main(["baseline", machine, *map(str, base)]) == 0
    capsys.readouterr()
    judge_row = machine_judge(machine)
    assert judge_row is not None
    x = pq.read_table(sorted(route_dir.iterdir())[0]).column("de").to_numpy()
    row = judge_row(x, FS, channel="de")
    assert {"level", "location", "indicators", "anomaly", "evidence"} <= set(row)
    assert row["level"] == "ok"


def test_baseline_from_a_source(machine: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(5)
    f = _write(tmp_path / "live.parquet", rng.standard_normal(int(5 * FS)))
    assert main(["baseline", machine, "--source", f"replay:{f}", "--minutes", "0.05",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sensors"]["de"]["snapshots"] == 3
    assert main(["baseline", machine, "--source", f"replay:{f}"]) == 2
    assert "--minutes" in capsys.readouterr().err
