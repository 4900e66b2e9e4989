"""The running quality chart: each class's share of the last N parts with its 3σ limits
(a p-chart per class), a marker where a share crosses its upper limit; for a process model
the anomaly score per sample with its limit (score 1) and a marker on alarmed samples.

It only draws what the worker computed (:class:`~desktop.ml.tabular.spc.PChart` runs in
the worker): each row carries ``chart`` (quality) or ``score``/``alarm`` (process).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

#: One colour per class, in the model's class order (shared with the parts table).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MAX_POINTS = 2000


def class_colour(classes: list[str], cls: str) -> QColor:
    i = classes.index(cls) if cls in classes else len(classes)
    return QColor(PALETTE[i % len(PALETTE)])


class PChartWidget(pg.PlotWidget):
    """Call :meth:`configure` when a model loads, :meth:`add_rows` with its rows."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202020")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.kind = ""
        self.classes: list[str] = []
        self.focus: str | None = None
        self.x: list[int] = []
        self.shares: dict[str, list[float]] = {}
        self.upper: dict[str, list[float]] = {}
        self.lower: dict[str, list[float]] = {}
        self.scores: list[float] = []
        self.crossings: list[tuple[int, float, str]] = []  # (part, share, class)
        self.alarms: list[tuple[int, float]] = []
        self._count = 0
        self._legend = None

    # -- data ----------------------------------------------------------------------------
    def configure(self, kind: str, classes: list[str], window: int = 50) -> None:
        self.kind, self.classes = kind, list(classes)
        self.focus = None
        self.window = window
        self.clear_data()

    def clear_data(self) -> None:
        self.x, self.scores, self.crossings, self.alarms = [], [], [], []
        self.shares = {c: [] for c in self.classes}
        self.upper = {c: [] for c in self.classes}
        self.lower = {c: [] for c in self.classes}
        self._count = 0
        self._redraw()

    def set_focus(self, cls: str | None) -> None:
        """Show one class with its centre and both limits (None: every class)."""
        self.focus = cls if cls in self.classes else None
        self._redraw()

    def add_rows(self, rows: list[dict]) -> None:
        for row in rows:
            self._count += 1
            n = self._count
            if self.kind == "quality" and row.get("chart"):
                chart = row["chart"]
                self.x.append(n)
                for c in self.classes:
                    self.shares[c].append(chart["shares"].get(c, 0.0))
                    self.upper[c].append(chart["upper"].get(c, 1.0))
                    self.lower[c].append(chart["lower"].get(c, 0.0))
                for c in chart.get("crossed", []):
                    self.crossings.append((n, chart["shares"][c], c))
            elif self.kind == "process":
                self.x.append(n)
                score = row.get("score")
                self.scores.append(np.nan if score is None else float(score))
                if row.get("alarm"):
                    self.alarms.append((n, self.scores[-1]))
        self._trim()
        self._redraw()

    def _trim(self) -> None:
        extra = len(self.x) - MAX_POINTS
        if extra <= 0:
            return
        first = self.x[extra]
        del self.x[:extra]
        if self.kind == "process":
            del self.scores[:extra]
        for series in (self.shares, self.upper, self.lower):
            for c in series:
                del series[c][:extra]
        self.crossings = [p for p in self.crossings if p[0] >= first]
        self.alarms = [p for p in self.alarms if p[0] >= first]

    # -- drawing -------------------------------------------------------------------------
    def _redraw(self) -> None:
        item = self.getPlotItem()
        item.clear()
        if self._legend is not None:
            self._legend.scene() and self._legend.scene().removeItem(self._legend)
            self._legend = None
        if not self.x:
            item.setTitle("waiting for parts…" if self.kind == "quality" else "")
            return
        x = np.asarray(self.x, dtype=float)
        if self.kind == "process":
            item.setTitle("anomaly score per sample (limit = 1; red: alarm)")
            item.setLabel("left", "score")
            item.setLabel("bottom", "sample")
            item.plot(x, np.asarray(self.scores), pen=pg.mkPen("#90caf9", width=1))
            item.addLine(y=1.0, pen=pg.mkPen("#ef5350", style=Qt.PenStyle.DashLine))
            if self.alarms:
                a = np.asarray(self.alarms)
                item.plot(a[:, 0], a[:, 1], pen=None, symbol="o", symbolSize=5,
                          symbolBrush="#ef5350", symbolPen=None)
            return
        item.setTitle(f"share of each class over the last {self.window} parts; dashed: "
                      f"upper 3σ limit; ▲ a limit crossed")
        item.setLabel("left", "share")
        item.setLabel("bottom", "part")
        self._legend = item.addLegend(offset=(5, 5), labelTextSize="7pt")
        shown = [self.focus] if self.focus else self.classes
        for c in shown:
            colour = class_colour(self.classes, c)
            item.plot(x, np.asarray(self.shares[c]), pen=pg.mkPen(colour, width=2), name=c)
            item.plot(x, np.asarray(self.upper[c]),
                      pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
            if self.focus:
                item.plot(x, np.asarray(self.lower[c]),
                          pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine))
        marks = [p for p in self.crossings if p[2] in shown]
        if marks:
            item.plot([p[0] for p in marks], [p[1] for p in marks], pen=None, symbol="t1",
                      symbolSize=12, symbolBrush="#ff1744", symbolPen="w")
        item.setYRange(0, 1, padding=0.02)
