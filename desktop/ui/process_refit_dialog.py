"""Refit a process monitor on normal running data of this plant (the window's counterpart of
``linewatch train --normal FILE… --name NAME [--base MODEL]``).

The engineer picks one or more tables of normal operation (rows in time order); by default
the selected process model's limits are refitted and its fault namer kept; *Watch the
files' own columns* fits a new monitor of whatever columns the files have (it names no
fault). :func:`desktop.ml.tabular.process_train.run_process_refit` runs on a
:class:`~desktop.workers.jobs.Job` (the UI thread only draws); the result is a new version
to Promote (Versions… rolls back).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from desktop.ui.version_job_dialog import VersionJobDialog, as_sentence


def result_text(result: dict[str, Any]) -> str:
    """What the refit measured, in a few sentences (the CLI prints the same figures)."""
    what = (f"refitted from {result['parent']}" if result.get("parent")
            else f"{len(result['columns'])} variables, names no fault")
    lines = [f"{result['name']} v{result['version']} saved ({what}; {result['rows']:,} "
             f"normal rows, {result['seconds']:.0f} s).",
             f"Held-out normal blocks alarm {result['heldout_alarm_rate']:.1%} of rows"
             + ("." if result.get("base_alarm_rate") is None else
                f"; {result['parent']} alarmed {result['base_alarm_rate']:.1%} of the same "
                f"rows.")]
    lines += [as_sentence(n) for n in result.get("notes", [])]
    return " ".join(lines)


class ProcessRefitDialog(VersionJobDialog):
    """Non-modal; ``saved(name)`` after a new version, ``promoted(name)`` after Promote."""

    name_key = "name"

    def __init__(self, model: str, parent: QWidget | None = None,
                 start_dir: str = "") -> None:
        super().__init__(f"Refit {model} on normal data", "Refit",
                         "Pick tables of normal operation of this plant (rows in time order, "
                         "one column per process variable; at least 310 rows in all). The "
                         "limits are refitted on them; nothing becomes active until you "
                         "Promote.", parent)
        self.model = model
        self.start_dir = start_dir
        self.files: list[Path] = []
        self.files_label = QLabel("no files yet")
        self.files_label.setWordWrap(True)
        browse = QPushButton("Choose files…")
        browse.clicked.connect(self.choose_files)
        row = QHBoxLayout()
        row.addWidget(self.files_label, 1)
        row.addWidget(browse)
        self.own = QCheckBox("Watch the files' own columns (a new monitor; names no fault)")
        self.name = QLineEdit(f"{model.split('@')[0]}-plant")
        self.start.clicked.connect(self.start_refit)
        self.form.addRow("Base model", QLabel(model))
        self.form.addRow("Normal data", row)
        self.form.addRow(self.own)
        self.form.addRow("Save as", self.name)
        self.finish_layout()

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Tables of normal operation", self.start_dir,
            "Tables (*.csv *.tsv *.txt *.dat);;All files (*)")
        if files:
            self.set_files([Path(f) for f in files])

    def set_files(self, files: list[Path]) -> None:
        self.files = list(files)
        self.files_label.setText(", ".join(f.name for f in self.files) or "no files yet")

    def start_refit(self) -> None:
        name = self.name.text().strip()
        if not self.files:
            self.status.setText("⚠ Choose the tables of normal operation first.")
            return
        if not name:
            self.status.setText("⚠ Give the new model a name.")
            return
        from desktop.ml.tabular.process_train import run_process_refit

        base = None if self.own.isChecked() else self.model
        self.run_job(run_process_refit, list(self.files), name, base=base,
                     name="process-refit")

    def describe(self, result: dict[str, Any]) -> str:
        return result_text(result)
