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
from tests.support.drill import fill, report, tiny_disk


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
