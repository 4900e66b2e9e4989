"""The Diagnosis dock's evidence table: every harmonic searched in the envelope spectrum.

One row per (fault, harmonic order): frequency found, SNR over the local noise floor (and
the fault that claimed the line, if another did), and "PRESENT"/"absent" on the first
order. Lines found are bold in their fault's colour (the Analysis dock's marker colours);
the rest grey. Faults present come first, then by score.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from desktop.ui.diagnosis_run import DiagnosisOutcome

#: Star and row colours of the lines found, as the Analysis dock's marker families.
FAULT_COLOURS = {"BPFO": "#E69F00", "BPFI": "#FB8072", "BSF": "#CC79A7", "FTF": "#8DD3C7"}


class EvidenceTable(QTableWidget):
    """Fault, Order, Freq Hz, SNR dB, Present — filled by :meth:`fill`."""

    def __init__(self) -> None:
        super().__init__(0, 5)
        self.setHorizontalHeaderLabels(["Fault", "Order", "Freq Hz", "SNR dB", "Present"])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setToolTip("Every harmonic searched (±2 % slip) in the envelope "
                        "spectrum: a line counts when it stands its threshold above "
                        "the local noise floor; a fault is present with ≥ 2 lines "
                        "(or one strong line with its sideband)")
        self.setMinimumHeight(120)

    def fill(self, outcome: DiagnosisOutcome) -> None:
        """One row per harmonic of every fault of ``outcome``'s overall verdict."""
        faults = sorted(outcome.overall.faults, key=lambda f: (not f.present, -f.score))
        rows = [(f, h) for f in faults for h in f.harmonics]
        self.setRowCount(len(rows))
        grey = QBrush(QColor("#8a8a8a"))
        for r, (f, h) in enumerate(rows):
            snr = "—" if not math.isfinite(h.snr_db) else f"{h.snr_db:.1f}"
            if h.claimed_by:
                snr += f" ({h.claimed_by})"
            cells = (f.name, f"{h.order}×", f"{h.freq_hz:.2f}", snr,
                     ("PRESENT" if f.present else "absent") if h.order == 1 else "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if h.found:
                    item.setForeground(QBrush(QColor(FAULT_COLOURS.get(f.name, "#ffffff"))))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                else:
                    item.setForeground(grey)
                item.setToolTip(f"{f.name} {h.order}× expected {h.expected_hz:.2f} Hz, peak "
                                f"{h.freq_hz:.2f} Hz, {snr} dB over the local floor "
                                f"(threshold {h.threshold_db:.1f} dB); fault score "
                                f"{f.score:.1f}")
                self.setItem(r, c, item)

    def rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row (for tests and tools)."""
        out = []
        for r in range(self.rowCount()):
            cells = [self.item(r, c) for c in range(self.columnCount())]
            out.append(tuple(cell.text() if cell is not None else "" for cell in cells))
        return out
