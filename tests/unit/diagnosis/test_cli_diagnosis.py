"""``linewatch machine …`` and ``linewatch diagnose …`` through ``desktop.cli.main`` and
one real subprocess: the JSON keys are a public interface."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.types import ChannelSpec
from desktop.diagnosis.catalogue import find_bearing
from desktop.diagnosis.simulate import SimSpec, simulate
from desktop.recording.writer import RecordingWriter
from tests.support.real_data import CWRU

ROOT = Path(__file__).resolve().parents[3]
IR_MAT = CWRU / "12k_Drive_End_IR007_1_106.mat"  # 2-3 s excerpt of CWRU file 106, DE
OR_MAT = CWRU / "12k_Drive_End_OR007@6_0_130.mat"

TOP_KEYS = {"file", "channel", "rate", "machine", "bearing", "location", "faults", "rpm",
            "rpm_source", "rpm_confidence", "mains_hz", "shaft_snr_db", "domain",
            "start_s", "end_s", "notes", "windows"}
WINDOW_KEYS = {"location", "faults", "rpm", "rpm_source", "rpm_confidence", "mains_hz",
               "shaft_snr_db", "domain", "start_s", "end_s", "notes"}
FAULT_KEYS = {"name", "present", "score", "harmonics", "sidebands", "band_hz",
              "explained_by"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def _check_schema(doc: dict) -> None:
    assert set(doc) == TOP_KEYS
    assert doc["location"] in ("normal", "outer_race", "inner_race", "ball", "cage",
                               "not_running", "unknown")
    assert [f["name"] for f in doc["faults"]] == ["BPFO", "BPFI", "BSF", "FTF"]
    for f in doc["faults"]:
        assert set(f) >= FAULT_KEYS
        assert isinstance(f["present"], bool) and isinstance(f["score"], float | int)
        for h in f["harmonics"]:
            assert {"order", "freq_hz", "snr_db"} <= set(h)
    for w in doc["windows"]:
        assert set(w) == WINDOW_KEYS
        assert w["end_s"] > w["start_s"]


def test_diagnose_mat_uses_stored_rpm(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "diagnose", str(IR_MAT), "--bearing", "6205", "--json")
    _check_schema(doc)
    assert doc["rpm"] == 1772.0 and doc["rpm_source"] == "file variable X106RPM"
    assert doc["location"] == "inner_race"
    bpfi = doc["faults"][1]
    assert bpfi["present"] and bpfi["harmonics"][0]["snr_db"] > 20
    assert len(doc["windows"]) >= 2
    assert all(w["rpm"] == 1772.0 for w in doc["windows"])


def test_diagnose_outer_race_and_windows(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "diagnose", str(OR_MAT), "--bearing", "6205", "--window", "0.5",
                "--start", "0.5", "--end", "2.0", "--json")
    assert doc["location"] == "outer_race"
    assert doc["start_s"] == pytest.approx(0.5) and doc["end_s"] == pytest.approx(2.0)
    assert [round(w["start_s"], 2) for w in doc["windows"]] == [0.5, 1.0, 1.5]


def test_diagnose_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "diagnose", str(IR_MAT), "--bearing", "6205")
    assert code == 0
    assert "verdict:    INNER_RACE" in out and "X106RPM" in out and "BPFI  PRESENT" in out


@pytest.fixture
def tacho_recording(tmp_path: Path) -> Path:
    """A simulated 6308 pump with an outer-race fault at 1480 r/min: 'accel' (g) and a
    once-per-revolution 'tach' channel."""
    rec = simulate(SimSpec(find_bearing("6308"), 1480.0, 20000.0, 3.0, "outer_race",
                           seed=7, fault_db=-2.0))
    t = np.arange(rec.x.size) / rec.fs
    out = tmp_path / "pump.parquet"
    w = RecordingWriter(out, (ChannelSpec("accel", "g"), ChannelSpec("tach", "V")),
                        rec.fs, "test", fsync=False)
    w.write(t, np.stack([rec.x, rec.tacho], axis=1))
    w.close()
    return out


def test_machine_profile_round_trip_and_diagnose(
        capsys: pytest.CaptureFixture[str], tacho_recording: Path) -> None:
    doc = _json(capsys, "machine", "add", "pump 3", "--bearing", "6308", "--tacho-channel",
                "tach", "--pulses-per-rev", "1", "--channel", "accel", "--group", "2",
                "--foundation", "rigid", "--json")
    assert doc["sensors"] == [{"channel": "accel", "bearing": "6308"}]
    assert doc["speed"] == {"kind": "tacho", "channel": "tach", "pulses_per_rev": 1}
    listing = _json(capsys, "machine", "list", "--json")
    assert [m["name"] for m in listing["machines"]] == ["pump 3"]
    assert _json(capsys, "machine", "show", "pump 3", "--json") == doc

    d = _json(capsys, "diagnose", str(tacho_recording), "--machine", "pump 3", "--json")
    _check_schema(d)
    assert d["machine"] == "pump 3" and d["channel"] == "accel"
    assert d["rpm_source"] == "tacho tach"
    assert d["rpm"] == pytest.approx(1480.0, rel=5e-3)
    assert d["location"] == "outer_race"

    edited = _json(capsys, "machine", "edit", "pump 3", "--rpm-range", "1200", "1800",
                   "--json")
    assert edited["speed"] == {"kind": "rpm_range", "rpm_range": [1200.0, 1800.0]}
    assert edited["sensors"] == doc["sensors"] and edited["group"] == 2
    d = _json(capsys, "diagnose", str(tacho_recording), "--machine", "pump 3", "--json")
    assert d["rpm_source"] == "spectrum"
    assert d["rpm"] == pytest.approx(1480.0, rel=5e-3)

    assert _json(capsys, "machine", "remove", "pump 3", "--json") == {"removed": "pump 3"}
    assert _json(capsys, "machine", "list", "--json") == {"machines": []}


@pytest.mark.parametrize(("argv", "message"), [
    (["diagnose", str(IR_MAT)], "needs the bearing"),
    (["diagnose", str(IR_MAT), "--bearing", "9999"], "no bearing '9999'"),
    (["diagnose", str(IR_MAT), "--machine", "nope"], "no machine 'nope'"),
    (["diagnose", str(IR_MAT), "--bearing", "6205", "--start", "50"], "--start/--end"),
    (["diagnose", str(IR_MAT), "--bearing", "6205", "--channel", "XYZ"], "no channel"),
    (["diagnose", str(IR_MAT), "--bearing", "6205", "--band", "5000", "7000"], "band"),
    (["machine", "add", "../evil", "--bearing", "6205"], "bad machine name"),
    (["machine", "add", "m1", "--rpm", "1500", "--rpm-range", "1", "2"], "one speed source"),
    (["machine", "add", "m1", "--bearing", "6205", "--rpm", "-3"], "--rpm must be positive"),
    (["machine", "show", "ghost"], "no machine 'ghost'"),
    (["machine", "add", "m1", "--channel", "DE"], "needs a bearing"),
])
def test_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                    message: str) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_machine_add_refuses_duplicate(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "machine", "add", "fan", "--bearing", "6203", "--rpm", "1500")[0] == 0
    code, _, err = _run(capsys, "machine", "add", "fan", "--bearing", "6203")
    assert code == 2 and "exists" in err


def test_subprocess_json(tmp_path: Path) -> None:
    env = dict(os.environ, LINEWATCH_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "desktop", "diagnose", str(OR_MAT),
                           "--bearing", "6205", "--json"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    _check_schema(doc)
    assert doc["location"] == "outer_race"


def test_mfpt_style_mat_shaft_rate(capsys: pytest.CaptureFixture[str],
                                   tmp_path: Path) -> None:
    """An MFPT-style struct (``bearing.gs``, ``bearing.sr``, ``bearing.rate`` = shaft Hz):
    the shaft rate is the speed, the sample rate comes from ``sr``."""
    import scipy.io as sio

    rec = simulate(SimSpec(find_bearing("NICE"), 1500.0, 48828.0, 2.0, "inner_race",
                           seed=3, fault_db=-2.0))
    path = tmp_path / "mfpt.mat"
    sio.savemat(path, {"bearing": {"gs": rec.x[:, None], "sr": 48828.0, "rate": 25.0,
                                   "load": 50.0}})
    doc = _json(capsys, "diagnose", str(path), "--bearing", "NICE", "--json")
    assert doc["rate"] == 48828.0
    assert doc["rpm"] == 1500.0 and doc["rpm_source"].startswith("file variable bearing.rate")
    assert doc["location"] == "inner_race"


def test_speed_channel_ramp_is_order_tracked(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    rec = simulate(SimSpec(find_bearing("6206"), 1200.0, 20000.0, 4.0, "outer_race",
                           seed=8, fault_db=0.0, rpm_end=1600.0))
    t = np.arange(rec.x.size) / rec.fs
    out = tmp_path / "runup.parquet"
    w = RecordingWriter(out, (ChannelSpec("accel", "g"), ChannelSpec("speed", "rpm")),
                        rec.fs, "test", fsync=False)
    w.write(t, np.stack([rec.x, rec.speed], axis=1))
    w.close()
    doc = _json(capsys, "diagnose", str(out), "--bearing", "6206", "--json")
    assert doc["channel"] == "accel" and doc["rpm_source"] == "channel speed"
    assert doc["domain"] == "orders" and doc["location"] == "outer_race"
