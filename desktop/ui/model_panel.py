"""The model panel: which model judges the live signal, and when its alarm fires."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from desktop.core.settings import Settings

OFF = "Off"


class ModelPanel(QWidget):
    """Emits ``model_changed(name or "")`` and ``alarm_times_changed(raise_s, clear_s)``."""

    model_changed = Signal(str)
    alarm_times_changed = Signal(float, float)
    finetune_requested = Signal()
    versions_requested = Signal()
    #: "Calibrate to this machine…": the window opens :class:`~desktop.ui.calibrate_dialog.
    #: CalibrateDialog` with the live buffer's recent signal.
    calibrate_requested = Signal()

    def __init__(self, models: list[str], settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QComboBox()
        self.model.addItem(OFF, "")
        for name in models:
            self.model.addItem(name, name)
        index = self.model.findData(settings.model)
        self.model.setCurrentIndex(index if index >= 0 else 0)
        self.model.setToolTip("The model run on the live signal (in its own thread)")
        self.model.currentIndexChanged.connect(
            lambda _: self.model_changed.emit(self.model.currentData() or ""))
        self.raise_s = _seconds(settings.alarm_raise_s,
                                "A fault class must hold this long to raise the alarm")
        self.clear_s = _seconds(settings.alarm_clear_s,
                                "Normal must hold this long to clear the alarm")
        for box in (self.raise_s, self.clear_s):
            box.editingFinished.connect(self._times_changed)
        self.status = QLabel("")
        # Warnings can be long (why a model cannot run here): wrap them in full, let the
        # user select and copy them, and keep the whole text in the tooltip as well.
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored,
                                  QSizePolicy.Policy.MinimumExpanding)
        form = QFormLayout(self)
        form.addRow("Model", self.model)
        form.addRow("Alarm after", self.raise_s)
        form.addRow("Clear after", self.clear_s)
        tune = QPushButton("Fine-tune…")
        tune.setToolTip("Teach a model from your labelled events (a quality model: from the "
                        "parts you labelled; a process model: refit on normal running data)")
        tune.clicked.connect(self.finetune_requested.emit)
        history = QPushButton("Versions…")
        history.setToolTip("Compare versions of the selected model, promote or roll back")
        history.clicked.connect(self.versions_requested.emit)
        calibrate = QPushButton("Calibrate…")
        calibrate.setToolTip("Calibrate to this machine: adapt the model's normalisation to "
                             "the running machine from unlabelled signal (a new version)")
        calibrate.clicked.connect(self.calibrate_requested.emit)
        row = QHBoxLayout()
        row.addWidget(tune)
        row.addWidget(calibrate)
        row.addWidget(history)
        form.addRow(row)
        form.addRow(self.status)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

    def set_models(self, models: list[str], current: str) -> None:
        """Refill the list (a new model was made) without announcing a change."""
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItem(OFF, "")
        for name in models:
            self.model.addItem(name, name)
        index = self.model.findData(current)
        self.model.setCurrentIndex(index if index >= 0 else 0)
        self.model.blockSignals(False)

    def _times_changed(self) -> None:
        self.alarm_times_changed.emit(self.raise_s.value(), self.clear_s.value())

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)


def _seconds(value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.1, 600.0)
    box.setDecimals(1)
    box.setSuffix(" s")
    box.setValue(value)
    box.setToolTip(tip)
    return box
