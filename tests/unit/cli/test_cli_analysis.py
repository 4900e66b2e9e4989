"""``linewatch spectrum | severity | trend`` through ``desktop.cli.main`` and a subprocess."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.analysis.bearings import fault_frequencies, find_preset
from desktop.analysis.severity import G_N
from desktop.cli import main
from desktop.core.types import ChannelSpec
from desktop.recording.writer import RecordingWriter
from tests.support.real_data import CWRU

ROOT = Path(__file__).resolve().parents[3]
FS = 5000.0


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A Parquet recording: 'accel' in g (50 Hz, 4.0 mm/s RMS velocity, plus a 1.2 kHz
    carrier struck 100 times a second) and a 'speed' channel in rpm reading 1500."""
    n = int(FS * 12)
    t = np.arange(n) / FS
    a_peak = 2 * math.pi * 50 * 4.0 * math.sqrt(2) * 1e-3 / G_N
    strikes = (np.sin(2 * np.pi * 100 * t) > 0.95).astype(float)
    accel = a_peak * np.sin(2 * np.pi * 50 * t) + 0.01 * strikes * np.sin(
        2 * np.pi * 1900 * t)
    speed = np.full(n, 1500.0)
    out = tmp_path / "machine.parquet"
    writer = RecordingWriter(out, (ChannelSpec("accel", "g"), ChannelSpec("speed", "rpm")),
                             FS, "test", fsync=False)
    writer.write(t, np.stack([accel, speed], axis=1))
    writer.close()
    return out


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_severity_json(machine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "severity", str(machine), "--channel", "accel", "--group", "2",
                "--foundation", "rigid", "--block", "5", "--json")
    assert doc["velocity_rms_mm_s"] == pytest.approx(4.0, rel=0.02)
    assert doc["zone"] == "C" and doc["group"] == 2 and doc["foundation"] == "rigid"
    assert doc["limits_mm_s"] == {"A/B": 1.4, "B/C": 2.8, "C/D": 4.5}
    assert doc["unit"] == "g"
    assert [(b["start_s"], b["end_s"]) for b in doc["trend"]] == [(0, 5), (5, 12)]
    assert all(b["zone"] == "C" and set(b) == {"start_s", "end_s", "velocity_rms_mm_s",
                                                "zone"} for b in doc["trend"])


def test_severity_table_and_unit_override(machine: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["severity", str(machine), "--channel", "accel", "--group", "1",
                 "--foundation", "flexible"]) == 0
    out = capsys.readouterr().out
    assert "overall:" in out and "zone B" in out
    doc = _json(capsys, "severity", str(machine), "--channel", "accel", "--group", "1",
                "--foundation", "rigid", "--unit", "m/s2", "--json")
    assert doc["velocity_rms_mm_s"] == pytest.approx(4.0 / G_N, rel=0.02)


def test_trend_json(machine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "trend", str(machine), "--channel", "accel", "--block", "4",
                "--start", "2", "--json")
    assert [(r["start_s"], r["end_s"]) for r in doc["trend"]] == [(2, 6), (6, 10), (10, 12)]
    assert {"rms", "peak", "crest_factor", "kurtosis"} <= doc["trend"][0].keys()
    assert doc["overall"]["rms"] == pytest.approx(doc["trend"][0]["rms"], rel=0.02)


def test_spectrum_takes_the_speed_from_a_channel(machine: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "spectrum", str(machine), "--channel", "accel", "--bearing", "6205",
                "--json")
    assert doc["rpm"] == 1500 and "speed" in doc["rpm_source"]
    assert doc["peaks"][0]["freq_hz"] == pytest.approx(50, abs=0.5)
    assert set(doc["peaks"][0]) == {"freq_hz", "amplitude"}
    names = {m["name"] for m in doc["markers"]}
    assert {"BPFI", "2xBPFI", "BPFO", "FTF", "BSF", "BPFI+1X"} <= names
    assert doc["bearing"]["designation"] == "6205-2RS JEM SKF"
    env = _json(capsys, "spectrum", str(machine), "--channel", "accel", "--envelope",
                "--band", "1500", "2300", "--rpm", "1800", "--json")
    assert env["band_hz"] == [1500, 2300] and env["band_source"] == "--band"
    assert env["rpm"] == 1800 and env["rpm_source"] == "--rpm"
    assert env["peaks"][0]["freq_hz"] == pytest.approx(100, abs=1)
    assert [m["name"] for m in env["markers"]] == ["1X", "2X", "3X"]  # no bearing named


def test_spectrum_without_speed_omits_markers_with_a_note(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "x.csv"
    t = np.arange(4000) / 1000.0
    csv.write_text("vib\n" + "\n".join(f"{v:.6f}" for v in np.sin(2 * np.pi * 60 * t)))
    assert main(["spectrum", str(csv), "--channel", "vib", "--rate", "1000",
                 "--bearing", "6205", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["markers"] == [] and doc["rpm"] is None
    assert "markers omitted" in captured.err
    assert doc["peaks"][0]["freq_hz"] == pytest.approx(60, abs=0.5)


def test_cwru_envelope_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    path = CWRU / "12k_Drive_End_IR007_1_106.mat"
    doc = _json(capsys, "spectrum", str(path), "--channel", "DE_time", "--envelope",
                "--bearing", "6205", "--json")
    assert doc["rpm"] == 1772 and doc["rpm_source"] == "file variable X106RPM"
    bpfi = fault_frequencies(find_preset("6205"), 1772).bpfi
    in_range = [p for p in doc["peaks"] if 20 <= p["freq_hz"] <= 400]
    assert abs(in_range[0]["freq_hz"] - bpfi) / bpfi < 0.02
    assert any(m["marker"] == "BPFI" for m in doc["matches"])
    assert main(["spectrum", str(path), "--channel", "DE_time", "--envelope",
                 "--bearing", "6205"]) == 0
    assert "BPFI (159.93 Hz" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "code", "says"), [
    (["--channel", "nope"], 2, "no channel 'nope'"),
    (["--channel", "accel", "--bearing", "62"], 2, "ambiguous"),
    (["--channel", "accel", "--bearing", "9999"], 2, "presets: 6205"),
    (["--channel", "accel", "--geometry", "9,1,x,0"], 2, "N,d,D,ANGLE"),
    (["--channel", "accel", "--envelope", "--band", "100", "9000"], 2, "half the sample"),
    (["--channel", "accel", "--start", "30"], 2, "--start/--end"),
])
def test_spectrum_errors_are_one_line(machine: Path, capsys: pytest.CaptureFixture[str],
                                      argv: list[str], code: int, says: str) -> None:
    assert main(["spectrum", str(machine), *argv]) == code
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and "Traceback" not in err


def test_severity_refuses_an_unknown_unit_naming_the_option(
        machine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["severity", str(machine), "--channel", "speed", "--group", "1",
                 "--foundation", "rigid"]) == 2
    err = capsys.readouterr().err.strip()
    assert "'rpm'" in err and "--unit g|m/s2|mm/s" in err and "\n" not in err


def test_missing_file_fails_in_a_subprocess_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "desktop.cli", "trend",
                           str(tmp_path / "absent.parquet"), "--channel", "x"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2  # bad input (README: exit codes)
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
