""""Calibrate to this machine": AdaBN from the signal the window already has (no labels).

The window hands over a callable that returns the most recent seconds of the model's
channel and their rate (from the live ring buffer or the opened recording); the dialog
runs it and :func:`desktop.ml.training.calibrate.calibrate` on a
:class:`~desktop.workers.jobs.Job` (the copy of the signal, the windows and the
batch-norm pass all happen off the UI thread), shows progress with Cancel, and offers to
promote the new version (rollback: the Versions dialog). Torch is imported only when a run
starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ml.model_files import versions
from desktop.workers.jobs import Job

SignalGetter = Callable[[float], "tuple[np.ndarray, float] | None"]

NO_SIGNAL = "no signal yet: start a source or open a recording first"


def read_and_calibrate(get_signal: SignalGetter, seconds: float, model: str, name: str,
                       layers: str, source: str, task: TaskState) -> dict[str, Any]:
    """The job: copy the last ``seconds`` of signal, then calibrate (on the job's thread)."""
    task.report(0.0, "reading the signal", stage="loading")
    got = get_signal(seconds)
    if got is None or np.asarray(got[0]).size == 0:
        raise InputError(NO_SIGNAL)
    signal, rate = got
    from desktop.ml.training.calibrate import calibrate  # torch: only when a run starts

    return calibrate(model, signal, rate, name, layers=layers, source=source,
                     command="Calibrate dialog of the Linewatch window",
                     task=task.part(0.05, 1.0))


class CalibrateDialog(QDialog):
    """Calibrate ``model`` on the last N seconds that ``get_signal(seconds)`` returns.

    Emits ``saved(name)`` when a new version exists and ``promoted(name)`` when the user
    makes it the active one."""

    saved = Signal(str)
    promoted = Signal(str)

    def __init__(self, model: str, get_signal: SignalGetter, shipped: bool = True,
                 parent: QWidget | None = None, source: str = "the window") -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibrate to this machine")
        self.model = model
        self.source = source
        self._get_signal = get_signal
        self._job: Job | None = None
        self.result: dict | None = None
        self.progress_log: list[tuple[float, dict]] = []
        self.name = QLineEdit(f"{model}-calibrated" if shipped else model)
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(10.0, 3600.0)
        self.seconds.setValue(60.0)
        self.seconds.setSuffix(" s")
        self.layers = QComboBox()
        self.layers.addItem("all batch norms (default)", "all")
        self.layers.addItem("first batch norm only", "first")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("Uses the most recent signal of the model's channel. It should "
                             "show the machine in its usual conditions (loads, speeds): "
                             "statistics from one fault or one load alone can harm the model.")
        self.status.setWordWrap(True)
        # Room for the result's three sentences: a word-wrapped label in a form layout is
        # otherwise squeezed to one line's height and its text overflows the buttons.
        self.status.setMinimumHeight(110)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setMinimumWidth(540)
        self.start = QPushButton("Calibrate")
        self.start.clicked.connect(self.start_calibration)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_calibration)
        self.promote = QPushButton("Promote")
        self.promote.setEnabled(False)
        self.promote.clicked.connect(self.promote_result)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        form = QFormLayout(self)
        form.addRow("Model", QLabel(model))
        form.addRow("From", QLabel(source))
        form.addRow("Save as", self.name)
        form.addRow("Signal", self.seconds)
        form.addRow("Re-estimate", self.layers)
        form.addRow(self.bar)
        form.addRow(self.status)
        row = QHBoxLayout()
        for b in (self.start, self.cancel, self.promote, close):
            row.addWidget(b)
        form.addRow(row)

    def start_calibration(self) -> None:
        if self._job is not None:
            return
        from desktop.core.errors import LinewatchError
        from desktop.ml.backend import require_torch

        try:
            require_torch("Calibration")
        except LinewatchError as exc:
            self.status.setText(str(exc))
            return
        seconds = self.seconds.value()
        job = Job(read_and_calibrate, self._get_signal, seconds, self.model,
                  self.name.text().strip(), self.layers.currentData(),
                  f"the last {seconds:g} s of {self.source}", name="calibrate")
        job.worker.progress.connect(self._progress)
        job.worker.succeeded.connect(self._succeeded)
        job.worker.failed.connect(self._failed)
        job.worker.cancelled.connect(self._cancelled)
        self._job = job
        self.result = None
        self.progress_log = []
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.promote.setEnabled(False)
        self.status.setText("starting…")
        job.start()

    def cancel_calibration(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.status.setText("cancelling…")

    def _progress(self, fraction: float, message: str, info: dict) -> None:
        self.progress_log.append((fraction, info))
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _succeeded(self, result: dict) -> None:
        self.result = result
        self.status.setText(f"{result['model']} v{result['version']} saved (parent "
                            f"{result['parent']}, {result['windows']} windows). "
                            + " ".join(_sentence(n) for n in result.get("notes", [])))
        self.promote.setEnabled(True)
        self._ended()
        self.saved.emit(result["model"])

    def _cancelled(self) -> None:
        self.status.setText("Cancelled: nothing was saved.")
        self._ended()

    def _failed(self, message: str) -> None:
        self.status.setText(f"⚠ {message}")
        self._ended()

    def _ended(self) -> None:
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)
        if self._job is not None:
            self._job.request_stop()
            self._job.wait(5000)
            self._job = None

    def promote_result(self) -> None:
        if self.result is not None:
            versions.promote(self.result["model"], self.result["version"])
            self.status.setText(f"{self.result['model']} now means v{self.result['version']}")
            self.promote.setEnabled(False)
            self.promoted.emit(self.result["model"])

    def closeEvent(self, event: Any) -> None:
        """Closing while a run is under way cancels it and waits for the thread."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait(10_000)
            self._job = None
        super().closeEvent(event)


def _sentence(note: str) -> str:
    """A calibration note (lower case, no full stop: CLI style) as a sentence."""
    note = note.strip()
    return (note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")) if note else ""
