"""Calibrating from the window: the model panel's Calibrate… on an opened demo recording,
real AdaBN on a Job, a new version in the (per-test) registry, promote and rollback."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import QPushButton

from desktop.ml.model_files import versions
from desktop.ml.model_files.registry import list_models
from desktop.session.file import FileSession

NAME = "fault-cwru-calibrated"


def opened_with_model(qtbot, make_window, demo_file: Path):
    window = make_window()
    window.settings.model = ""  # no whole-file verdicts while the file opens
    window.open_file(str(demo_file))
    assert isinstance(window.session, FileSession)
    qtbot.waitUntil(lambda: window.session.loaded is not None and window.session.loaded.complete,
                    timeout=30_000)
    window.settings.model = "fault-cwru"  # the selected model
    return window


def click_calibrate(window):
    button = next(b for b in window.model_panel.findChildren(QPushButton)
                  if b.text() == "Calibrate…")
    button.click()
    dialog = window.model_dialogs.calibrate_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def run(qtbot, dialog) -> dict:
    dialog.start_calibration()
    assert dialog.cancel.isEnabled() and not dialog.start.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None or "⚠" in dialog.status.text(),
                    timeout=120_000)
    assert dialog.result is not None, dialog.status.text()
    return dialog.result


def test_calibrate_button_makes_a_new_version(qtbot, make_window, demo_file: Path) -> None:
    window = opened_with_model(qtbot, make_window, demo_file)
    dialog = click_calibrate(window)
    assert dialog.model == "fault-cwru" and dialog.name.text() == NAME
    assert demo_file.name in dialog.source
    result = run(qtbot, dialog)
    assert result["model"] == NAME and result["version"] == 1
    assert result["parent"].startswith("fault-cwru@") and result["windows"] >= 100
    assert demo_file.name in result["source"]
    fractions = [f for f, _ in dialog.progress_log]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert not dialog.cancel.isEnabled() and dialog.promote.isEnabled()
    # a new version in the registry, listed in the model panel; nothing active until promoted
    assert versions.versions_of(NAME) == [1] and versions.active_version(NAME) is None
    assert any(e.name == NAME for e in list_models())
    assert window.model_panel.model.findData(NAME) >= 0
    assert window.settings.model == "fault-cwru"

    dialog.promote_result()
    assert versions.active_version(NAME) == 1 and window.settings.model == NAME
    dialog.close()

    again = click_calibrate(window)  # now for the calibrated model: a version of it
    assert again.model == NAME and again.name.text() == NAME
    assert run(qtbot, again)["version"] == 2
    again.promote_result()
    assert versions.active_version(NAME) == 2
    again.close()
    panel = window.open_versions()
    assert panel.table.rowCount() == 2
    panel.rollback()
    assert versions.active_version(NAME) == 1


def test_cancel_saves_nothing(qtbot, make_window, demo_file: Path) -> None:
    window = opened_with_model(qtbot, make_window, demo_file)
    dialog = click_calibrate(window)
    reading, go = threading.Event(), threading.Event()
    read = dialog._get_signal

    def held(seconds: float):
        reading.set()
        go.wait(10)
        return read(seconds)

    dialog._get_signal = held
    dialog.start_calibration()
    assert reading.wait(10)
    dialog.cancel.click()
    go.set()
    qtbot.waitUntil(lambda: "Cancelled" in dialog.status.text(), timeout=10_000)
    assert versions.versions_of(NAME) == [] and dialog.result is None
    assert dialog.start.isEnabled() and not dialog.cancel.isEnabled()
    dialog.close()


def test_calibrate_needs_a_model_and_a_signal(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    assert window.open_calibrate() is None
    assert "Pick a model" in window.statusBar().currentMessage()
    window.settings.model = "fault-cwru"
    dialog = window.open_calibrate()  # nothing open: the job says so, nothing is saved
    dialog.start_calibration()
    qtbot.waitUntil(lambda: "⚠" in dialog.status.text(), timeout=10_000)
    assert "no signal" in dialog.status.text() and versions.versions_of(NAME) == []
    dialog.close()
