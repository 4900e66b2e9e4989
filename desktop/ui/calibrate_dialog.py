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
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QWidget

from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ui.version_job_dialog import VersionJobDialog, as_sentence

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


class CalibrateDialog(VersionJobDialog):
    """Calibrate ``model`` on the last N seconds that ``get_signal(seconds)`` returns.

    Emits ``saved(name)`` when a new version exists and ``promoted(name)`` when the user
    makes it the active one."""

    def __init__(self, model: str, get_signal: SignalGetter, shipped: bool = True,
                 parent: QWidget | None = None, source: str = "the window") -> None:
        super().__init__("Calibrate to this machine", "Calibrate",
                         "Uses the most recent signal of the model's channel. It should "
                         "show the machine in its usual conditions (loads, speeds): "
                         "statistics from one fault or one load alone can harm the model.",
                         parent)
        self.model = model
        self.source = source
        self._get_signal = get_signal
        self.name = QLineEdit(f"{model}-calibrated" if shipped else model)
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(10.0, 3600.0)
        self.seconds.setValue(60.0)
        self.seconds.setSuffix(" s")
        self.layers = QComboBox()
        self.layers.addItem("all batch norms (default)", "all")
        self.layers.addItem("first batch norm only", "first")
        self.start.clicked.connect(self.start_calibration)
        self.form.addRow("Model", QLabel(model))
        self.form.addRow("From", QLabel(source))
        self.form.addRow("Save as", self.name)
        self.form.addRow("Signal", self.seconds)
        self.form.addRow("Re-estimate", self.layers)
        self.finish_layout()

    def start_calibration(self) -> None:
        if self.runner.running:
            return
        from desktop.core.errors import LinewatchError
        from desktop.ml.backend import require_torch

        try:
            require_torch("Calibration")
        except LinewatchError as exc:
            self.status.setText(str(exc))
            return
        seconds = self.seconds.value()
        self.run_job(read_and_calibrate, self._get_signal, seconds, self.model,
                     self.name.text().strip(), self.layers.currentData(),
                     f"the last {seconds:g} s of {self.source}", name="calibrate")

    def cancel_calibration(self) -> None:
        self.cancel_job()

    def describe(self, result: dict[str, Any]) -> str:
        return (f"{result['model']} v{result['version']} saved (parent {result['parent']}, "
                f"{result['windows']} windows). "
                + " ".join(as_sentence(n) for n in result.get("notes", [])))
