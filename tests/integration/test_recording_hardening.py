"""Recordings under pressure: a second recorder, a full disk, a killed recover, a big journal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop.core.types import ChannelSpec
from desktop.recording.readers import read_recording
from desktop.recording.writer import RecordingWriter, finalize_tmp_path, journal_path

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CH = (ChannelSpec("a"), ChannelSpec("b"))


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def linewatch(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True,
                          text=True, env=env(), cwd=ROOT, timeout=timeout)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("linewatch: ")]
    assert lines, done.stderr
    return lines[-1]


@contextlib.contextmanager
def recorder(out: Path, source: str = "synth:4x2000") -> Iterator[subprocess.Popen[str]]:
    """A ``linewatch record`` running in the background until the block ends."""
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "record", "--source", source,
                             "--out", str(out), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "connected" in line, line + proc.stderr.read()
        deadline = time.monotonic() + 60
        while not any(journal_path(out).glob("segment-*.arrows")):
            assert time.monotonic() < deadline, "the recorder never started its journal"
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


def stop(proc: subprocess.Popen[str]) -> tuple[dict[str, object], str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return json.loads(out.strip().splitlines()[-1]), err


@contextlib.contextmanager
def tiny_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here (needs root; {exc}): disk-full path "
                    "not exercised")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def write_journal(out: Path, samples: int, block: int = 5000) -> None:
    """A journal as a crash leaves it: flushed batches, never finalised."""
    writer = RecordingWriter(out, CH, 1000.0, "test", flush_interval_s=0.0, fsync=False)
    for start in range(0, samples, block):
        n = min(block, samples - start)
        k = np.arange(start, start + n, dtype=np.float64)
        writer.write(k / 1000.0, np.column_stack([k, -k]))
    writer.close(finalize=False)


def test_overwrite_and_recover_are_refused_while_a_recorder_writes(tmp_path: Path) -> None:
    out = tmp_path / "live.parquet"
    with recorder(out) as first:
        time.sleep(1.0)
        second = linewatch("record", "--source", "synth:2x100", "--seconds", "1", "--out",
                           str(out), "--overwrite")
        assert second.returncode == 2
        message = one_line_error(second)
        assert "--overwrite refused" in message and "running now" in message, message
        recovered = linewatch("recover", str(out))
        assert recovered.returncode == 1
        assert "running now" in one_line_error(recovered)
        assert journal_path(out).is_dir() and not out.exists()
        summary, _ = stop(first)
    assert first.returncode == 0
    rec = read_recording(out)
    # It reports what is really in its file.
    assert summary["samples"] == rec.samples > 2000 and summary["error"] is None
    assert summary["duration_s"] == pytest.approx(rec.duration_s)
    # Once it has finished, --overwrite does what it says.
    again = linewatch("record", "--source", "synth:2x100", "--seconds", "1", "--out",
                      str(out), "--overwrite", "--json")
    assert again.returncode == 0, again.stderr
    assert read_recording(out).samples == 100


def test_a_journal_deleted_under_a_recorder_is_reported_not_counted(tmp_path: Path) -> None:
    out = tmp_path / "victim.parquet"
    with recorder(out) as proc:
        time.sleep(1.0)
        import shutil

        shutil.rmtree(journal_path(out))  # what an older --overwrite, or a user, did
        time.sleep(1.0)
        summary, err = stop(proc)
    assert proc.returncode == 1
    assert summary["samples"] == 0 and "deleted" in str(summary["error"]), summary
    assert err.count("was deleted") == 1, err


def test_record_on_a_full_disk_reports_once_with_what_it_saved(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", "3m") as disk:
        out = disk / "full.parquet"
        done = linewatch("record", "--source", "synth:4x5000", "--speed", "4", "--out",
                         str(out), "--seconds", "300", "--json")
        assert done.returncode == 1
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert done.stderr.count("recording stopped") == 1, done.stderr
        saved = int(summary["samples"])  # type: ignore[arg-type]
        assert saved > 0, summary
        assert summary["duration_s"] == pytest.approx(saved / 5000.0, rel=1e-6)
        assert f"{saved:,} samples before it are kept" in str(summary["error"])
        # Nothing already written is lost: the journal holds exactly what was reported.
        assert read_recording(out).samples == saved


def test_recover_on_a_full_disk_keeps_the_journal_and_says_what_to_free(
        tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", "6m") as disk:
        out = disk / "crashed.parquet"
        write_journal(out, 150_000)  # ~3.6 MB of journal
        filler = disk / "filler.bin"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        done = linewatch("recover", str(out))
        assert done.returncode == 1
        message = one_line_error(done)
        assert "is full" in message and "is kept, nothing is lost" in message, message
        assert "free about" in message and "linewatch recover" in message
        assert not out.exists() and not finalize_tmp_path(out).exists()
        filler.unlink()
        done = linewatch("recover", str(out))
        assert done.returncode == 0, done.stderr
        rec = read_recording(out)
        assert rec.samples == 150_000
        np.testing.assert_array_equal(rec.values[:, 0], np.arange(150_000))


def test_a_killed_recover_leaves_nothing_the_next_one_does_not_clean(tmp_path: Path) -> None:
    out = tmp_path / "big.parquet"
    write_journal(out, 3_000_000, block=100_000)  # ~72 MB: takes a while to convert
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "recover", str(out)],
                            env=env(), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    tmp = finalize_tmp_path(out)
    deadline = time.monotonic() + 120
    while not (tmp.exists() and tmp.stat().st_size > 0) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.kill()
    proc.wait(timeout=30)
    if proc.returncode == 0:
        pytest.skip("recover finished before it could be killed (a very fast machine)")
    assert journal_path(out).is_dir()  # the journal is never touched before the end
    done = linewatch("recover", str(out))
    assert done.returncode == 0, done.stderr
    assert not tmp.exists() and read_recording(out).samples == 3_000_000


def peak_rss_mb(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``linewatch ARGS`` and sample its peak resident memory (VmHWM)."""
    proc = subprocess.Popen([sys.executable, "-m", "desktop", *args], env=env(), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        time.sleep(0.02)
    out, err = proc.communicate()
    return peak, subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for memory")
def test_info_on_a_journal_reads_it_batch_by_batch(tmp_path: Path) -> None:
    small, big = tmp_path / "small.parquet", tmp_path / "big.parquet"
    write_journal(small, 10_000)
    write_journal(big, 5_000_000, block=50_000)  # 120 MB of journal
    base, done = peak_rss_mb(["info", str(small), "--json"])
    assert done.returncode == 0, done.stderr
    peak, done = peak_rss_mb(["info", str(big), "--json"])
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["samples"] == 5_000_000 and summary["recovered_from_journal"]
    assert summary["duration_s"] == pytest.approx(5000.0)
    # Loading it whole took 2.3x the journal (~280 MB here); batch by batch adds little.
    assert peak - base < 60, (base, peak)
