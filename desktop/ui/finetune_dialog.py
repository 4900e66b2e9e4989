"""Fine-tune… : teach a model from the labelled events, see the result, promote or discard.

The dialog only collects choices and draws: the job runs in a FinetuneWorker thread,
reports progress and a history row per epoch (drawn as loss/accuracy curves), and can be
cancelled within a second. At the end the held-out numbers of the new model and of its
base on the same held-out events are shown side by side, with the confusion matrix.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.labels.event import LabelEvent
from desktop.ml import versions
from desktop.ml.finetune import DEFAULT_MODE, MODES
from desktop.ml.labelled_data import LabelSpan
from desktop.workers.finetune_worker import FinetuneWorker
from desktop.workers.threads import WorkerThread

MODE_HELP = {"full": "all weights (default: best on a new sensor position, with replay "
                     "against forgetting)",
             "head": "only the classifier head (fastest)",
             "adapter": "low-rank adapters on the last layers"}


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


class FinetuneDialog(QDialog):
    """Emits ``promoted(name)`` when the user makes the new version the active model."""

    promoted = Signal(str)

    def __init__(self, models: list[str], events: list[LabelEvent], base: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fine-tune a model from labelled events")
        self.resize(900, 720)
        self.events = events
        self.result: dict | None = None
        self.progress_log: list[tuple[float, dict]] = []
        self._thread: WorkerThread | None = None

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
        self.epochs.setValue(30)
        self.epochs.setToolTip("Upper limit; training stops early when validation loss stalls")
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.1, 0.5)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(0.25)
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

        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
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

        self.start = QPushButton("Start")
        self.start.clicked.connect(self.start_training)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_training)
        self.promote = QPushButton("Promote (make active)")
        self.promote.setEnabled(False)
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
    def spans(self) -> list[LabelSpan]:
        classes, recordings = _checked(self.classes), _checked(self.recordings)
        return [LabelSpan(e.recording, e.start_s, e.end_s, e.label, e.channel, e.note)
                for e in self.events if e.label in classes and e.recording in recordings]

    def start_training(self) -> None:
        spans = self.spans()
        if not spans:
            self.status.setText("Tick at least one class and one recording.")
            return
        worker = FinetuneWorker(self.base.currentText(), spans, self.name.text().strip(),
                                self.mode.currentData(), self.epochs.value(),
                                self.val_fraction.value())
        worker.progress.connect(self._progress)
        worker.succeeded.connect(self._succeeded)
        # Bound methods, not lambdas: a lambda would run on the worker's thread.
        worker.cancelled.connect(self._cancelled)
        worker.failed.connect(self._failed)
        self.progress_log.clear()
        self.history: list[dict] = []
        self.result = None
        self._thread = WorkerThread(worker, "linewatch-finetune")
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.promote.setEnabled(False)
        self.discard.setEnabled(False)
        self.status.setText(f"Training on {len(spans)} labelled events…")
        self._thread.start()

    def cancel_training(self) -> None:
        if self._thread is not None:
            self.status.setText("Cancelling…")
            self._thread.request_stop()

    def _progress(self, fraction: float, info: dict) -> None:
        self.progress_log.append((fraction, info))
        self.bar.setValue(int(fraction * 1000))
        if info.get("message"):
            self.status.setText(str(info["message"]))
        row = info.get("history")
        if row:
            self.history.append(row)
            epochs = [r["epoch"] for r in self.history]
            self.loss_curve.setData(epochs, [r["loss"] for r in self.history])
            self.val_loss_curve.setData(epochs, [r["val_loss"] for r in self.history])
            self.acc_curve.setData(epochs, [r["acc"] for r in self.history])
            self.val_acc_curve.setData(epochs, [r["val_acc"] for r in self.history])

    def _cancelled(self) -> None:
        self._ended("Cancelled: nothing was saved, the active model is unchanged.")

    def _failed(self, message: str) -> None:
        self._ended(f"⚠ {message}")

    def _ended(self, message: str) -> None:
        self.status.setText(message)
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)
        if self._thread is not None:
            self._thread.request_stop()  # quits the thread's loop once run() has returned
            self._thread.wait(5000)
            self._thread = None

    def _succeeded(self, result: dict) -> None:
        self.result = result
        self._ended(f"Done in {result['seconds']:.1f} s: {result['model']} "
                    f"v{result['version']} ({result['mode']}, {result['epochs_run']} epochs). "
                    + " ".join(result.get("notes", [])))
        self.promote.setEnabled(True)
        self.discard.setEnabled(True)
        self._show_metrics(result)

    # -- results -----------------------------------------------------------------------------
    def _show_metrics(self, result: dict) -> None:
        new, base = result.get("heldout") or {}, result.get("base_heldout") or {}
        rows: list[tuple[str, str, str]] = [
            ("held-out accuracy", _pct(new.get("accuracy")), _pct(base.get("accuracy"))),
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

    def promote_result(self) -> None:
        if self.result is None:
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

    def closeEvent(self, event: object) -> None:
        if self._thread is not None:
            self._thread.request_stop()
            self._thread.wait(10_000)
        super().closeEvent(event)  # type: ignore[arg-type]


def _pct(value: object) -> str:
    return f"{float(value):.1%}" if isinstance(value, int | float) else "—"
