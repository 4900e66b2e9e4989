"""Edit an alarm rules file in a table: one row per rule, the CSV's columns (an old
eight-column file gains the three optional ones, empty, when saved).

**Save** checks the rules exactly as a rules file is checked when it is loaded
(:func:`desktop.alarms.rulefile.read_rules`): a bad cell is shown in one line (file, line,
column, what to write) and nothing is written; good rules replace the file atomically and
the dialog is accepted, so the caller can start judging with them.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.alarms.rules import HEADER, RulesError
from desktop.core.atomic import atomic_write_text

EXAMPLE = ("bearing hot", "bearing_temp", "high", "85", "5", "3", "alarm", "yes")


class RulesDialog(QDialog):
    """The rules of ``path`` (a new file when it does not exist yet), editable."""

    def __init__(self, path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path).expanduser()
        self.setWindowTitle(f"Alarm rules — {self.path.name}")
        self.resize(820, 360)
        self.table = QTableWidget(0, len(HEADER))
        self.table.setHorizontalHeaderLabels(list(HEADER))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("kind: high, low, rate (limit a number), zone (B/C/D; class "
                              "2/rigid or a machine), baseline (alert/alarm; machine), class "
                              "(least probability; class), score · indicator: rms, peak, "
                              "crest_factor, kurtosis, vel_rms per 1-s block · delay_s: "
                              "seconds the condition must hold · hysteresis: how far back "
                              "past the limit before it clears · latch: yes = up until "
                              "acknowledged")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828")
        add = QPushButton("Add rule")
        add.clicked.connect(lambda: self.add_row(EXAMPLE if not self.table.rowCount()
                                                 else ("",) * len(HEADER)))
        remove = QPushButton("Remove rule")
        remove.clicked.connect(self._remove_selected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.error.setText(f"cannot read {self.path}: {exc}")
            return
        rows = [r for r in csv.reader(text.splitlines())
                if r and "".join(r).strip() and not r[0].lstrip().startswith("#")]
        for cells in rows[1:]:  # the header first
            self.add_row(tuple(cells[:len(HEADER)]) + ("",) * (len(HEADER) - len(cells)))

    def add_row(self, cells: tuple[str, ...]) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, text in enumerate(cells):
            self.table.setItem(row, col, QTableWidgetItem(text))

    def _remove_selected(self) -> None:
        for index in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(index)

    def csv_text(self) -> str:
        """The table as a rules file."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        for row in range(self.table.rowCount()):
            cells = []
            for col in range(len(HEADER)):
                item = self.table.item(row, col)
                cells.append(item.text().strip() if item is not None else "")
            if any(cells):
                writer.writerow(cells)
        return out.getvalue()

    def save(self) -> bool:
        """Check and write the rules; True when written (the dialog is then accepted)."""
        text = self.csv_text()
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / self.path.name
            probe.write_text(text, encoding="utf-8")
            try:
                # the rules file reader pulls in scipy (ISO zones): not on the way to the first draw
                from desktop.alarms.rulefile import read_rules

                read_rules(probe)
            except RulesError as exc:  # name the file being edited, not the probe
                self.error.setText(str(exc).replace(str(probe), self.path.name))
                return False
        try:
            atomic_write_text(self.path, text)
        except OSError as exc:
            self.error.setText(f"cannot write {self.path}: {exc.strerror or exc}")
            return False
        self.error.setText("")
        self.accept()
        return True
