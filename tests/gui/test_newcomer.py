"""What a newcomer tripped on in the window (issue #24), each checked in the real window:
the Source panel names an opened file, the Analysis dock draws the live demo at once, the
trend's block fits the file, bad lines read as one line, valid UTF-8 counts no
``non_utf8``, typing a class replaces ``normal``, and the alarm banner moves nothing."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QApplication, QLabel

from desktop.ui.label_editing import LabelDialog


def opened(qtbot, make_window, path: Path):
    window = make_window()
    window.settings.model = ""
    window.open_file(str(path))
    qtbot.waitUntil(lambda: window.session is not None and window.session.buffer is not None
                    and bool(window.plot.lanes) and not window.session.busy, timeout=30_000)
    return window


def test_an_opened_file_is_named_and_connect_is_not_a_replay_of_it(
        qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file)
    panel = window.source_panel
    assert panel.file_info.isVisible()
    text = panel.file_info.text()
    assert demo_file.name in text and "12,000 Hz × 2 channels · 12.0 s" in text
    assert "not live" in text
    # Connect would start the live source last used, not replay the open file.
    spec, _ = panel.spec_and_options()
    assert panel.kind.currentData() != "replay" and not spec.startswith("replay:")
    assert panel.connect_button.text() == "Connect"
    window.connect_source("synth:2x500", {})
    assert not panel.file_info.isVisible()


def test_analysis_dock_shows_the_first_spectrum_of_the_live_demo_by_itself(
        qtbot, make_window, demo_file: Path) -> None:
    window = make_window()
    window.settings.model = ""
    panel = window.analysis_panel
    window.connect_source("demo", {})
    qtbot.waitUntil(lambda: panel.channel.currentText() != "", timeout=20_000)
    assert panel.channel.currentText().startswith("DE accel")
    qtbot.waitUntil(lambda: panel.result is not None and not panel.busy(), timeout=30_000)
    # about a second (12 kHz): the span is the visible one, which trails the newest sample
    # by a frame or two on a loaded box (CI: 11,837)
    assert panel.result.samples >= 11_000 and panel.result.freqs_hz is not None
    x1 = panel.splot.getViewBox().viewRange()[0][1]
    assert x1 > 100  # a spectrum's axis, not the empty 0–1
    first = panel.result
    qtbot.wait(1500)  # no recomputing behind the live plot after the first one
    assert panel.result is first
    # Another session (a file) never shows the demo's spectrum under its name.
    window.open_file(str(demo_file))
    qtbot.waitUntil(lambda: bool(window.plot.lanes), timeout=20_000)
    panel._frame()  # what the file's first drawn frame does
    assert panel.result is None and not len(panel.curve.getData()[0])


def test_trend_block_follows_the_file_length_and_stays_settable(
        qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file)
    panel = window.analysis_panel
    assert panel.trend_view.block_auto.isChecked()
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.trend is not None and not panel.busy(), timeout=30_000)
    assert 50 <= len(panel.trend.rows) <= 200  # 12 s in 0.2 s blocks: 60, not 1
    assert panel.block.value() == 0.2
    panel.block.setValue(1.0)  # typed: auto goes off, the typed block is used
    assert not panel.trend_view.block_auto.isChecked()
    qtbot.waitUntil(lambda: panel.trend.block_s == 1.0 and not panel.busy(), timeout=30_000)
    assert len(panel.trend.rows) == 12
    assert not window.settings.analysis_block_auto and window.settings.analysis_block_s == 1.0


def test_bad_files_read_as_one_line_without_a_python_dict(
        qtbot, make_window, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("hello\nworld\nfoo bar\n")
    window = make_window()
    window.settings.model = ""
    window.open_file(str(garbage))
    qtbot.waitUntil(lambda: window.state == "failed", timeout=20_000)
    message = window.statusBar().currentMessage()
    assert "rejected lines: columns 2" in message and "{" not in message
    assert "{" not in window.state_label.text()

    backwards = tmp_path / "backwards.csv"
    lines = ["time_s,temp [degC]"]
    for i in range(2000):
        t = i * 0.005 - (1.0 if i in (500, 900, 1300, 1700) else 0.0)
        lines.append(f"{t:.3f},{20 + i % 9 * 0.1:.2f}")
    backwards.write_text("\n".join(lines) + "\n")
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    window.open_file(str(backwards))
    qtbot.waitUntil(lambda: window.state == "finished", timeout=20_000)
    assert "backwards.csv: skipped 4 malformed lines: time_backwards 4" in messages
    # ... and it stays in the state label after other messages come and go.
    assert window.state_label.text() == (
        "backwards.csv  opened: 1,996 samples · skipped 4 malformed lines: time_backwards 4")


def test_a_valid_utf8_file_counts_no_non_utf8(qtbot, make_window, tmp_path: Path) -> None:
    path = tmp_path / "Halle 2 Pumpe.csv"
    rows = [f"{k * 0.01:.2f},{20 + k % 7 * 0.1:.2f},{k % 5 * 0.3:.3f}" for k in range(3000)]
    rows.insert(1500, "# Pumpe aus — Wartung bei 12,3 °C")
    path.write_text("\ufefftime_s,Temperatur [°C],Schwingung [µm/s]\n" + "\n".join(rows)
                    + "\n", encoding="utf-8")
    window = opened(qtbot, make_window, path)
    qtbot.waitUntil(lambda: "received 3,000" in window.counter_label.text(), timeout=10_000)
    assert "non_utf8" not in window.counter_label.text()
    assert [c.name for c in window.plot.channels] == ["Temperatur", "Schwingung"]


def test_typing_a_class_replaces_the_prefilled_normal(
        qtbot, make_window, demo_file: Path, monkeypatch) -> None:
    window = opened(qtbot, make_window, demo_file)
    window.model_info = {"classes": ["normal", "inner_race"]}
    seen: dict[str, str] = {}

    def typed_exec(dialog: LabelDialog) -> int:
        dialog.show()
        qtbot.waitExposed(dialog)
        qtbot.waitUntil(lambda: dialog.label.lineEdit().hasSelectedText(), timeout=5000)
        seen["before"] = dialog.label.currentText()
        qtbot.keyClicks(dialog.label.lineEdit(), "valve_stuck")
        # Clicked into again (what the box receives): its text is selected once more.
        QApplication.sendEvent(dialog.label.lineEdit(), QFocusEvent(
            QEvent.Type.FocusIn, Qt.FocusReason.MouseFocusReason))
        qtbot.waitUntil(lambda: dialog.label.lineEdit().selectedText() == "valve_stuck",
                        timeout=2000)
        qtbot.keyClicks(dialog.label.lineEdit(), "cavitation")
        dialog.hide()
        return LabelDialog.DialogCode.Accepted

    monkeypatch.setattr(LabelDialog, "exec", typed_exec)
    x0 = window.plot.x_offset
    window._ask_label(x0 + 1.0, x0 + 2.0)
    assert seen["before"] == "normal"
    (event,) = window.label_history().store.list()
    assert event.label == "cavitation"  # each time the box took focus, typing replaced it


def _same_place(a: object, b: object, give: int = 8) -> bool:
    """Two QRects at the same place and size within ``give`` pixels."""
    return all(abs(f(a) - f(b)) <= give for f in (  # type: ignore[operator]
        lambda r: r.x(), lambda r: r.y(), lambda r: r.width(), lambda r: r.height()))


def test_the_alarm_banner_moves_no_plot_and_shows_its_whole_text(
        qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file)
    window.resize(900, 700)
    # Let the layout settle first (docks fill in as the file's first results arrive): what
    # is checked is that the banner itself moves nothing.
    before = window.plot.geometry()
    for _ in range(50):
        qtbot.wait(200)
        now = window.plot.geometry()
        if now == before:
            break
        before = now
    window.model_info = {"name": "fault-cwru-calibrated-pump-7-bay-3", "kind": "fault"}
    window._set_alarm(True, "inner_race_0.014in_with_shaft_misalignment_suspected_at_bay_3")
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=2000)
    qtbot.wait(100)
    # Nothing jumped: the banner (two lines, > 40 px) takes no layout space. A few px of
    # give are allowed for the status bar's own text changing height with the alarm.
    assert _same_place(window.plot.geometry(), before)
    banner = window.banner
    assert banner.width() == window.width()  # across the window, under the toolbar
    assert banner.y() == window.centralWidget().y()
    assert banner.height() >= banner.heightForWidth(banner.width())  # all of it, wrapped
    assert banner.wordWrap() and banner.height() > 40  # two lines at this width
    # No piece is wider than the banner: long names break after _ . / - as well.
    metrics = banner.fontMetrics()
    pieces = re.split(r"[\s\u200b]+", QLabel.text(banner))
    assert max(metrics.horizontalAdvance(p) for p in pieces) <= banner.contentsRect().width()
    assert banner.text().startswith("⚠ FAULT: inner_race_0.014in")  # as set, for readers
    window._set_alarm(False, "")
    qtbot.wait(50)
    assert _same_place(window.plot.geometry(), before) and not banner.isVisible()
