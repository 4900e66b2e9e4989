"""The model's dialogs: Fine-tune… (the labelled-events fine-tune, or the parts/process
variants of a table model), Versions…, Calibrate… — each non-modal beside the live view,
its long work on a Job inside the dialog.

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`); the Model panel's buttons call it, and
a saved or promoted version goes back through ``host.model_saved``/``host.model_promoted``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QDialog

from desktop.core.errors import LinewatchError
from desktop.session.base import Session
from desktop.session.file import FileSession
from desktop.ui.window_context import WindowContext


class ModelDialogsPart:
    """Opens the model's dialogs and keeps the last of each (for tests and tools)."""

    def __init__(self, ctx: WindowContext) -> None:
        self.ctx = ctx
        self.finetune_dialog: QDialog | None = None
        self.calibrate_dialog: QDialog | None = None
        self.process_refit_dialog: QDialog | None = None

    def open_finetune(self) -> QDialog | None:
        """The fine-tune dialog (non-modal: the live view keeps running beside it). With a
        quality model selected: the parts fine-tune (from the labelled parts); with a
        process model: a status line saying why there is nothing to fine-tune."""
        # Imported on first use: the dialog and its plots are not needed at start-up.
        from desktop.ui.finetune_dialog import FinetuneDialog

        kind = self._selected_table_kind()
        if kind == "quality":
            return self.ctx.host.open_parts_finetune()
        if kind == "process":  # limits come from normal running data, not from labels
            return self.open_process_refit()
        events = self.ctx.host.label_history().store.list()
        models = [m for m in self.ctx.services.list_models() if m]
        dialog = FinetuneDialog(models, events, self.ctx.settings.model or "fault-cwru",
                                self.ctx.parent)
        dialog.promoted.connect(self.ctx.host.model_promoted)
        dialog.show()
        self.finetune_dialog = dialog
        return dialog

    def open_process_refit(self) -> QDialog:
        """Refit the selected process model on tables of this plant's normal operation."""
        from desktop.ui.process_refit_dialog import ProcessRefitDialog

        recent = self.ctx.settings.recent_files
        start = str(Path(recent[0]).parent) if recent else str(self.ctx.recordings_folder())
        dialog = ProcessRefitDialog(self.ctx.settings.model, self.ctx.parent, start_dir=start)
        dialog.saved.connect(self.ctx.host.model_saved)
        dialog.promoted.connect(self.ctx.host.model_promoted)
        dialog.show()
        self.process_refit_dialog = dialog
        return dialog

    def _selected_table_kind(self) -> str:
        """``quality``/``process`` when the selected model is a table model, else ""."""
        from desktop.ml.model_files.registry import resolve

        name = self.ctx.settings.model
        if not name:
            return ""
        try:
            entry = resolve(name)
        except LinewatchError:
            return ""
        card = entry.card
        return card.kind if entry.tabular and card is not None else ""

    def open_versions(self) -> QDialog | None:
        from desktop.ui.versions_dialog import VersionsDialog

        name = self.ctx.settings.model
        if not name:
            self.ctx.status("Pick a model first", 5000)
            return None
        dialog = VersionsDialog(name, self.ctx.parent)
        dialog.active_changed.connect(self.ctx.host.model_promoted)
        dialog.show()
        return dialog

    def open_calibrate(self) -> QDialog | None:
        """The calibrate dialog for the selected model, fed from the current source or open
        recording (non-modal; the work runs on a Job)."""
        from desktop.ml.model_files.registry import resolve
        from desktop.ui.calibrate_dialog import CalibrateDialog

        name = self.ctx.settings.model
        if not name:
            self.ctx.status("Pick a model first", 5000)
            return None
        try:
            entry = resolve(name)
        except LinewatchError as exc:
            self.ctx.status(str(exc), 8000)
            return None
        if entry.card is None or entry.card.kind != "fault":
            self.ctx.status(
                f"{name}: only fault classifiers can be calibrated (Calibrate adapts a "
                f"vibration model's normalisation to a new machine)", 8000)
            return None
        session = self.ctx.session()
        where = (session.path.name if isinstance(session, FileSession)
                 else self.ctx.host.spec or "the window")
        dialog = CalibrateDialog(name, self.signal_reader(session, entry.card.input_channels),
                                 shipped=entry.shipped, parent=self.ctx.parent, source=where)
        dialog.saved.connect(self.ctx.host.model_saved)
        dialog.promoted.connect(self.ctx.host.model_promoted)
        dialog.show()
        self.calibrate_dialog = dialog
        return dialog

    @staticmethod
    def signal_reader(session: Session | None, hints: list[str]
                       ) -> Callable[[float], tuple[np.ndarray, float] | None]:
        """``read(seconds)`` → the last seconds of the model's channel (the channel rule
        of predict) and its rate, or None without signal. Called on the calibration job's
        thread: the buffer copies under its own lock, a file view reads its cache."""
        from desktop.analysis.channels import pick_channel

        def read(seconds: float) -> tuple[np.ndarray, float] | None:
            buffer = session.buffer if session is not None else None
            rate = session.sample_rate() if session is not None else None
            if buffer is None or not rate or buffer.written == 0:
                return None
            index = pick_channel([c.name for c in buffer.channels], hints=hints).index
            snap = buffer.latest(int(seconds * rate))
            return np.asarray(snap.values[:, index], dtype=np.float64), float(rate)

        return read
