"""Fine-tune… : teach a model from the labelled events, see the result, promote or discard.

The dialog only collects choices and draws: the job (:func:`desktop.ml.training.finetune.
finetune`) runs on :class:`~desktop.ui.job_dialog.JobDialog`'s job runner, reports progress
and a history row per epoch (drawn as loss/accuracy curves), and can be cancelled within a
second. At the end the held-out numbers of the new model and of its base on the same
held-out events are shown side by side, with the confusion matrix.

Without held-out events (one labelled event per class) nothing checks the result: the
dialog plots the training accuracy, says so, and Promote asks for an explicit confirmation
(default No). Torch is imported only when a run starts.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.labels.event import LabelEvent
from desktop.ml.constants import (
    DEFAULT_EPOCHS,
    DEFAULT_MODE,
    DEFAULT_VAL_FRACTION,
    MODE_HELP,
    MODES,
    UNCHECKED_NOTE,
)
from desktop.ml.model_files import versions
from desktop.ui.job_dialog import JobDialog


def _checklist(items: list[str]) -> QListWidget:
    widget = QListWidget()
    for text in items:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        widget.addItem(item)
    widget.setMaximumHeight(110)
    return widget


def _checked(widget: QListWidget) -> set[str]:
    return {widget.item(i).text() for i in range(widget.count())
            if widget.item(i).checkState() == Qt.CheckState.Checked}


class FinetuneDialog(JobDialog):
    """Emits ``promoted(name)`` when the user makes the new version the active model."""

    promoted = Signal(str)
    cancelled_text = "Cancelled: nothing was saved, the active model is unchanged."
    close_wait_ms = 10_000

    def __init__(self, models: list[str], events: list[LabelEvent], base: str,
                 parent: QWidget | None = None) -> None:
        super().__init__("Start", "fine-tune", parent)
        self.setWindowTitle("Fine-tune a model from labelled events")
        self.resize(900, 720)
        self.events = events
        self.result: dict | None = None
        self.history: list[dict] = []

        self.base = QComboBox()
        self.base.addItems(models)
        if base in models:
            self.base.setCurrentText(base)
        self.name = QLineEdit(f"{base or 'model'}-tuned")
        self.name.setToolTip("Name of the new model; each run adds a version of it")
        self.classes = _checklist(sorted({e.label for e in events}))
        self.recordings = _checklist(sorted({e.recording for e in events}))
        self.mode = QComboBox()
        for mode in MODES:
            self.mode.addItem(f"{mode}: {MODE_HELP.get(mode, '')}", mode)
        self.mode.setCurrentIndex(list(MODES).index(DEFAULT_MODE))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(DEFAULT_EPOCHS)
        self.epochs.setToolTip("Upper limit; training stops early when validation loss stalls")
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.1, 0.5)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(DEFAULT_VAL_FRACTION)
        self.val_fraction.setToolTip("Share of labelled EVENTS held out (never windows of one "
                                     "event on both sides)")
        form = QFormLayout()
        form.addRow("Base model", self.base)
        form.addRow("New model name", self.name)
        form.addRow("Classes", self.classes)
        form.addRow("Recordings", self.recordings)
        form.addRow("Train", self.mode)
        form.addRow("Epochs (max)", self.epochs)
        form.addRow("Held-out events", self.val_fraction)

        self.curves = pg.GraphicsLayoutWidget()
        self.curves.setMinimumHeight(160)
        loss_plot = self.curves.addPlot(title="loss")
        acc_plot = self.curves.addPlot(title="accuracy")
        for plot in (loss_plot, acc_plot):
            plot.addLegend(offset=(5, 5))
            plot.showGrid(x=True, y=True, alpha=0.3)
        self.loss_curve = loss_plot.plot(pen="#56B4E9", name="train")
        self.val_loss_curve = loss_plot.plot(pen="#E69F00", name="held-out")
        self.acc_curve = acc_plot.plot(pen="#56B4E9", name="train")
        self.val_acc_curve = acc_plot.plot(pen="#E69F00", name="held-out")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "new model", "base model"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.confusion = pg.GraphicsLayoutWidget()
        self.confusion.setMinimumHeight(220)

        self.start.clicked.connect(self.start_training)
        self.promote.setText("Promote (make active)")
        self.promote.clicked.connect(self.promote_result)
        self.discard = QPushButton("Discard")
        self.discard.setEnabled(False)
        self.discard.clicked.connect(self.discard_result)
        buttons = QHBoxLayout()
        for b in (self.start, self.cancel, self.promote, self.discard):
            buttons.addWidget(b)
        results = QHBoxLayout()
        results.addWidget(self.table, 1)
        results.addWidget(self.confusion, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.curves)
        layout.addLayout(results)

    # -- the job -----------------------------------------------------------------------------
    def spans(self) -> list[LabelEvent]:
        """The labelled events of the ticked classes and recordings."""
        classes, recordings = _checked(self.classes), _checked(self.recordings)
        return [e for e in self.events if e.label in classes and e.recording in recordings]

    def start_training(self) -> None:
        spans = self.spans()
        if not spans:
            self.status.setText("Tick at least one class and one recording.")
            return
        from desktop.core.errors import LinewatchError
        from desktop.ml.backend import require_torch

        try:
            require_torch("Fine-tuning")
        except LinewatchError as exc:
            self.status.setText(str(exc))
            return
        # Imported here: the fine-tune code pulls in torch, which the window does not need
        # until a run starts.
        from desktop.ml.training.finetune import finetune

        self.run_job(finetune, self.base.currentText(), spans, self.name.text().strip(),
                     name="fine-tune", status=f"Training on {len(spans)} labelled events…",
                     mode=self.mode.currentData(), epochs=self.epochs.value(),
                     val_fraction=self.val_fraction.value(),
                     command="Fine-tune dialog of the Linewatch window")

    def cancel_training(self) -> None:
        self.cancel_job()

    def job_starting(self) -> None:
        self.history = []
        self.result = None
        for curve in (self.loss_curve, self.val_loss_curve, self.acc_curve,
                      self.val_acc_curve):
            curve.setData([], [])
        self.discard.setEnabled(False)

    def job_progress(self, fraction: float, message: str, info: dict) -> None:
        row = info.get("history")
        if row:
            self.history.append(row)
            self._draw_history()

    def _draw_history(self) -> None:
        """Loss and accuracy per epoch; held-out curves only where held-out values exist."""
        rows = self.history
        epochs = [r["epoch"] for r in rows]
        self.loss_curve.setData(epochs, [r["loss"] for r in rows])
        self.acc_curve.setData(epochs, [r["accuracy"] for r in rows])
        held = [r for r in rows if r.get("val_loss") is not None]
        self.val_loss_curve.setData([r["epoch"] for r in held], [r["val_loss"] for r in held])
        self.val_acc_curve.setData([r["epoch"] for r in held],
                                   [r["val_accuracy"] for r in held])
        if rows and not held:
            self.status.setText(f"{self.status.text()} ({UNCHECKED_NOTE})")

    def job_succeeded(self, result: object) -> str:
        data = result.to_json()  # type: ignore[attr-defined]
        self.result = data
        checked = bool(data.get("checked"))
        self.promote.setToolTip("" if checked else f"{UNCHECKED_NOTE}: promoting asks for a "
                                                   "confirmation")
        self.discard.setEnabled(True)
        self._show_metrics(data)
        return (f"Done in {data['seconds']:.1f} s: {data['model']} "
                f"v{data['version']} ({data['mode']}, {data['epochs_run']} epochs). "
                + ("" if checked else f"⚠ {UNCHECKED_NOTE}. ")
                + " ".join(n for n in data.get("notes", []) if not n.startswith(
                    UNCHECKED_NOTE)))

    # -- results -----------------------------------------------------------------------------
    def _show_metrics(self, result: dict) -> None:
        new, base = result.get("heldout") or {}, result.get("base_heldout") or {}
        rows: list[tuple[str, str, str]] = [
            ("held-out accuracy",
             _pct(new.get("accuracy")) if new else "not checked (no held-out events)",
             _pct(base.get("accuracy"))),
            ("original classes (forgetting)", _pct(result.get("original_classes_accuracy")),
             _pct(result.get("base_original_classes_accuracy")))]
        per_new, per_base = new.get("per_class", {}), base.get("per_class", {})
        for cls in result.get("classes", []):
            if cls in per_new:
                b = per_base.get(cls, {})
                rows.append((f"{cls} recall / F1",
                             f"{_pct(per_new[cls].get('recall'))} / "
                             f"{_pct(per_new[cls].get('f1'))}",
                             f"{_pct(b.get('recall'))} / {_pct(b.get('f1'))}" if b else
                             "new class"))
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self._draw_confusion(new.get("confusion"), result.get("classes", []))

    def _draw_confusion(self, matrix: list[list[int]] | None, classes: list[str]) -> None:
        self.confusion.clear()
        if not matrix:
            return
        m = np.asarray(matrix, dtype=float)
        plot = self.confusion.addPlot(title="confusion (rows: true, columns: predicted)")
        norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        image = pg.ImageItem(norm.T)
        image.setColorMap(pg.colormap.get("viridis"))
        plot.addItem(image)
        plot.invertY(True)
        n = m.shape[0]
        ticks = [(i + 0.5, c) for i, c in enumerate(classes[:n])]
        plot.getAxis("left").setTicks([ticks])
        plot.getAxis("bottom").setTicks([[(i + 0.5, str(i)) for i in range(n)]])
        for i in range(n):
            for j in range(n):
                if m[i, j]:
                    text = pg.TextItem(str(int(m[i, j])), anchor=(0.5, 0.5),
                                       color="w" if norm[i, j] < 0.6 else "k")
                    text.setPos(j + 0.5, i + 0.5)
                    plot.addItem(text)

    def confirm_unchecked(self) -> bool:
        """Ask before promoting a version no held-out event checked (default: No)."""
        answer = QMessageBox.question(
            self, "Promote an unchecked model?",
            f"{UNCHECKED_NOTE}: no labelled event was kept out of training, so nothing "
            f"measured how well {self.result['model']} v{self.result['version']} "
            "works.\n\nMake it the active model anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def promote_result(self) -> None:
        if self.result is None:
            return
        if not self.result.get("checked") and not self.confirm_unchecked():
            self.status.setText("Not promoted: the active model is unchanged.")
            return
        versions.promote(self.result["model"], int(self.result["version"]))
        self.status.setText(f"{self.result['model']} v{self.result['version']} is now active.")
        self.promote.setEnabled(False)
        self.discard.setEnabled(False)
        self.promoted.emit(self.result["model"])

    def discard_result(self) -> None:
        if self.result is None:
            return
        versions.remove(self.result["model"], int(self.result["version"]))
        self.status.setText("Discarded: the new version was deleted.")
        self.result = None
        self.promote.setEnabled(False)
        self.discard.setEnabled(False)


def _pct(value: object) -> str:
    return f"{float(value):.1%}" if isinstance(value, int | float) else "—"
