"""Model versions: compare them side by side, promote one, roll back, remove.

A model without user versions (a shipped model not fine-tuned yet, an unversioned folder)
shows an empty table with a hint saying why and what to do.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import LinewatchError
from desktop.ml.model_files import versions

COLUMNS = ["version", "active", "parent", "created", "mode", "labelled events", "classes",
           "held-out accuracy"]


class VersionsDialog(QDialog):
    """Emits ``active_changed(name)`` after a promote or a rollback."""

    active_changed = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setWindowTitle(f"Versions of {name}")
        self.resize(900, 320)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.status = QLabel("Select two rows to compare them; the table shows every "
                             "version's numbers side by side.")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        for text, slot in (("Promote selected", self.promote_selected),
                           ("Roll back", self.rollback), ("Remove selected", self.remove)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            if slot == self.rollback:
                self.rollback_button = button
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.refresh()

    def refresh(self) -> None:
        infos = versions.list_versions(self.name)
        target = versions.rollback_target(self.name)  # offered only when there is one
        self.rollback_button.setText(f"Roll back to {target}" if target else "Roll back")
        self.rollback_button.setEnabled(target is not None)
        if not infos:
            self.status.setText(empty_hint(self.name))
        self.table.setRowCount(len(infos))
        for row, info in enumerate(infos):
            data = info.to_json()
            labels = data.get("labels") or {}
            acc = data.get("heldout_accuracy")
            values = [f"v{info.version}", "●" if info.active else "", data.get("parent") or "",
                      data.get("created") or "", data.get("mode") or "",
                      str(labels.get("spans", labels.get("count", ""))),
                      ", ".join(labels.get("classes", [])),
                      f"{acc:.1%}" if isinstance(acc, int | float) else info.problem or "—"]
            for col, value in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(str(value)))
        self.table.resizeColumnsToContents()

    def _selected_version(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return int(self.table.item(rows[0].row(), 0).text()[1:]) if rows else None

    def _do(self, action: str) -> None:
        now_active = self.name  # the model the window runs after this action
        try:
            if action == "promote":
                version = self._selected_version()
                if version is None:
                    return
                versions.promote(self.name, version)
                self.status.setText(f"v{version} is now the active version.")
            elif action == "rollback":
                version = versions.rollback(self.name)
                if version == versions.SHIPPED_BASE:  # back to the shipped model it came from
                    now_active = versions.shipped_base(self.name) or self.name
                self.status.setText(
                    f"Rolled back to the shipped {versions.shipped_base(self.name)}: no "
                    "version is active." if version == versions.SHIPPED_BASE
                    else f"Rolled back: v{version} is active again.")
            else:
                version = self._selected_version()
                if version is None:
                    return
                versions.remove(self.name, version)
                self.status.setText(f"v{version} removed.")
        except LinewatchError as exc:
            self.status.setText(f"⚠ {exc}")
            return
        self.refresh()
        if action != "remove":
            self.active_changed.emit(now_active)

    def promote_selected(self) -> None:
        self._do("promote")

    def rollback(self) -> None:
        self._do("rollback")

    def remove(self) -> None:
        self._do("remove")


def empty_hint(name: str) -> str:
    """Why ``name`` has no versions to list, and how to get one."""
    from desktop.core import paths

    if (paths.shipped_models_dir() / name / "card.json").exists():
        return (f"{name} is a shipped model with no fine-tuned versions yet: use Fine-tune… "
                "to make one")
    return (f"{name} has no fine-tuned versions: use Fine-tune… to make one (each run of a "
            "name adds a version)")
