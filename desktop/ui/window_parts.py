"""The window's parts dock: shown while a table model (quality/process) runs live.

A mixin of :class:`~desktop.ui.main_window.MainWindow`: the dock is made hidden at start,
filled from the session's ``rows`` signal, shown when a table model reports it has loaded
and hidden again when another kind of model (or none) is chosen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from desktop.ui.parts_panel import PartsPanel

TABLE_KINDS = ("quality", "process")


class PartsMixin:
    def _install_parts_dock(self) -> None:
        self.parts_panel = PartsPanel()
        self.parts_dock = QDockWidget("Parts", self)
        self.parts_dock.setObjectName("parts-dock")
        self.parts_dock.setWidget(self.parts_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.parts_dock)
        self.parts_dock.hide()

    def _parts_rows(self, rows: list[dict]) -> None:
        self.parts_panel.add_rows(rows)

    def _parts_model_loaded(self, info: dict[str, object]) -> None:
        kind = str(info.get("kind", ""))
        if kind in TABLE_KINDS:
            self.parts_panel.configure(info)
            self.parts_dock.setWindowTitle("Parts" if kind == "quality" else "Process samples")
            self.parts_dock.show()
            self.parts_dock.raise_()
        else:
            self.parts_dock.hide()

    def _parts_model_changed(self, model: str) -> None:
        """A new choice: clear the old rows; hide the dock when inference is off."""
        self.parts_panel.clear()
        if not model:
            self.parts_dock.hide()
