"""The frame shared by dialogs that make a new model version on a Job (calibration,
fine-tuning from labelled parts): a form for the subclass's fields, then a progress bar,
a status text and Start / Cancel / Promote / Close.

The work runs on :class:`~desktop.workers.jobs.Job` (the UI thread only draws). Emits
``saved(name)`` when a new version exists and ``promoted(name)`` when the user makes it the
one its name means (the model's Versions… dialog rolls back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from desktop.ml.model_files import versions
from desktop.workers.jobs import Job


class VersionJobDialog(QDialog):
    """Subclasses add their rows to ``self.form``, call :meth:`finish_layout`, start work
    with :meth:`run_job` and say what a result means in :meth:`describe`."""

    saved = Signal(str)
    promoted = Signal(str)
    #: the key of the job's result dict that holds the new version's model name
    name_key = "model"

    def __init__(self, title: str, start_text: str, intro: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(540)
        self._job: Job | None = None
        self.result: dict[str, Any] | None = None
        self.progress_log: list[tuple[float, dict]] = []
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel(intro)
        self.status.setWordWrap(True)
        # Room for a result of a few sentences: a word-wrapped label in a form layout is
        # otherwise squeezed to one line's height and its text overflows the buttons.
        self.status.setMinimumHeight(110)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.start = QPushButton(start_text)
        self.start.setDefault(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_job)
        self.promote = QPushButton("Promote")
        self.promote.setToolTip("Make this version the one the model's name means "
                                "(Versions… rolls back)")
        self.promote.setEnabled(False)
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
    def run_job(self, fn: Callable[..., Any], *args: Any, name: str, **kwargs: Any) -> None:
        """Run ``fn(*args, task=…, **kwargs)`` on a Job unless one is running."""
        if self._job is not None:
            return
        job = Job(fn, *args, name=name, **kwargs)
        # Bound methods of this dialog, never lambdas: a lambda has no thread of its own, so
        # Qt would call it on the job's thread; a method of a QObject is queued to its thread.
        job.worker.progress.connect(self._progress)
        job.worker.succeeded.connect(self._succeeded)
        job.worker.failed.connect(self._failed)
        job.worker.cancelled.connect(self._cancelled)
        self._job, self.result, self.progress_log = job, None, []
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.promote.setEnabled(False)
        self.status.setText("starting…")
        job.start()

    def cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.status.setText("cancelling…")

    def describe(self, result: dict[str, Any]) -> str:
        """The status text for a finished run (subclasses say more)."""
        return f"{result[self.name_key]} v{result['version']} saved."

    def _progress(self, fraction: float, message: str, info: dict) -> None:
        self.progress_log.append((fraction, info))
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _failed(self, message: str) -> None:
        self._ended(f"⚠ {message}")

    def _cancelled(self) -> None:
        self._ended("Cancelled: nothing was saved.")

    def _succeeded(self, result: dict) -> None:
        self.result = result
        self._ended(self.describe(result))
        self.promote.setEnabled(True)
        self.saved.emit(result[self.name_key])

    def _ended(self, text: str) -> None:
        self.status.setText(text)
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)
        job, self._job = self._job, None
        if job is not None:  # its function has returned: the thread ends at once
            job.request_stop()
            job.wait(5000)

    def promote_result(self) -> None:
        if self.result is not None:
            name, version = self.result[self.name_key], self.result["version"]
            versions.promote(name, version)
            self.status.setText(f"{name} now means v{version}")
            self.promote.setEnabled(False)
            self.promoted.emit(name)

    def closeEvent(self, event: Any) -> None:
        """Closing while a run is under way cancels it and waits for the thread."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait(180_000)
            self._job = None
        super().closeEvent(event)


def as_sentence(note: str) -> str:
    """A CLI-style note (lower case, no full stop) as a sentence."""
    note = note.strip()
    return (note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")) if note else ""
