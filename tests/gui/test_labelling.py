"""Labelling events on the live timeline: create, edit, undo/redo, delete, quick keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.labels.store import LabelStore
from desktop.ui.label_editing import LabelDialog


@pytest.fixture
def recording_window(qtbot, make_window, tmp_path: Path):
    window = make_window()
    window.settings.model = ""
    window.settings.recordings_folder = str(tmp_path / "recs")
    window.connect_source("synth:2x1000", {})
    qtbot.waitUntil(lambda: window.acq is not None and window.acq.buffer is not None,
                    timeout=10_000)
    return window


def answer_dialog(monkeypatch: pytest.MonkeyPatch, label: str, note: str = "") -> None:
    def fake_exec(dialog: LabelDialog) -> int:
        dialog.label.setEditText(label)
        dialog.note.setText(note)
        return LabelDialog.DialogCode.Accepted

    monkeypatch.setattr(LabelDialog, "exec", fake_exec)


def test_create_edit_undo_redo_delete(qtbot, recording_window, monkeypatch) -> None:
    window = recording_window
    window.toggle_recording()
    qtbot.waitUntil(lambda: window.recording_path is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.acq.counters.received > 3000, timeout=10_000)
    t = window.plot.last_time
    answer_dialog(monkeypatch, "misalignment", "coupling loose, see log 17")
    window.act_label_mode.setChecked(True)
    view = window.plot.lanes[0].getViewBox()
    assert view.label_mode
    view.on_span(-1.0, -0.5)  # what a drag across the lane reports (plot coordinates)
    store: LabelStore = window.label_history().store
    (event,) = store.list()
    first = window.acq.recording.first_time
    assert event.label == "misalignment" and event.note.startswith("coupling")
    assert event.recording == str(window.recording_path)
    assert event.start_s == pytest.approx(window.plot.x_offset - 1.0 - first, abs=0.05)
    assert event.end_s - event.start_s == pytest.approx(0.5)
    assert window.labels_panel.table.rowCount() == 1
    assert t is not None

    # Drag an edge: saved once, on sigRegionChangeFinished; undo and redo it.
    region = window.plot.labels._items[event.id][0]
    lo, hi = region.getRegion()
    region.setRegion((lo, hi + 0.25))
    region.sigRegionChangeFinished.emit(region)
    assert store.get(event.id).end_s == pytest.approx(event.end_s + 0.25, abs=1e-6)
    window.undo_stack.undo()
    assert store.get(event.id).end_s == pytest.approx(event.end_s, abs=1e-6)
    window.undo_stack.redo()
    assert store.get(event.id).end_s == pytest.approx(event.end_s + 0.25, abs=1e-6)

    # Quick key 1 gives the most used class; delete and undo brings it back.
    window.labels.create_label(window.plot.x_offset - 0.4, window.plot.x_offset - 0.3, "unbalance")
    window.labels.create_label(window.plot.x_offset - 0.2, window.plot.x_offset - 0.1, "unbalance")
    window.labels.quick_class(1)
    assert [e.label for e in store.list()].count("unbalance") == 2
    window.labels.selected_label = event.id
    window.labels.quick_class(1)
    assert store.get(event.id).label == "unbalance"
    window.undo_stack.undo()
    assert store.get(event.id).label == "misalignment"
    window.labels.delete_label(event.id)
    assert len(store.list()) == 2
    window.undo_stack.undo()
    assert len(store.list()) == 3 and "misalignment" in {e.label for e in store.list()}
    window.labels_panel.filter.setText("coupling")
    assert window.labels_panel.visible_rows() == 1


def test_labelling_while_not_recording_offers_to_record(qtbot, recording_window,
                                                        monkeypatch) -> None:
    window = recording_window
    qtbot.waitUntil(lambda: window.acq.counters.received > 3000, timeout=10_000)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    answer_dialog(monkeypatch, "bearing_noise")
    window.plot.lanes[0].getViewBox().on_span(-1.0, -0.5)
    qtbot.waitUntil(lambda: window.recording_path is not None, timeout=5000)
    qtbot.waitUntil(lambda: len(window.label_history().store.list()) == 1, timeout=5000)
    (event,) = window.label_history().store.list()
    assert event.start_s >= 0.9  # the backfilled history starts 1 s before the event
    window.toggle_recording()
    qtbot.waitUntil(lambda: window.last_recording is not None, timeout=10_000)
    from desktop.recording.readers import read_recording

    rec = read_recording(window.last_recording.out)
    assert rec.timestamps[0] <= event.start_s + rec.timestamps[0]
    assert rec.duration_s >= event.end_s  # the labelled signal is in the file
