"""A recorder killed with SIGKILL keeps what it flushed; replay reproduces a recording."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.recording.readers import read_recording

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def linewatch(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=timeout)


def test_sigkill_mid_recording_keeps_all_but_the_last_second(tmp_path: Path) -> None:
    out = tmp_path / "killed.parquet"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop", "record", "--source", "synth:8x5000", "--out",
         str(out)], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        cwd=ROOT)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "connected" in line, line
    started = time.monotonic()
    time.sleep(4.0)
    proc.kill()  # SIGKILL: no handler, no flush, no close
    elapsed = time.monotonic() - started
    proc.wait(timeout=10)

    assert not out.exists() and out.with_name(out.name + ".journal").is_dir()
    info = linewatch("info", str(out), "--json")
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert set(summary) >= {"channels", "sample_rate", "duration_s", "samples"}
    assert summary["recovered_from_journal"] is True
    assert summary["channels"] == [f"synth{k}" for k in range(1, 9)]
    assert summary["duration_s"] >= elapsed - 1.0, (summary, elapsed)
    recovered_fraction = summary["duration_s"] / elapsed
    print(f"\nkill -9 after {elapsed:.2f} s: recovered {summary['duration_s']:.2f} s "
          f"({recovered_fraction:.1%})")

    # The recovered samples are exactly the synth source's first samples.
    from desktop.sources.synth import SynthSource

    rec = read_recording(out)
    expected = SynthSource(8, 5000.0).samples(0, rec.samples)
    np.testing.assert_array_equal(rec.values, expected)
    # `recover` makes the Parquet file and removes the journal.
    fixed = linewatch("recover", str(out))
    assert fixed.returncode == 0, fixed.stderr
    assert out.exists() and not out.with_name(out.name + ".journal").exists()
    assert read_recording(out).samples == rec.samples


def test_replay_at_max_speed_reproduces_the_recording_sample_for_sample(tmp_path: Path
                                                                       ) -> None:
    first = tmp_path / "first.parquet"
    done = linewatch("record", "--source", "synth:4x2000", "--out", str(first),
                     "--seconds", "1.5", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"samples", "channels", "malformed", "dropped", "duration_s", "out"}
    assert summary["channels"] == 4 and summary["dropped"] == 0 and summary["samples"] > 2000

    again = tmp_path / "again.parquet"
    replayed = linewatch("record", "--source", f"replay:{first}", "--speed", "max", "--out",
                         str(again), "--json")
    assert replayed.returncode == 0, replayed.stderr
    a, b = read_recording(first), read_recording(again)
    assert a.channels == b.channels and a.sample_rate == b.sample_rate
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)


def test_csv_replay_matches_the_csv(tmp_path: Path) -> None:
    csv = tmp_path / "run.csv"
    rows = np.arange(3000, dtype=np.float64).reshape(1000, 3) / 7
    csv.write_text("time_ms;a;b\n" + "".join(
        f"{i * 2};{float(r[1])!r};{float(r[2])!r}\n" for i, r in enumerate(rows)))
    out = tmp_path / "from_csv.parquet"
    done = linewatch("record", "--source", f"replay:{csv}", "--speed", "max", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rec = read_recording(out)
    assert [c.name for c in rec.channels] == ["a", "b"]
    np.testing.assert_array_equal(rec.values, rows[:, 1:])
    np.testing.assert_allclose(rec.timestamps, np.arange(1000) * 0.002)
    info = json.loads(linewatch("info", str(csv), "--json").stdout)
    assert info["samples"] == 1000 and info["sample_rate"] == pytest.approx(500.0)


def test_user_errors_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    cases = [
        ("record", "--source", "nosuch:thing", "--out", str(tmp_path / "x.parquet")),
        ("record", "--source", "serial:/dev/does-not-exist", "--out", str(tmp_path / "y.pq")),
        ("record", "--source", "synth:banana", "--out", str(tmp_path / "z.parquet")),
        ("info", str(tmp_path / "missing.parquet")),
        ("record", "--source", "replay:/nonexistent.csv", "--out", str(tmp_path / "w.pq")),
    ]
    for args in cases:
        done = linewatch(*args)
        assert done.returncode in (1, 2), (args, done)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("linewatch: "), done.stderr
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 this is not parquet at all")
    done = linewatch("info", str(garbage))
    assert done.returncode == 1 and "not a readable Parquet file" in done.stderr


def test_sources_lists_builtins(tmp_path: Path) -> None:
    done = linewatch("sources", "--json")
    listing = json.loads(done.stdout)
    assert {"demo", "synth:CHANNELSxRATE", "replay:FILE", "serial:PORT"} <= {
        b["usage"] for b in listing["builtin"]}
    assert isinstance(listing["serial_ports"], list)
