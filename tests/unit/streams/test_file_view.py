"""An opened file read lazily: the file view answers like the ring buffer did, its cache is
reused (and invalidated by a changed file), the first view comes before indexing ends,
Cancel works, and a 200 MB CSV opens within 1.5× its size of memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.core.errors import RecordingError
from desktop.core.tasks import Cancelled, TaskState
from desktop.recording import cache, text_chunks
from desktop.recording.readers import read_recording
from desktop.streams import file_view
from desktop.streams.file_view import FileView, index_file

ROOT = Path(__file__).resolve().parents[3]


def write_csv(path: Path, rows: int, rate: float = 10_000.0, channels: int = 4,
              start: int = 0) -> Path:
    """time_s + sines with noise, like a logger export."""
    rng = np.random.default_rng(start)
    with open(path, "w") as fh:
        fh.write("time_s," + ",".join(f"ch{i}" for i in range(channels)) + "\n")
        step = 100_000
        for s in range(0, rows, step):
            k = min(step, rows - s)
            t = (start + s + np.arange(k)) / rate
            v = np.sin(2 * np.pi * np.outer(t, np.arange(1, channels + 1)))
            v += 0.01 * rng.standard_normal(v.shape)
            np.savetxt(fh, np.column_stack([t, v]), fmt=["%.5f"] + ["%.6f"] * channels,
                       delimiter=",")
    return path


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many segments and a skim even for a few MB: the big-file paths on small files."""
    monkeypatch.setattr(cache, "SEGMENT_BYTES", 1 << 20)
    monkeypatch.setattr(text_chunks, "SKIM_MIN_BYTES", 0)


def test_view_matches_the_whole_file_read(tmp_path: Path, small_segments: None) -> None:
    path = write_csv(tmp_path / "log.csv", 120_000)
    rec = read_recording(path)
    view = index_file(path)
    assert view.complete and view.rows == rec.samples == 120_000
    assert [c.name for c in view.channels] == [c.name for c in rec.channels]
    assert len(view.segments._names) >= 5
    assert view.effective_rate() == pytest.approx(10_000.0)
    assert view.first_time == 0.0 and view.time_range() == (0.0, rec.timestamps[-1])
    # Zoomed out: ≤ 2 points per column, the exact extremes of the file.
    snap = view.view(0.0, 12.0, 800)
    assert snap.times.size <= 2 * 800 + 4 and np.all(np.diff(snap.times) >= 0)
    assert np.array_equal(snap.values.max(axis=0), rec.values.max(axis=0))
    assert np.array_equal(snap.values.min(axis=0), rec.values.min(axis=0))
    # Zoomed in: the rows themselves (plus one neighbour each side for the line).
    snap = view.view(3.0, 3.01, 800)
    i0, i1 = np.searchsorted(rec.timestamps, [3.0, 3.01])
    assert np.array_equal(snap.times, rec.timestamps[i0 - 1:i1 + 2])
    assert np.array_equal(snap.values, rec.values[i0 - 1:i1 + 2])
    # Cursors and the newest rows.
    t, v = view.sample_at(5.00004)
    assert t == pytest.approx(5.0) and np.array_equal(v, rec.values[50_000])
    last = view.latest(3)
    assert np.array_equal(last.values, rec.values[-3:])
    assert np.array_equal(view.channel(2), rec.values[:, 2])


def test_reopening_reuses_the_cache_and_a_changed_file_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "log.csv", 30_000)
    first = index_file(path)
    folder = first.folder
    assert (folder / "meta.json").is_file()

    def no_parse(*_a: object, **_k: object) -> None:
        raise AssertionError("parsed again")

    with monkeypatch.context() as patch:
        patch.setattr(file_view, "open_chunks", no_parse)
        again = index_file(path)
        assert again.folder == folder and again.complete and again.rows == 30_000
        assert np.array_equal(again.view(0, 3, 100).values, first.view(0, 3, 100).values)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    changed = index_file(path)
    assert changed.folder != folder and not folder.exists()  # the stale cache is gone
    assert changed.rows == 30_000


def test_first_view_comes_before_indexing_ends_and_cancel_keeps_it(
        tmp_path: Path, small_segments: None) -> None:
    path = write_csv(tmp_path / "big.csv", 200_000)
    seen: dict[str, object] = {}
    task = TaskState()

    def listener(progress: float, _message: str, info: dict) -> None:
        if "view" in info and "view" not in seen:
            view = info["view"]
            seen["view"], seen["progress"] = view, progress
            seen["range"] = view.time_range()
            seen["points"] = view.view(*view.time_range(), 400).times.size
        elif "view" in seen and progress > 0.3:
            task.cancel()

    task.add_listener(listener)
    with pytest.raises(Cancelled):
        index_file(path, task=task)
    view = seen["view"]
    assert isinstance(view, FileView) and not view.complete
    assert seen["progress"] == 0.0  # announced from the skim, before any row was indexed
    first, last = seen["range"]
    assert first == 0.0 and last == pytest.approx(19.9999)  # the whole file, at once
    assert seen["points"] > 100
    # Cancelled mid-way: indexed rows are drawn from the cache, the rest from the skim.
    assert 0 < view.rows < 200_000
    snap = view.view(0.0, 20.0, 400)
    assert snap.times[-1] > view.segments.last_time
    assert not (view.folder / "meta.json").exists()
    rebuilt = index_file(path)  # an interrupted cache is rebuilt, not trusted
    assert rebuilt.complete and rebuilt.rows == 200_000


def test_a_rate_only_file_gets_times_from_its_rate(tmp_path: Path) -> None:
    import soundfile as sf

    data = np.random.default_rng(0).standard_normal((50_000, 2)) * 0.1
    sf.write(tmp_path / "x.wav", data, 4000, subtype="FLOAT")
    view = index_file(tmp_path / "x.wav")
    assert view.nominal_rate == 4000 and view.time_range() == (0.0, 49_999 / 4000)
    t, v = view.sample_at(1.0)
    assert t == 1.0 and np.allclose(v, data[4000], atol=1e-7)


def test_no_time_and_no_rate_asks_for_a_rate(tmp_path: Path) -> None:
    path = tmp_path / "bare.csv"
    path.write_text("a,b\n" + "".join(f"{i},{2 * i}\n" for i in range(100)))
    with pytest.raises(RecordingError, match="--rate"):
        index_file(path)
    assert index_file(path, rate=100.0).time_range() == (0.0, 0.99)


def test_cache_lives_in_the_cache_dir(tmp_path: Path, linewatch_home: Path) -> None:
    view = index_file(write_csv(tmp_path / "a.csv", 1000))
    assert view.folder.is_relative_to(linewatch_home / "cache")
    meta = json.loads((view.folder / "meta.json").read_text())
    assert meta["rows"] == 1000 and meta["timed"] is True


# The child's own peak: VmHWM of its address space. Not ru_maxrss, which Linux carries over
# exec from the forked copy of the parent: late in a full suite (pytest at ~2 GB) it read
# 1.7-2.0 GB for a process that never held more than ~230 MB.
RSS_SCRIPT = """
import resource, sys, time
from desktop.streams.file_view import index_file
t0 = time.perf_counter()
view = index_file(sys.argv[1])
snap = view.view(*view.time_range(), 1600)
try:
    status = open("/proc/self/status").read()
    peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
except OSError:  # not Linux: ru_maxrss (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(peak * 1024, view.rows, time.perf_counter() - t0)
"""


@pytest.mark.slow
def test_a_200_mb_csv_opens_within_one_and_a_half_times_its_size(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "200mb.csv", 2_650_000, channels=8)
    size = path.stat().st_size
    assert size > 200e6
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(path)], cwd=ROOT, check=True,
                         capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items()
                              if k in ("PATH", "HOME", "LANG", "TMPDIR", "LINEWATCH_HOME")}
                         | {"PYTHONPATH": str(ROOT)},
                         timeout=600)
    peak, rows, _seconds = out.stdout.split()
    assert int(rows) == 2_650_000
    assert int(peak) < 1.5 * size, f"peak RSS {int(peak) / 1e6:.0f} MB for {size / 1e6:.0f} MB"


def test_between_reads_only_the_rows_asked_for(tmp_path: Path) -> None:
    """The analysis dock reads a span of a big file through ``between``."""
    from desktop.recording.readers import read_recording
    from desktop.streams.file_view import index_file

    path = tmp_path / "span.csv"
    path.write_text("time_s,a,b\n" + "".join(f"{i / 100:.2f},{i},{-i}\n" for i in range(500)))
    view = index_file(path)
    snap = view.between(100, 140)
    rec = read_recording(path)
    assert snap.first_index == 100 and snap.times.shape == (40,)
    assert (snap.values[:, 0] == rec.values[100:140, 0]).all()
    assert view.between(490, 10_000).times.shape == (10,)
