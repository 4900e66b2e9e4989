"""The labels panel: every labelled event, filterable, with jump-to and delete."""

from __future__ import annotations

from pathlib import PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ["start (s)", "duration (s)", "class", "note", "recording", "author"]
NOTE_COLUMN, RECORDING_COLUMN = 3, 4


class LabelsPanel(QWidget):
    """Shows events; emits ``jump_requested(id)`` on double-click, ``delete_requested(id)``."""

    jump_requested = Signal(int)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: class, note or recording")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)  # one line per event; full texts are in tooltips
        self.table.cellDoubleClicked.connect(lambda row, _c: self._emit(row, self.jump_requested))
        delete = QPushButton("Delete")
        delete.setToolTip("Delete the selected event (Del); undo with Ctrl+Z")
        delete.clicked.connect(self._delete_selected)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(delete)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.table)

    def set_events(self, events: list[object]) -> None:
        self.table.setRowCount(len(events))
        for row, e in enumerate(events):
            recording = str(e.recording)  # type: ignore[attr-defined]
            values = [f"{e.start_s:.3f}", f"{e.end_s - e.start_s:.3f}", e.label,  # type: ignore[attr-defined]
                      e.note, PurePath(recording).name or recording, e.author]  # type: ignore[attr-defined]
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.ItemDataRole.UserRole, e.id)  # type: ignore[attr-defined]
                if col == RECORDING_COLUMN:
                    item.setToolTip(recording)  # the full path; the cell shows the file name
                    item.setData(Qt.ItemDataRole.UserRole + 1, recording)
                elif col == NOTE_COLUMN:
                    item.setToolTip(str(value))
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self._apply_filter(self.filter.text())

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row in range(self.table.rowCount()):
            item = self.table.item(row, RECORDING_COLUMN)
            path = str(item.data(Qt.ItemDataRole.UserRole + 1) or "")
            hay = " ".join([self.table.item(row, 2).text(), self.table.item(row, 3).text(),
                            path]).lower()
            self.table.setRowHidden(row, bool(needle) and needle not in hay)

    def _emit(self, row: int, signal: Signal) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            signal.emit(int(item.data(Qt.ItemDataRole.UserRole)))  # type: ignore[attr-defined]

    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return int(self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    def _delete_selected(self) -> None:
        event_id = self.selected_id()
        if event_id is not None:
            self.delete_requested.emit(event_id)

    def visible_rows(self) -> int:
        return sum(not self.table.isRowHidden(r) for r in range(self.table.rowCount()))
