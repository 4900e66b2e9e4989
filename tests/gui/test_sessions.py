"""The window over its sessions: labels after a restart, an opened recording with its
labels, verdicts and true rate, one time convention, the alarm banner, view toggles."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.labels.event import LabelEvent
from desktop.labels.store import LabelStore
from desktop.session.file import FileSession
from desktop.session.live import LiveSession
from desktop.ui.label_editing import LabelDialog


def test_stored_labels_are_listed_after_a_restart_and_drawn_with_their_recording(
        qtbot, make_window, demo_file: Path) -> None:
    store = LabelStore()
    store.add(LabelEvent(None, str(demo_file), 1.0, 2.0, "normal", note="first"))
    store.add(LabelEvent(None, str(demo_file), 9.5, 10.5, "inner_007"))
    store.close()

    window = make_window()  # a fresh start: nothing has used the store yet
    window.settings.model = "fault-cwru"
    assert window.labels_panel.table.rowCount() == 2
    item = window.labels_panel.table.item(0, 4)
    assert item.text() == demo_file.name and item.toolTip() == str(demo_file)

    window.open_file(str(demo_file))
    assert isinstance(window.session, FileSession)
    qtbot.waitUntil(lambda: window.plot.labels.count() == 2, timeout=20_000)
    # One time convention: the file's axis is seconds from its first sample, as stored.
    (lo, hi), = [window.plot.labels._events[e][:2] for e in window.plot.labels._events
                 if window.plot.labels._events[e][2] == "normal"]
    assert (lo - window.plot.x_offset, hi - window.plot.x_offset) == (1.0, 2.0)
    assert window.measurement()["labels_shown"] == 2
    # The true rate in the status bar, and whole-file verdicts in the lane.
    qtbot.waitUntil(lambda: window.rate_label.text() == "12,000 Hz × 2 ch", timeout=5000)
    qtbot.waitUntil(lambda: len(window.plot.verdicts) > 30, timeout=60_000)
    classes = {v["class"] for v in window.plot.verdicts}
    assert {"normal", "inner_007"} <= classes, classes
    assert window.plot.verdicts[-1]["end_s"] > 11.0  # the whole file, end to end
    assert "whole file" in window.model_panel.status.text()
    assert window.measurement()["sample_rate"] == 12000.0


def test_label_dialog_shows_what_the_store_keeps(qtbot, make_window, demo_file: Path,
                                                monkeypatch) -> None:
    window = make_window()
    window.settings.model = ""
    window.open_file(str(demo_file))
    qtbot.waitUntil(lambda: window.session.buffer is not None, timeout=20_000)
    shown: list[str] = []

    def fake_exec(dialog: LabelDialog) -> int:
        shown.append(dialog.findChildren(type(window.state_label))[0].text())
        dialog.label.setEditText("ball_007")
        return LabelDialog.DialogCode.Accepted

    monkeypatch.setattr(LabelDialog, "exec", fake_exec)
    window.act_label_mode.setChecked(True)
    window.plot.lanes[0].getViewBox().on_span(3.0, 4.25)  # plot x = seconds from start
    (event,) = window.label_history().store.list()
    assert (event.start_s, event.end_s) == pytest.approx((3.0, 4.25))
    assert shown == ["3.000 s – 4.250 s (1.250 s)"]
    assert event.recording == str(demo_file)


def test_banner_names_the_class_being_held(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    window.connect_source("synth:2x1000", {})
    assert isinstance(window.session, LiveSession)
    window.session.alarm.emit(True, "inner_007")
    assert window.banner.isVisible() and "inner_007" in window.banner.text()
    window.session.alarm.emit(True, "ball_014")  # the alarm now holds another class
    assert "ball_014" in window.banner.text() and "inner_007" not in window.banner.text()
    window.session.alarm.emit(False, "")
    assert not window.banner.isVisible()


def test_pause_and_follow_are_never_both_ticked(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    window.connect_source("synth:2x1000", {})
    assert window.act_follow.isChecked()
    window.act_pause.setChecked(True)
    assert not window.act_follow.isChecked()
    window.act_pause.setChecked(False)
    assert window.act_follow.isChecked()


def test_plots_get_the_space_not_the_empty_labels_dock(qtbot, make_window) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.labels_dock.height() > 0, timeout=2000)
    assert window.labels_dock.height() < 0.25 * window.height()
    assert window.plot.height() > 0.5 * window.height()


def test_a_file_that_cannot_be_read_is_one_line(qtbot, make_window, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-recording.parquet"
    bad.write_text("<html>nope</html>")
    window = make_window()
    window.open_file(str(bad))
    qtbot.waitUntil(lambda: window.state == "failed", timeout=10_000)
    assert window.errors and "\n" not in window.errors[-1]
    assert "not-a-recording.parquet" in window.errors[-1]
    assert window.state_label.text().startswith("not-a-recording.parquet")


def test_wall_clock_files_get_a_date_time_axis(qtbot, make_window, tmp_path: Path) -> None:
    import pyqtgraph as pg

    path = tmp_path / "logger.csv"
    rows = [f"2026-11-29T10:00:{s:02d}.000Z,{21.5 + 0.1 * s:.1f}" for s in range(30)]
    path.write_text("timestamp,temp\n" + "\n".join(rows) + "\n")
    window = make_window()
    window.settings.model = ""
    window.open_file(str(path))
    qtbot.waitUntil(lambda: bool(window.plot.lanes) and window.session.buffer is not None,
                    timeout=10_000)
    assert window.session.wall_clock and window.plot.wall_clock
    axis = window.plot.lanes[-1].getAxis("bottom")
    assert isinstance(axis, pg.DateAxisItem)
    assert window.plot.x_offset == 0.0  # x is the epoch time itself
    x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
    assert 1.79e9 < x0 < x1 < 1.80e9
    # The rate of a file without a nominal rate is measured from its times: ≈ 1 Hz.
    qtbot.waitUntil(lambda: window.rate_label.text() == "≈1 Hz × 1 ch", timeout=5000)
