from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec
from desktop.recording.readers import read_recording, summarize_recording
from desktop.recording.writer import RecordingWriter, finalize_journal, journal_path

CH = (ChannelSpec("DE", "g"), ChannelSpec("FE", "g"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _write(writer: RecordingWriter, start: int, n: int, rate: float = 100.0) -> None:
    idx = np.arange(start, start + n, dtype=np.float64)
    writer.write(idx / rate, np.stack([idx, -idx], axis=1))


def test_parquet_round_trip_keeps_values_and_metadata(tmp_path: Path) -> None:
    out = tmp_path / "rec.parquet"
    writer = RecordingWriter(out, CH, 100.0, "synth:2x100")
    for start in range(0, 1000, 100):
        _write(writer, start, 100)
    assert writer.close() == out
    assert not journal_path(out).exists()
    rec = read_recording(out)
    assert rec.channels == CH and rec.sample_rate == 100.0 and rec.source == "synth:2x100"
    np.testing.assert_array_equal(rec.values[:, 0], np.arange(1000))
    np.testing.assert_allclose(rec.timestamps, np.arange(1000) / 100.0)
    assert rec.duration_s == pytest.approx(10.0)
    summary = summarize_recording(out)
    assert (summary.samples, summary.sample_rate) == (1000, 100.0)
    assert summary.duration_s == pytest.approx(10.0)


def test_flushes_to_journal_on_time_and_journal_reads_back(tmp_path: Path) -> None:
    clock = FakeClock()
    out = tmp_path / "rec.parquet"
    writer = RecordingWriter(out, CH, 100.0, "test", flush_interval_s=0.5, clock=clock)
    _write(writer, 0, 50)
    assert writer.samples_written == 0  # not yet due
    clock.now = 0.6
    _write(writer, 50, 50)
    assert writer.samples_written == 100
    # Simulate a crash: copy the journal as it is now, without closing the writer.
    crashed = tmp_path / "crashed.parquet"
    shutil.copytree(journal_path(out), journal_path(crashed))
    rec = read_recording(crashed)  # the .parquet is missing: the journal is read instead
    np.testing.assert_array_equal(rec.values[:, 0], np.arange(100))
    assert rec.metadata["recovered_from_journal"] is True
    assert summarize_recording(crashed).recovered_from_journal


def test_truncated_journal_keeps_complete_batches(tmp_path: Path) -> None:
    out = tmp_path / "rec.parquet"
    writer = RecordingWriter(out, CH, 100.0, "test", flush_interval_s=0.0)
    for start in range(0, 500, 100):
        _write(writer, start, 100)  # one batch each
    segment = next(journal_path(out).glob("segment-*.arrows"))
    data = segment.read_bytes()
    crashed = tmp_path / "cut.parquet"
    journal_path(crashed).mkdir()
    (journal_path(crashed) / segment.name).write_bytes(data[: len(data) - 700])
    rec = read_recording(crashed)
    assert rec.samples == 400
    np.testing.assert_array_equal(rec.values[:, 0], np.arange(400))
    # `recover` turns it into a proper Parquet file.
    assert finalize_journal(journal_path(crashed), crashed) == 400
    assert pq.ParquetFile(crashed).metadata.num_rows == 400


def test_channels_appearing_mid_recording_start_a_new_segment(tmp_path: Path) -> None:
    out = tmp_path / "kv.parquet"
    writer = RecordingWriter(out, (ChannelSpec("a"),), None, "serial:x", flush_interval_s=0)
    writer.write(np.array([0.0, 1.0]), np.array([[1.0], [2.0]]))
    wider = (ChannelSpec("a"), ChannelSpec("b"))
    writer.write(np.array([2.0]), np.array([[3.0, 30.0]]), wider)
    writer.close()
    rec = read_recording(out)
    assert [c.name for c in rec.channels] == ["a", "b"]
    np.testing.assert_array_equal(rec.values[:, 0], [1, 2, 3])
    assert np.isnan(rec.values[:2, 1]).all() and rec.values[2, 1] == 30.0


def test_refuses_to_overwrite_and_reports_unwritable_path(tmp_path: Path) -> None:
    out = tmp_path / "rec.parquet"
    out.write_bytes(b"precious")
    with pytest.raises(RecordingError, match="already exists"):
        RecordingWriter(out, CH, 1.0, "t")
    assert out.read_bytes() == b"precious"
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(RecordingError, match="cannot start recording"):
        RecordingWriter(blocker / "rec.parquet", CH, 1.0, "t")


@contextlib.contextmanager
def tiny_disk(path: Path, size: str = "256k") -> Iterator[Path]:
    """A real, nearly full filesystem (tmpfs) to run out of space on."""
    path.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here ({exc}); disk-full path not exercised")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_disk_full_gives_clear_error_and_keeps_what_was_flushed(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk") as disk:
        out = disk / "rec.parquet"
        writer = RecordingWriter(out, CH, 1000.0, "t", flush_interval_s=0.0, fsync=False)
        with pytest.raises(RecordingError, match=r"disk .* is full") as info:
            for start in range(0, 10_000_000, 1000):
                _write(writer, start, 1000, rate=1000.0)
        saved = writer.samples_written
        assert f"the {saved:,} samples before it are kept in {out}.journal" in str(info.value)
        assert f"linewatch recover {out}" in str(info.value)
        assert saved > 0 and writer.closed and writer.samples_saved == saved
        assert writer.saved_duration_s == pytest.approx(saved / 1000.0)
        rec = read_recording(out)
        assert rec.samples == saved
        np.testing.assert_array_equal(rec.values[:, 0], np.arange(saved))
