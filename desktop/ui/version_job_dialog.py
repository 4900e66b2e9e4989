"""The frame shared by dialogs that make a new model version on a Job (calibration,
fine-tuning from labelled parts): a form for the subclass's fields, then a progress bar,
a status text and Start / Cancel / Promote / Close.

The Job wiring (one run at a time on a :class:`~desktop.workers.job_runner.JobRunner`,
progress, Cancel, closing waits) is :class:`~desktop.ui.job_dialog.JobDialog`'s. Emits
``saved(name)`` when a new version exists and ``promoted(name)`` when the user makes it the
one its name means (the model's Versions… dialog rolls back).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QPushButton, QWidget

from desktop.ml.model_files import versions
from desktop.ui.job_dialog import JobDialog


class VersionJobDialog(JobDialog):
    """Subclasses add their rows to ``self.form``, call :meth:`finish_layout`, start work
    with :meth:`run_job` and say what a result means in :meth:`describe`."""

    saved = Signal(str)
    promoted = Signal(str)
    #: the key of the job's result dict that holds the new version's model name
    name_key = "model"

    def __init__(self, title: str, start_text: str, intro: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(start_text, "new-version", parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(540)
        self.result: dict[str, Any] | None = None
        self.status.setText(intro)
        # Room for a result of a few sentences: a word-wrapped label in a form layout is
        # otherwise squeezed to one line's height and its text overflows the buttons.
        self.status.setMinimumHeight(110)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.start.setDefault(True)
        self.promote.setToolTip("Make this version the one the model's name means "
                                "(Versions… rolls back)")
        self.promote.clicked.connect(self.promote_result)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        self.form = QFormLayout(self)

    def finish_layout(self) -> None:
        """Progress, status and the buttons, below the subclass's own rows."""
        self.form.addRow(self.bar)
        self.form.addRow(self.status)
        row = QHBoxLayout()
        for b in (self.start, self.cancel, self.promote, self.close_button):
            row.addWidget(b)
        self.form.addRow(row)

    # -- the job ---------------------------------------------------------------------------
    def job_starting(self) -> None:
        self.result = None

    def job_succeeded(self, result: Any) -> str:
        self.result = result
        return self.describe(result)

    def _succeeded(self, result: Any) -> None:
        super()._succeeded(result)
        self.saved.emit(result[self.name_key])

    def describe(self, result: dict[str, Any]) -> str:
        """The status text for a finished run (subclasses say more)."""
        return f"{result[self.name_key]} v{result['version']} saved."

    def promote_result(self) -> None:
        if self.result is not None:
            name, version = self.result[self.name_key], self.result["version"]
            versions.promote(name, version)
            self.status.setText(f"{name} now means v{version}")
            self.promote.setEnabled(False)
            self.promoted.emit(name)


def as_sentence(note: str) -> str:
    """A CLI-style note (lower case, no full stop) as a sentence."""
    note = note.strip()
    return (note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")) if note else ""
