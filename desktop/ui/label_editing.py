"""Creating, editing and deleting labelled events, with undo/redo.

Every change goes through a QUndoCommand that writes the label store, so Ctrl+Z undoes
exactly one user gesture. A deleted event that is restored gets a new row id from the
store; the ``aliases`` map lets older commands still find it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QShowEvent, QUndoCommand
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from desktop.labels.event import LabelEvent
from desktop.labels.store import LabelStore


class LabelHistory:
    """The store plus the id aliases that undo needs; ``changed`` refreshes the views."""

    def __init__(self, store: LabelStore, changed: Callable[[], None]) -> None:
        self.store = store
        self.changed = changed
        self.aliases: dict[int, int] = {}

    def resolve(self, event_id: int) -> int:
        while event_id in self.aliases:
            event_id = self.aliases[event_id]
        return event_id


class AddLabel(QUndoCommand):
    def __init__(self, history: LabelHistory, event: LabelEvent) -> None:
        super().__init__(f"add label {event.label}")
        self.history = history
        self.event = event
        self.first_id: int | None = None

    def redo(self) -> None:
        added = self.history.store.add(dataclasses.replace(self.event, id=None))
        if self.first_id is None:
            self.first_id = added.id
        elif added.id != self.first_id:
            self.history.aliases[self.history.resolve(self.first_id)] = int(added.id)
        self.event = added
        self.history.changed()

    def undo(self) -> None:
        assert self.event.id is not None
        self.history.store.delete(self.history.resolve(self.event.id))
        self.history.changed()


class DeleteLabel(QUndoCommand):
    def __init__(self, history: LabelHistory, event_id: int) -> None:
        super().__init__("delete label")
        self.history = history
        self.event_id = event_id
        self.deleted: LabelEvent | None = None

    def redo(self) -> None:
        self.deleted = self.history.store.delete(self.history.resolve(self.event_id))
        self.history.changed()

    def undo(self) -> None:
        assert self.deleted is not None
        restored = self.history.store.add(dataclasses.replace(self.deleted, id=None))
        self.history.aliases[self.history.resolve(self.event_id)] = int(restored.id)
        self.history.changed()


class EditLabel(QUndoCommand):
    """Change span, class or note of one event (one drag of an edge = one command)."""

    def __init__(self, history: LabelHistory, event_id: int, **changes: object) -> None:
        super().__init__("edit label")
        self.history = history
        self.event_id = event_id
        self.changes = changes
        self.before: dict[str, object] = {}

    def _apply(self, values: dict[str, object]) -> None:
        current = self.history.store.get(self.history.resolve(self.event_id))
        if not self.before:
            self.before = {k: getattr(current, k) for k in self.changes}
        self.history.store.update(dataclasses.replace(current, **values))
        self.history.changed()

    def redo(self) -> None:
        self._apply(self.changes)

    def undo(self) -> None:
        self._apply(self.before)


class LabelDialog(QDialog):
    """Pick a class (the model's, the most used, or a new one) and add a note."""

    def __init__(self, classes: list[str], start_s: float, end_s: float,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label event")
        self.label = QComboBox()
        self.label.setEditable(True)
        self.label.addItems(classes)
        self.label.setToolTip("Pick a class or type a new one")
        # The pre-filled class is selected: typing replaces it (Enter keeps it).
        self.label.lineEdit().installEventFilter(self)
        self.label.setFocus()
        self.note = QLineEdit()
        self.note.setPlaceholderText("What happened? (optional)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel(f"{start_s:.3f} s – {end_s:.3f} s ({end_s - start_s:.3f} s)"))
        form.addRow("Class", self.label)
        form.addRow("Note", self.note)
        form.addRow(buttons)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.label.setFocus(Qt.FocusReason.OtherFocusReason)
        self.label.lineEdit().selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Focus on the class box selects its text (a click would otherwise place the
        cursor after ``normal`` and typing would append to it)."""
        if watched is self.label.lineEdit() and event.type() == QEvent.Type.FocusIn:
            QTimer.singleShot(0, self.label.lineEdit().selectAll)
        return super().eventFilter(watched, event)
