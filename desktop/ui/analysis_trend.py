"""The Analysis dock's Trend tab: condition indicators per block across a whole recording.

RMS, peak, crest factor, kurtosis and ISO 20816-3 velocity (coloured by zone) per block,
one point each, from :func:`desktop.analysis.workbench.trend_of` (run by the dock in a
Job). Clicking a point shows that block in the main plot and keeps it marked on the
signal lanes, also after the lanes are rebuilt.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.analysis.workbench import TrendResult

ZONE_COLOURS = {"A": "#2e7d32", "B": "#7cb342", "C": "#ef6c00", "D": "#c62828"}
#: An automatic block gives at most this many blocks (and at least 2/5 of it).
AUTO_BLOCKS = 150
#: The shortest automatic block: ISO velocity RMS (10–1000 Hz) needs 0.2 s.
AUTO_MIN_BLOCK_S = 0.2


def auto_block_s(duration_s: float) -> float:
    """A round block length (1-2-5 steps) giving 60–150 blocks over ``duration_s``, never
    under :data:`AUTO_MIN_BLOCK_S`: 10 s → 0.2 s (50 blocks), 1 h → 50 s (72)."""
    target = max(duration_s, 0.0) / AUTO_BLOCKS
    if target <= AUTO_MIN_BLOCK_S:
        return AUTO_MIN_BLOCK_S
    exponent = math.floor(math.log10(target))
    for step in (1.0, 2.0, 5.0, 10.0):
        value = round(step * 10.0 ** exponent, 6)
        if value >= target:
            return min(value, 86_400.0)
    return min(10.0 ** (exponent + 1), 86_400.0)


class TrendView(QWidget):
    """Block length, Compute, five linked trend plots and the selected block's figures.
    Emits ``compute_requested`` and ``block_changed(seconds)``; the dock runs the job."""

    compute_requested = Signal()
    block_changed = Signal(float)

    def __init__(self, plot: Any, block_s: float, parent: QWidget | None = None,
                 auto: bool = True) -> None:
        super().__init__(parent)
        self.plot = plot  # the main window's LivePlot
        self.trend: TrendResult | None = None
        self.selected_block: int | None = None
        self._block_items: list[tuple[pg.PlotItem, pg.LinearRegionItem]] = []
        row = QHBoxLayout()
        row.addWidget(QLabel("Block"))
        self.block = QDoubleSpinBox()
        self.block.setRange(0.05, 86_400)
        self.block.setDecimals(2)
        self.block.setValue(block_s)
        self.block.setSuffix(" s")
        self.block.setToolTip("Length of one trend block")
        self.block.setKeyboardTracking(False)
        self.block.valueChanged.connect(self._block_edited)
        row.addWidget(self.block)
        self.block_auto = QCheckBox("auto")
        self.block_auto.setChecked(auto)
        self.block_auto.setToolTip("Choose the block from the signal's length (60–150 "
                                   "blocks); typing a block length turns this off")
        self.block_auto.toggled.connect(lambda _on: self.block_changed.emit(
            self.block.value()))
        row.addWidget(self.block_auto)
        self._setting_auto = False
        self.trend_button = QPushButton("Compute")
        self.trend_button.setToolTip("Trend the whole signal of the channel (Ctrl+T)")
        self.trend_button.clicked.connect(self.compute_requested.emit)
        row.addWidget(self.trend_button)
        row.addStretch(1)
        self.trend_graphics = pg.GraphicsLayoutWidget()
        self.trend_plots: dict[str, pg.PlotItem] = {}
        self.trend_dots: dict[str, pg.ScatterPlotItem] = {}
        self.trend_curves: dict[str, pg.PlotCurveItem] = {}
        self.trend_marks: dict[str, pg.LinearRegionItem] = {}
        names = (("rms", "RMS"), ("peak", "peak"), ("crest_factor", "crest"),
                 ("kurtosis", "kurtosis"), ("velocity_mm_s", "v mm/s"))
        for i, (key, title) in enumerate(names):
            plot = self.trend_graphics.addPlot(row=i, col=0)
            plot.setLabel("left", title)
            plot.getAxis("left").setWidth(52)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=True, y=False)
            if i < len(names) - 1:
                plot.hideAxis("bottom")
            else:
                plot.setLabel("bottom", "time (s)")
            if self.trend_plots:
                plot.setXLink(self.trend_plots["rms"])
            curve = pg.PlotCurveItem(pen=pg.mkPen("#56B4E9", width=1))
            dots = pg.ScatterPlotItem(size=7, brush=pg.mkBrush("#56B4E9"), pen=None,
                                      hoverable=True, hoverSize=10)
            dots.sigClicked.connect(self._clicked)
            mark = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 255, 102, 60),
                                       pen=pg.mkPen("#ffff66"))
            mark.setVisible(False)
            for item in (curve, dots, mark):
                plot.addItem(item)
            self.trend_plots[key], self.trend_curves[key] = plot, curve
            self.trend_dots[key], self.trend_marks[key] = dots, mark
        self.info = QLabel("Click a block to show it in the main plot")
        self.info.setWordWrap(True)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored,
                                      QSizePolicy.Policy.Preferred)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addLayout(row)
        column.addWidget(self.trend_graphics, 1)
        column.addWidget(self.info)


    def _block_edited(self, value: float) -> None:
        if not self._setting_auto:
            self.block_auto.setChecked(False)  # a typed block is the user's choice
        self.block_changed.emit(value)

    def show_auto_block(self, duration_s: float) -> None:
        """With "auto" ticked, set the block for a signal of ``duration_s``."""
        if not self.block_auto.isChecked():
            return
        self._setting_auto = True
        self.block.blockSignals(True)
        self.block.setValue(auto_block_s(duration_s))
        self.block.blockSignals(False)
        self._setting_auto = False

    def draw(self, t: TrendResult) -> None:
        """Show ``t``: a point per block, the velocity coloured by its ISO zone."""
        self.trend = t
        self.selected_block = None
        offset = self.plot.x_offset
        centres = np.array([0.5 * (r.start_s + r.end_s) for r in t.rows]) - offset
        for key, plot in self.trend_plots.items():
            y = t.column(key)
            ok = np.isfinite(y)
            self.trend_curves[key].setData(centres[ok], y[ok])
            brushes = [pg.mkBrush(ZONE_COLOURS.get(r.zone, "#56B4E9")) if key ==
                       "velocity_mm_s" else pg.mkBrush("#56B4E9") for r in t.rows]
            self.trend_dots[key].setData(
                x=centres[ok], y=y[ok], data=np.flatnonzero(ok),
                brush=[b for b, good in zip(brushes, ok, strict=True) if good])
            self.trend_marks[key].setVisible(False)
            plot.setVisible(bool(ok.any()))
        self.trend_plots["rms"].setLabel("left", f"RMS {t.unit}".strip())
        self.trend_plots["peak"].setLabel("left", f"peak {t.unit}".strip())
        if centres.size:
            self.trend_plots["rms"].setXRange(float(t.rows[0].start_s - offset),
                                              float(t.rows[-1].end_s - offset), padding=0.02)
        for plot in self.trend_plots.values():
            plot.enableAutoRange(axis="y")
        last = "velocity_mm_s" if self.trend_plots["velocity_mm_s"].isVisible() \
            else "kurtosis"
        for key, plot in self.trend_plots.items():
            if key == last:
                plot.showAxis("bottom")
                plot.setLabel("bottom", "time (s)")
            else:
                plot.hideAxis("bottom")
        note = f" · {t.note}" if t.note else ""
        self.info.setText(f"{len(t.rows)} blocks of {t.block_s:g} s of {t.channel}; "
                                f"click one to show it in the main plot{note}")

    def _clicked(self, _item: object, points: list[Any], *_: object) -> None:
        if points:
            self.select_block(int(points[0].data()))

    def select_block(self, index: int) -> None:
        """Show trend block ``index`` in the main plot and mark it on the signal."""
        t = self.trend
        if t is None or not 0 <= index < len(t.rows):
            return
        self.selected_block = index
        row = t.rows[index]
        plot = self.plot
        plot.show_span(row.start_s, row.end_s)
        offset = plot.x_offset
        for mark in self.trend_marks.values():
            mark.setRegion((row.start_s - offset, row.end_s - offset))
            mark.setVisible(True)
        self.keep_block_marked(force=True)
        zone = f", {row.velocity_mm_s:.2f} mm/s zone {row.zone}" if row.zone else ""
        self.info.setText(
            f"<b>block {index + 1}</b> of {len(t.rows)}: {row.start_s - offset:.2f}–"
            f"{row.end_s - offset:.2f} s · RMS {row.rms:.4g} · peak {row.peak:.4g} · "
            f"crest {row.crest_factor:.2f} · kurtosis {row.kurtosis:.2f}{zone}")

    def keep_block_marked(self, force: bool = False) -> None:
        """The selected block stays drawn on the signal lanes (they are rebuilt when the
        channels or the layout change)."""
        plot = self.plot
        lanes = list(plot.lanes)
        current = [p for p, _ in self._block_items]
        if not force and current == lanes and (self.selected_block is not None) == bool(
                self._block_items):
            return
        for lane, region in self._block_items:
            if region.scene() is not None:
                lane.removeItem(region)
        self._block_items = []
        if self.selected_block is None or self.trend is None:
            return
        row = self.trend.rows[self.selected_block]
        for lane in lanes:
            region = pg.LinearRegionItem(
                (row.start_s - plot.x_offset, row.end_s - plot.x_offset), movable=False,
                brush=pg.mkBrush(255, 255, 102, 40), pen=pg.mkPen("#ffff66", width=1))
            region.setZValue(-20)
            lane.addItem(region, ignoreBounds=True)
            self._block_items.append((lane, region))
