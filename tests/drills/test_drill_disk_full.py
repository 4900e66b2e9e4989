"""A full disk (a real, small tmpfs): the recording stops with a message while acquisition
goes on, nothing already written is lost, the label store and the registry stay whole."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from desktop.labels.event import LabelError, LabelEvent
from desktop.labels.store import LabelStore
from desktop.ml.errors import ModelError
from desktop.recording.readers import read_recording
from desktop.sources.synth import SynthSource
from desktop.streams.acquisition import Acquisition
from tests.drills.test_drill_kill9 import publish_tiny
from tests.support.drill import fill, pick, report, tiny_disk


def test_recording_stops_acquisition_goes_on_nothing_written_is_lost(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", "4m") as disk:
        out = disk / "rec.parquet"
        messages: list[str] = []
        source = SynthSource(4, 20000.0, speed=2.0)
        acq = Acquisition(source, history_s=5.0, on_recording_error=messages.append)
        acq.open()
        acq.start_recording(out)
        deadline = time.monotonic() + 120
        while acq.recording is not None:
            assert time.monotonic() < deadline, "the disk never filled"
            acq.step()
        received_at_error = acq.counters.received
        for _ in range(40):  # acquisition carries on without the recording
            acq.step()
        received_after = acq.counters.received
        newest = acq.buffer.latest(1).times[-1] if acq.buffer is not None else None
        result = acq.close()
        assert result is not None
        assert len(messages) == 1 and "\n" not in messages[0], messages
        assert "is full" in messages[0] and "linewatch recover" in messages[0], messages
        assert received_after > received_at_error and newest is not None
        recording = read_recording(out)  # the journal: exactly what was reported saved
        assert recording.samples == result.samples > 0
        np.testing.assert_array_equal(recording.values,
                                      SynthSource(4, 20000.0).samples(0, result.samples))
        assert result.duration_s == pytest.approx(result.samples / 20000.0)
    report("disk-full-recording", saved=result.samples, kept_reading=received_after
           - received_at_error)


def test_label_store_on_a_full_disk_keeps_every_committed_label(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", "1m") as disk:
        filler = disk / "filler.bin"
        filler.write_bytes(b"\0" * 200_000)
        path = disk / "labels.sqlite3"
        added = 0
        with LabelStore(path) as store:
            with pytest.raises(LabelError) as info:
                for k in range(10_000):
                    store.add(LabelEvent(None, "run.parquet", float(k), k + 0.5, "x",
                                         note=f"{k}:" + "n" * 4000))
                    added += 1
            message = str(info.value)
            assert "\n" not in message and str(path) in message, message
            assert "store is intact: free some space" in message, message
            assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert len(store) == added
            filler.unlink()
            store.add(LabelEvent(None, "run.parquet", 99_999.0, 100_000.0, "after"))
        with LabelStore(path) as store:
            assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            events = store.list()
            assert len(events) == added + 1
            assert all(e.note == f"{int(e.start_s)}:" + "n" * 4000 for e in events[:-1])
    report("disk-full-labels", committed=added, message=message[-60:])


def test_registry_on_a_full_disk_refuses_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.ml.model_files import versions
    from desktop.ml.model_files.registry import list_models

    with tiny_disk(tmp_path / "disk", "1m") as disk:
        monkeypatch.setenv("LINEWATCH_HOME", str(disk / "home"))
        publish_tiny("rig", 2)
        versions.promote("rig", 1)
        filler = fill(disk)
        with pytest.raises(ModelError) as info:
            versions.promote("rig", 2)
        assert "nothing was changed" in str(info.value) and "\n" not in str(info.value)
        assert versions.active_version("rig") == 1
        assert {e.name for e in list_models()} >= {"rig", "fault-cwru"}
        assert not list(versions.user_models_dir().glob(".active.json.*.tmp"))
        filler.unlink()
        assert versions.promote("rig", 2) == 2 and versions.active_version("rig") == 2
    report("disk-full-registry", message=str(info.value)[-70:])


def test_disk_full_while_indexing_removes_the_partial_cache_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 item 6: a big text file indexed into a cache on a full disk."""
    import os

    from desktop.core import paths
    from desktop.core.errors import RecordingError
    from desktop.core.tasks import TaskState
    from desktop.recording import cache
    from desktop.streams.file_view import FileView, index_file

    rows = pick(300_000, 1_500_000)
    text = tmp_path / "big.csv"  # on the ordinary disk: only the cache is on the tmpfs
    rng = np.random.default_rng(5)
    block = rng.standard_normal((rows, 4)).round(5)
    times = np.arange(rows) / 1000.0
    with open(text, "w") as fh:
        fh.write("time_s,a,b,c,d\n")
        np.savetxt(fh, np.column_stack([times, block]), fmt="%.6g", delimiter=",")
    monkeypatch.setattr(cache, "SEGMENT_BYTES", 1 << 20)  # segments published before it fills
    with tiny_disk(tmp_path / "disk", "6m") as disk:
        monkeypatch.setenv("LINEWATCH_HOME", str(disk / "home"))
        cache_root = paths.cache_dir()
        free_before = os.statvfs(disk).f_bavail
        announced: list[FileView] = []
        task = TaskState(lambda _p, _m, info: announced.extend(
            [info["view"]] if isinstance(info.get("view"), FileView) else []))
        started = time.monotonic()
        with pytest.raises(RecordingError) as info:
            index_file(text, task=task)
        seconds = time.monotonic() - started
        message = str(info.value)
        assert "\n" not in message and "is full" in message, message
        assert "big.csv" in message and "partial cache was removed" in message, message
        assert "free some space" in message, message
        assert list((cache_root / "files").iterdir()) == []  # nothing left behind
        free_after = os.statvfs(disk).f_bavail
        assert free_after >= free_before - 8, (free_before, free_after)  # the disk is free
        assert announced, "no view was announced before the disk filled"
        view = announced[0]
        assert view.rows == 0  # it forgot the segments whose files are gone
        view.view(0.0, 1.0, 200)  # and still answers without touching the deleted files
        # with space again the same file indexes completely
        monkeypatch.setenv("LINEWATCH_HOME", str(tmp_path / "home"))
        done = index_file(text)
        assert done.rows == rows and done.complete
    report("disk-full-indexing", rows=rows, seconds=round(seconds, 2),
           free_blocks_before=free_before, free_blocks_after=free_after,
           message=message[:70])
