"""Fine-tune a quality model from the parts labelled in the Parts dock.

The labelled parts are written to a CSV in the user data folder (kept: the card names it),
then :func:`desktop.ml.tabular.finetune.run_parts_finetune` refits the model on a
:class:`~desktop.workers.jobs.Job` (the UI thread only draws): the same held-out comparison,
versioning and promote/rollback as ``linewatch train --base quality-steel --labels …``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
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


def result_text(result: dict[str, Any]) -> str:
    """The held-out comparison in a few lines (the CLI prints the same figures)."""
    lines = [f"{result['name']} v{result['version']} saved (parent {result['parent']}, "
             f"{result['train_parts']} labelled parts + {result['replay_rows']} replay rows, "
             f"{result['seconds']:.0f} s)."]
    held, base = result.get("heldout"), result.get("base_heldout")
    if held and base:
        base_acc = base.get("accuracy")
        lines.append(f"Held-out parts: {held['parts']}; accuracy new {held['accuracy']:.0%}, "
                     f"base " + ("n/a" if base_acc is None else f"{base_acc:.0%}") + ".")
    if not result.get("checked"):
        lines.append(f"Only {result['heldout_parts']} held-out parts: the comparison says "
                     f"little; promote only if you have checked it yourself.")
    lines += [n[:1].upper() + n[1:] + "." for n in result.get("notes", [])]
    return " ".join(lines)


class PartsFinetuneDialog(QDialog):
    """Non-modal; ``saved(name)`` after a new version, ``promoted(name)`` after Promote."""

    saved = Signal(str)
    promoted = Signal(str)

    def __init__(self, model: str, labels: Path, parts: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Fine-tune {model} from labelled parts")
        self.model, self.labels = model, labels
        self.result: dict[str, Any] | None = None
        self.progress_log: list[tuple[float, str]] = []
        self._job: Job | None = None
        self.name = QLineEdit(f"{model.split('@')[0]}-line")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel(f"{parts} labelled parts ({labels.name}). A quarter of them is "
                             "held out to compare the new version with the base.")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(90)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setMinimumWidth(540)
        self.start = QPushButton("Fine-tune")
        self.start.setDefault(True)
        self.start.clicked.connect(self.start_training)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_training)
        self.promote = QPushButton("Promote")
        self.promote.setToolTip("Make this version the one the model's name means "
                                "(Versions… rolls back)")
        self.promote.setEnabled(False)
        self.promote.clicked.connect(self.promote_result)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        form = QFormLayout(self)
        form.addRow("Base model", QLabel(model))
        form.addRow("Save as", self.name)
        form.addRow(self.bar)
        form.addRow(self.status)
        row = QHBoxLayout()
        for b in (self.start, self.cancel, self.promote, close):
            row.addWidget(b)
        form.addRow(row)

    def start_training(self) -> None:
        if self._job is not None:
            return
        name = self.name.text().strip()
        if not name:
            self.status.setText("⚠ Give the new model a name.")
            return
        from desktop.ml.tabular.finetune import run_parts_finetune

        job = Job(run_parts_finetune, self.model, self.labels, name, name="parts-finetune")
        job.worker.progress.connect(self._progress)
        job.worker.succeeded.connect(self._succeeded)
        job.worker.failed.connect(lambda message: self._ended(f"⚠ {message}"))
        job.worker.cancelled.connect(lambda: self._ended("Cancelled: nothing was saved."))
        self._job, self.result, self.progress_log = job, None, []
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.promote.setEnabled(False)
        self.status.setText("starting…")
        job.start()

    def cancel_training(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.status.setText("cancelling… (after the current step)")

    def _progress(self, fraction: float, message: str, info: dict) -> None:
        self.progress_log.append((fraction, message))
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _succeeded(self, result: dict) -> None:
        self.result = result
        self._ended(result_text(result))
        self.promote.setEnabled(True)
        self.saved.emit(result["name"])

    def _ended(self, text: str) -> None:
        self.status.setText(text)
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)
        job, self._job = self._job, None
        if job is not None:  # its function has returned: the thread ends at once
            job.thread.quit()
            job.wait(5000)

    def promote_result(self) -> None:
        if self.result is not None:
            versions.promote(self.result["name"], self.result["version"])
            self.status.setText(f"{self.result['name']} now means v{self.result['version']}")
            self.promote.setEnabled(False)
            self.promoted.emit(self.result["name"])

    def closeEvent(self, event: Any) -> None:
        """Closing while a run is under way cancels it and waits for the thread."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait(180_000)
            self._job = None
        super().closeEvent(event)
