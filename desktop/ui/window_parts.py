"""The window's parts dock: shown while a table model (quality/process) runs live.

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`): the dock is made hidden at start, filled
from the session's ``rows`` signal (:meth:`PartsDockPart.add_rows`), shown when a table
model reports it has loaded (:meth:`PartsDockPart.model_loaded`) and hidden again when
another kind of model (or none) is chosen (:meth:`PartsDockPart.model_changed`).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDockWidget

from desktop.core import paths
from desktop.session.types import ModelInfo, TableRow
from desktop.ui.parts_panel import PartsPanel
from desktop.ui.window_context import WindowContext

TABLE_KINDS = ("quality", "process")


class PartsDockPart:
    """The Parts (or Process samples) dock and its fine-tune dialog."""

    def __init__(self, ctx: WindowContext) -> None:
        self.ctx = ctx
        self.parts_panel = PartsPanel()
        self.parts_dock = QDockWidget("Parts", ctx.parent)
        self.parts_dock.setObjectName("parts-dock")
        self.parts_dock.setWidget(self.parts_panel)
        ctx.parent.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.parts_dock)
        self.parts_dock.hide()
        self.parts_panel.finetune_requested.connect(self.open_parts_finetune)
        self.parts_finetune_dialog: QDialog | None = None

    def open_parts_finetune(self) -> QDialog | None:
        """Write the labelled parts to ``<data dir>/parts-labels/`` (the new card names the
        file) and open the fine-tune dialog for the running quality model."""
        from desktop.ui.parts_finetune_dialog import PartsFinetuneDialog

        model = self.ctx.settings.model
        labelled = sum(1 for r in self.parts_panel.model.items if r.get("label"))
        if self.parts_panel.kind != "quality" or not model:
            self.ctx.status("Fine-tuning from parts needs a quality model "
                                         "running", 6000)
            return None
        if not labelled:
            self.ctx.status("Label some parts first: select rows, right-click, "
                                         "Label as", 8000)
            return None
        folder = Path(paths.data_dir()) / "parts-labels"
        folder.mkdir(parents=True, exist_ok=True)
        labels = folder / f"{model.replace('@', '-v')}-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        try:
            written = self.parts_panel.export_labelled(labels)
        except OSError as exc:
            self.ctx.status(f"could not write {labels}: {exc}", 10000)
            return None
        dialog = PartsFinetuneDialog(model, labels, written, parent=self.ctx.parent)
        dialog.saved.connect(self.ctx.host.model_saved)
        dialog.promoted.connect(self.ctx.host.model_promoted)
        dialog.show()
        self.parts_finetune_dialog = dialog
        return dialog

    def add_rows(self, rows: list[TableRow]) -> None:
        self.parts_panel.add_rows([dict(r.row) for r in rows])  # the table keeps dicts

    def model_loaded(self, info: ModelInfo) -> None:
        kind = info.kind
        if kind in TABLE_KINDS:
            self.parts_panel.configure(info.as_dict())
            self.parts_dock.setWindowTitle("Parts" if kind == "quality" else "Process samples")
            # A tab beside the Analysis dock (spectra mean little for parts): the table and
            # the p-chart get the whole right column instead of a strip of it.
            window = self.ctx.parent
            analysis = window.findChild(QDockWidget, "analysis-dock")
            if analysis is not None and self.parts_dock not in window.tabifiedDockWidgets(
                    analysis):
                window.tabifyDockWidget(analysis, self.parts_dock)
            self.parts_dock.show()
            self.parts_dock.raise_()
        else:
            self.parts_dock.hide()

    def model_changed(self, model: str) -> None:
        """A new choice: clear the old rows; hide the dock when inference is off."""
        self.parts_panel.clear()
        if not model:
            self.parts_dock.hide()
