""""Calibrate to this machine": AdaBN from the signal the window already has (no labels).

The window hands over a callable that returns the most recent seconds of the model's
channel and their rate (from the live ring buffer or the opened recording); the dialog
runs :func:`desktop.ml.training.calibrate.calibrate` on a :class:`~desktop.workers.jobs.Job`
and offers to promote the new version. Torch is imported only when a run starts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
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

from desktop.ml.model_files import versions
from desktop.workers.jobs import Job

SignalGetter = Callable[[float], "tuple[np.ndarray, float] | None"]


class CalibrateDialog(QDialog):
    """Calibrate ``model`` on the last N seconds that ``get_signal(seconds)`` returns."""

    def __init__(self, model: str, get_signal: SignalGetter, shipped: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibrate to this machine")
        self.model = model
        self._get_signal = get_signal
        self._job: Job | None = None
        self.result: dict | None = None
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
        self.start = QPushButton("Calibrate")
        self.start.clicked.connect(self.start_calibration)
        self.promote = QPushButton("Promote")
        self.promote.setEnabled(False)
        self.promote.clicked.connect(self._promote)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        form = QFormLayout(self)
        form.addRow("Model", QLabel(model))
        form.addRow("Save as", self.name)
        form.addRow("Signal", self.seconds)
        form.addRow("Re-estimate", self.layers)
        form.addRow(self.bar)
        form.addRow(self.status)
        row = QHBoxLayout()
        for b in (self.start, self.promote, close):
            row.addWidget(b)
        form.addRow(row)

    def start_calibration(self) -> None:
        got = self._get_signal(self.seconds.value())
        if got is None:
            self.status.setText("No signal yet: start a source or open a recording first.")
            return
        signal, rate = got
        from desktop.core.errors import LinewatchError
        from desktop.ml.backend import require_torch

        try:
            require_torch("Calibration")
        except LinewatchError as exc:
            self.status.setText(str(exc))
            return
        from desktop.ml.training.calibrate import calibrate

        job = Job(calibrate, self.model, signal, rate, self.name.text().strip(),
                  name="calibrate", layers=self.layers.currentData(),
                  source=f"the window's last {self.seconds.value():g} s",
                  command="Calibrate dialog of the Linewatch window")
        job.worker.progress.connect(self._progress)
        job.worker.succeeded.connect(self._succeeded)
        job.worker.failed.connect(self._failed)
        self._job = job
        self.start.setEnabled(False)
        job.start()

    def _progress(self, fraction: float, message: str, _info: dict) -> None:
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _succeeded(self, result: dict) -> None:
        self.result = result
        self.status.setText(f"{result['model']} v{result['version']} saved (parent "
                            f"{result['parent']}, {result['windows']} windows). "
                            + " ".join(result.get("notes", [])))
        self.promote.setEnabled(True)
        self._ended()

    def _failed(self, message: str) -> None:
        self.status.setText(f"⚠ {message}")
        self._ended()

    def _ended(self) -> None:
        self.start.setEnabled(True)
        if self._job is not None:
            self._job.request_stop()
            self._job.wait(5000)
            self._job = None

    def _promote(self) -> None:
        if self.result is not None:
            versions.promote(self.result["model"], self.result["version"])
            self.status.setText(f"{self.result['model']} now means v{self.result['version']}")
            self.promote.setEnabled(False)
