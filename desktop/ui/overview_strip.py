"""The overview strip under the plots of an opened file: the whole file at a glance, the
current view marked on it, click or drag to go there, and a "Go to" box.

It reads the same file view the plots do (``view(t0, t1, pixels)`` over the whole file,
a few thousand points from the min/max pyramid), redrawn about once a second while the
file is still being indexed and once when it is done. Its x axis is the main plot's
(seconds from the start of the recording, or wall-clock time).
"""

from __future__ import annotations

import datetime as dt
import re
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget

STRIP_HEIGHT = 64
REFRESH_S = 1.0
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d*)?)$")


def parse_goto(text: str, first_time: float, wall_clock: bool) -> float:
    """The signal time a "Go to" entry names, for a file starting at ``first_time``.

    ``12.5`` is seconds from the start; ``1:02:03`` / ``02:03.5`` is a duration from the
    start, or — for a wall-clock file — a local time of day (``10:32:05``, ``10:32``) on
    the recording's first day (the next day when that is before the start);
    ``2026-11-29 10:32:05`` (or with ``T``) a local date and time. Raises ValueError for
    anything else.
    """
    text = text.strip()
    if not text:
        raise ValueError("type seconds, hh:mm:ss or a date and time")
    try:
        return first_time + float(text)
    except ValueError:
        pass
    m = _CLOCK.match(text)
    if m:
        if wall_clock and m.group(1) is None:  # "08:30" on a clock is hh:mm
            hours, minutes, seconds = int(m.group(2)), float(m.group(3)), 0.0
        else:
            hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), float(m.group(3))
        offset = hours * 3600 + minutes * 60 + seconds
        if not wall_clock:
            return first_time + offset
        start = dt.datetime.fromtimestamp(first_time).astimezone()
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        target = day + dt.timedelta(seconds=offset)
        if target < start - dt.timedelta(seconds=1):
            target += dt.timedelta(days=1)
        return target.timestamp()
    try:
        when = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"'{text}' is not seconds, hh:mm:ss or a date and time") from None
    if when.tzinfo is None:
        when = when.astimezone()  # a wall clock on this PC: local time
    return when.timestamp()


class _StripView(pg.ViewBox):
    """No zoom or pan of its own: a click asks to go there."""

    def __init__(self, on_click: object) -> None:
        super().__init__(enableMouse=False, enableMenu=False)
        self._on_click = on_click

    def mouseClickEvent(self, ev: object) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            ev.accept()  # type: ignore[attr-defined]
            self._on_click(self.mapSceneToView(ev.scenePos()).x())  # type: ignore[attr-defined,operator]


class OverviewStrip(QWidget):
    """See the module doc. ``range_requested(x0, x1)``: show this span (plot x)."""

    range_requested = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_box = _StripView(self._clicked)
        self.graphics = pg.PlotWidget(viewBox=self.view_box)
        self.graphics.setFixedHeight(STRIP_HEIGHT)
        self.graphics.hideAxis("left")
        self.graphics.getPlotItem().setMenuEnabled(False)
        self.graphics.getPlotItem().hideButtons()
        self.graphics.getAxis("bottom").enableAutoSIPrefix(False)
        self.graphics.setToolTip("The whole file: click to go there, drag the band to move")
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 40),
                                          pen=pg.mkPen("#ffffff", width=1))
        self.region.setZValue(10)
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        self.graphics.addItem(self.region)
        self.goto = QLineEdit()
        self.goto.setPlaceholderText("s, hh:mm:ss or date")
        self.goto.setToolTip("Go to: seconds from the start, hh:mm:ss (a duration, or the "
                             "time of day of a wall-clock file) or a date and time")
        self.goto.setMaximumWidth(170)
        self.goto.returnPressed.connect(self._goto)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 2)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(QLabel("Go to"))
        layout.addWidget(self.goto)
        self.curves: list[pg.PlotCurveItem] = []
        self.buffer: object | None = None
        self.x_offset = 0.0
        self.wall_clock = False
        self.colours: list[str] = []
        self._drawn_at = 0.0
        self._drawn_complete = False
        self._setting = False
        self._span = (0.0, 1.0)
        self.message = ""

    # -- what it shows ----------------------------------------------------------------------
    def set_file(self, buffer: object, x_offset: float, wall_clock: bool,
                 colours: list[str]) -> None:
        """Show this file view (plot x = signal time - ``x_offset``)."""
        self.buffer, self.x_offset, self.wall_clock = buffer, x_offset, wall_clock
        self.colours = colours
        self.graphics.getPlotItem().setAxisItems(
            {"bottom": pg.DateAxisItem(orientation="bottom") if wall_clock
             else pg.AxisItem(orientation="bottom")})
        self._drawn_at, self._drawn_complete = 0.0, False
        self.refresh()

    def clear(self) -> None:
        self.buffer = None
        for curve in self.curves:
            self.graphics.removeItem(curve)
        self.curves = []

    def tick(self, x_range: tuple[float, float]) -> None:
        """Per frame: mark the plot's span; redraw the file while it is being indexed."""
        if self.buffer is None or not self.isVisible():
            return
        complete = bool(getattr(self.buffer, "complete", True))
        if not self._drawn_complete and (complete or
                                         time.monotonic() - self._drawn_at >= REFRESH_S):
            self.refresh()
        if x_range != self._span:
            self._span = x_range
            self._setting = True
            try:
                self.region.setRegion(x_range)
            finally:
                self._setting = False

    def refresh(self) -> None:
        buffer = self.buffer
        if buffer is None:
            return
        self._drawn_at = time.monotonic()
        self._drawn_complete = bool(getattr(buffer, "complete", True))
        rng = buffer.time_range()  # type: ignore[attr-defined]
        if rng is None:
            return
        width = max(100, int(self.view_box.width()) or 800)
        snap = buffer.view(rng[0], rng[1], width)  # type: ignore[attr-defined]
        values = snap.values
        n_ch = values.shape[1] if values.ndim == 2 else 0
        while len(self.curves) < n_ch:
            colour = self.colours[len(self.curves) % len(self.colours)] if self.colours else "#ccc"
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1))
            self.graphics.addItem(curve)
            self.curves.append(curve)
        x = snap.times - self.x_offset
        for j, curve in enumerate(self.curves):
            if j >= n_ch or x.size == 0:
                curve.setData([], [])
                continue
            y = values[:, j].astype(np.float64)
            with np.errstate(invalid="ignore"):
                lo, hi = np.nanmin(y) if np.isfinite(y).any() else 0.0, np.nanmax(y) \
                    if np.isfinite(y).any() else 1.0
            y = (y - lo) / (hi - lo) if hi > lo else np.full_like(y, 0.5)
            curve.setData(x, y, connect="finite")
        self.view_box.setRange(xRange=(rng[0] - self.x_offset, rng[1] - self.x_offset),
                               yRange=(-0.05, 1.05), padding=0)

    # -- going places -----------------------------------------------------------------------
    def _clicked(self, x: float) -> None:
        half = (self._span[1] - self._span[0]) / 2
        self.range_requested.emit(x - half, x + half)

    def _region_moved(self) -> None:
        if self._setting:
            return
        x0, x1 = self.region.getRegion()
        self._span = (float(x0), float(x1))
        self.range_requested.emit(float(x0), float(x1))

    def _goto(self) -> None:
        buffer = self.buffer
        if buffer is None:
            return
        rng = buffer.time_range()  # type: ignore[attr-defined]
        if rng is None:
            return
        try:
            t = parse_goto(self.goto.text(), rng[0], self.wall_clock)
        except ValueError as exc:
            self.message = str(exc)
            self.goto.setStyleSheet("background: #5a1f1f;")
            self.goto.setToolTip(str(exc))
            return
        self.message = ""
        self.goto.setStyleSheet("")
        half = (self._span[1] - self._span[0]) / 2
        x = t - self.x_offset
        self.range_requested.emit(x - half, x + half)
