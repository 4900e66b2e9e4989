"""Fine-tune a quality model from the parts labelled in the Parts dock.

The labelled parts are written to a CSV in the user data folder (kept: the card names it),
then :func:`desktop.ml.tabular.finetune.run_parts_finetune` refits the model on a
:class:`~desktop.workers.jobs.Job` (the UI thread only draws): the same held-out comparison,
versioning and promote/rollback as ``linewatch train --base quality-steel --labels …``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from desktop.ui.version_job_dialog import VersionJobDialog, as_sentence


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
    rej = result.get("reject")
    if rej:
        lines.append(f"Reject option re-chosen for {rej['target_accuracy']:.0%} accuracy on "
                     f"accepted parts: refer under {rej['threshold']:.2f}; accepts "
                     f"{rej['coverage']:.0%} of {rej['rows']} out-of-fold rows"
                     + ("" if rej.get("heldout_coverage") is None else
                        f", {rej['heldout_coverage']:.0%} of the held-out parts")
                     + ".")
    if not result.get("checked"):
        lines.append(f"Only {result['heldout_parts']} held-out parts: the comparison says "
                     f"little; promote only if you have checked it yourself.")
    lines += [as_sentence(n) for n in result.get("notes", [])]
    return " ".join(lines)


class PartsFinetuneDialog(VersionJobDialog):
    """Non-modal; ``saved(name)`` after a new version, ``promoted(name)`` after Promote."""

    name_key = "name"

    def __init__(self, model: str, labels: Path, parts: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(f"Fine-tune {model} from labelled parts", "Fine-tune",
                         f"{parts} labelled parts ({labels.name}). A quarter of them is held "
                         f"out to compare the new version with the base.", parent)
        self.model, self.labels = model, labels
        self.name = QLineEdit(f"{model.split('@')[0]}-line")
        self.start.clicked.connect(self.start_training)
        self.form.addRow("Base model", QLabel(model))
        self.form.addRow("Save as", self.name)
        self.finish_layout()

    def start_training(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.status.setText("⚠ Give the new model a name.")
            return
        from desktop.ml.tabular.finetune import run_parts_finetune

        self.run_job(run_parts_finetune, self.model, self.labels, name, name="parts-finetune")

    def describe(self, result: dict[str, Any]) -> str:
        return result_text(result)
