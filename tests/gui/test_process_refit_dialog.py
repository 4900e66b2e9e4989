"""Refit on normal data… from the model panel with a process model selected: the engineer
picks tables of normal operation, the monitor really refits on a Job, the dialog says what
it measured, Promote makes the new version the one its name means."""

from __future__ import annotations

from pathlib import Path

from desktop.ml.model_files import versions
from tests.gui.test_parts_live import choose
from tests.unit.ml.tabular.test_process_train import UNIT, _csv, _unit


def test_refit_a_monitor_on_normal_files_then_promote(qtbot, make_window, tmp_path: Path
                                                     ) -> None:
    window = make_window()
    choose(window, "process-tep")
    dialog = window.open_finetune()
    qtbot.addWidget(dialog)
    assert dialog.model == "process-tep" and not dialog.own.isChecked()
    dialog.start.click()  # no files yet: said, nothing runs
    assert "Choose the tables" in dialog.status.text() and not dialog.runner.running
    dialog.set_files([_csv(tmp_path / "week1.csv", _unit(400, 0), UNIT),
                      _csv(tmp_path / "week2.csv", _unit(300, 1), UNIT)])
    # these files hold another unit's variables: process-tep cannot read them
    dialog.name.setText("unit-7")
    dialog.start.click()
    qtbot.waitUntil(lambda: not dialog.runner.running, timeout=60_000)
    assert dialog.status.text().startswith("⚠") and "missing column" in dialog.status.text()
    dialog.own.setChecked(True)  # a new monitor of the files' own columns
    dialog.start.click()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=120_000)
    text = dialog.status.text()
    assert "unit-7 v1 saved" in text and "5 variables, names no fault" in text
    assert "Held-out normal blocks alarm" in text and dialog.promote.isEnabled()
    assert dialog.progress_log and dialog.progress_log[-1][0] == 1.0
    with qtbot.waitSignal(dialog.promoted, timeout=5000):
        dialog.promote.click()
    assert versions.active_version("unit-7") == 1
    dialog.close()
