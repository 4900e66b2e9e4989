"""The Job wiring shared by dialogs that run one long job at a time and draw its progress
(:class:`~desktop.ui.version_job_dialog.VersionJobDialog`: Calibrate…, the Parts dock's
Fine-tune…, Refit…; :class:`~desktop.ui.finetune_dialog.FinetuneDialog`).

The dialog owns a progress bar, a status line and Start / Cancel / Promote buttons; the
subclass lays them out with its own fields. The work runs on the dialog's
:class:`~desktop.workers.job_runner.JobRunner` (one run at a time); closing the dialog
cancels a run and waits for its thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton, QWidget

from desktop.workers.job_runner import JobRunner


class JobDialog(QDialog):
    """Subclasses start work with :meth:`run_job` and handle a result in
    :meth:`job_succeeded`; ``progress_log`` keeps ``(fraction, info)`` per report."""

    #: the status text after a cancelled run
    cancelled_text = "Cancelled: nothing was saved."
    #: how long closing the dialog waits for a cancelled run's thread (ms)
    close_wait_ms = 180_000

    def __init__(self, start_text: str, job_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress_log: list[tuple[float, dict[str, Any]]] = []
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.start = QPushButton(start_text)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_job)
        self.promote = QPushButton("Promote")
        self.promote.setEnabled(False)
        self.runner = JobRunner(self, name=job_name, replace=False)
        self.runner.progress.connect(self._progress)
        self.runner.succeeded.connect(self._succeeded)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)

    # -- the job ---------------------------------------------------------------------------
    def run_job(self, fn: Callable[..., Any], *args: Any, name: str,
                status: str = "starting…", **kwargs: Any) -> bool:
        """Run ``fn(*args, task=…, **kwargs)`` unless a run is under way (then False);
        ``status`` is shown until the first progress report."""
        if self.runner.running:
            return False
        self.progress_log = []
        self.job_starting()
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.promote.setEnabled(False)
        self.status.setText(status)
        self.runner.start(fn, *args, name=name, **kwargs)
        return True

    def cancel_job(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.status.setText("Cancelling…")

    # -- hooks -----------------------------------------------------------------------------
    def job_starting(self) -> None:
        """Forget the previous run's results (subclasses clear what they drew)."""

    def job_progress(self, fraction: float, message: str, info: dict[str, Any]) -> None:
        """One progress report, after the bar and status are updated."""

    def job_succeeded(self, result: Any) -> str:
        """Keep and draw ``result``; returns the status text."""
        raise NotImplementedError

    # -- the runner's signals --------------------------------------------------------------
    def _progress(self, fraction: float, message: str, info: dict[str, Any]) -> None:
        self.progress_log.append((fraction, info))
        self.bar.setValue(int(fraction * 1000))
        if message:
            self.status.setText(message)
        self.job_progress(fraction, message, info)

    def _failed(self, message: str) -> None:
        self._ended(f"⚠ {message}")

    def _cancelled(self) -> None:
        self._ended(self.cancelled_text)

    def _succeeded(self, result: Any) -> None:
        self._ended(self.job_succeeded(result))
        self.promote.setEnabled(True)

    def _ended(self, text: str) -> None:
        self.status.setText(text)
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing while a run is under way cancels it and waits for the thread."""
        self.runner.shutdown(self.close_wait_ms)
        super().closeEvent(event)
