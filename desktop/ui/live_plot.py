"""Live plots: one lane per channel (or all overlaid), a shared time axis, Δt/Δy cursors.

Drawing only: the widget never reads a device or a file. Each frame it asks the ring
buffer for a *view* of the visible time span already reduced to ≤ 2 points per pixel
column (``RingBuffer.view``), and hands those few thousand points to curves that were
created once. x is float64 (pyqtgraph is ~10 000× slower on float32 x lookups).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from desktop.analysis.decimate import gaps_to_nan
from desktop.core.types import ChannelSpec
from desktop.streams.sample_view import SampleView
from desktop.ui.label_regions import LabellingViewBox, LabelRegions
from desktop.ui.lane_curve import LaneCurve
from desktop.ui.verdict_lane import MAX_VERDICTS, VerdictLane

# Colour-blind-safe, readable on the dark plot background (Okabe-Ito + extras).
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#FFFFFF", "#8DD3C7", "#FB8072", "#80B1D3", "#FDB462", "#B3DE69", "#FCCDE5",
           "#BC80BD", "#CCEBC5"]


def default_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


class LivePlot(QWidget):
    """Lanes of curves fed from a :class:`~desktop.streams.sample_view.SampleView` (a ring
    buffer live, a file's view) by :meth:`draw` (called by the frame timer)."""

    follow_changed = Signal(bool)
    cursors_moved = Signal()  # dragged, moved by code, switched on or off
    label_span_drawn = Signal(float, float)  # signal times of a new span (label mode)
    label_edited = Signal(int, float, float)  # event id, new start, new end
    label_selected = Signal(int)
    #: The lanes' x range moved (pan, zoom, zoom to fit, a jump) or the lanes were rebuilt.
    #: Following live, the range stays put while the data moves: see ``frame_drawn``.
    view_changed = Signal()
    #: ``draw`` drew a frame with data (the window's frame tick, up to 60 Hz).
    frame_drawn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background="#1e1e1e", foreground="#d0d0d0")
        self.graphics = pg.GraphicsLayoutWidget()
        self.readout = QLabel("")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setWordWrap(True)
        self.readout.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.readout)
        layout.addWidget(self.graphics, 1)
        self.channels: tuple[ChannelSpec, ...] = ()
        self.mode = "lanes"
        self.colours: dict[str, str] = {}
        self.visible: dict[str, bool] = {}
        self.lanes: list[pg.PlotItem] = []
        self.curves: list[pg.PlotCurveItem] = []
        self._curve_lane: list[int] = []
        self.span_s = 10.0
        self.follow = True
        self.paused = False
        self.autoscale = True
        self.sample_rate: float | None = None
        self._cursors: list[tuple[pg.InfiniteLine, pg.InfiniteLine]] = []
        self._cursor_pos = (0.0, 0.0)
        self._syncing = False
        self._applying_range = False
        self.last_time: float | None = None
        # x on screen = signal time - x_offset (float64 all the way; see draw()).
        self.x_offset = 0.0
        self._follow_range: tuple[float, float] | None = None
        self._buffer: SampleView | None = None
        self.verdicts: list[dict] = []
        self.label_mode = False
        self.labels = LabelRegions(self.label_edited.emit, self.label_selected.emit)
        self.show_verdicts = False
        self.verdict_lane: VerdictLane | None = None
        #: Times are Unix epoch seconds (a file with ISO/epoch timestamps): date-time axis.
        self.wall_clock = False
        #: Overrides the time axis title when not following (e.g. a file's own seconds).
        self.axis_title = ""

    # -- layout --------------------------------------------------------------------------
    def configure(self, channels: tuple[ChannelSpec, ...], mode: str,
                  colours: dict[str, str], visible: dict[str, bool]) -> None:
        """Build lanes and curves once for these channels (rebuilt only when they change)."""
        self.channels = tuple(channels)
        self.mode = mode if mode in ("lanes", "overlay") else "lanes"
        self.colours = {ch.name: colours.get(ch.name, default_colour(i))
                        for i, ch in enumerate(channels)}
        self.visible = {ch.name: visible.get(ch.name, True) for ch in channels}
        cursors_on = bool(self._cursors)
        # Paused, nothing redraws by itself: keep the span shown and draw it once more below.
        kept_x = (self.lanes[0].getViewBox().viewRange()[0] if self.paused and self.lanes
                  else None)
        self.graphics.clear()
        self.lanes, self.curves, self._curve_lane, self._cursors = [], [], [], []
        self.lane_autoscale: list[bool] = []
        shown = [ch for ch in channels if self.visible[ch.name]]
        lane_count = 1 if self.mode == "overlay" else max(1, len(shown))
        self._add_lanes(lane_count)
        # Linked once every lane is in: linked while adding, each lane's layout pass resized
        # every lane before it and each resize re-ran every linked view (64 lanes: 1.8 s → 1.3 s
        # standalone, 4 s in the window at start-up).
        for plot in self.lanes[1:]:
            plot.setXLink(self.lanes[0])
        # the lanes are x-linked: the first one's range is the view's
        self.lanes[0].getViewBox().sigXRangeChanged.connect(self._x_range_changed)
        self.lane_autoscale = [self.autoscale] * len(self.lanes)
        if self.mode == "overlay" and shown:
            self.lanes[0].addLegend(offset=(10, 5), labelTextSize="8pt")
        self.labels.attach(self.lanes)
        self.verdict_lane = None
        if self.show_verdicts:
            self.lanes[-1].hideAxis("bottom")
            vplot = self.graphics.addPlot(row=lane_count, col=0,
                                          axisItems=self._time_axis_items())
            vplot.getAxis("left").setWidth(64)
            vplot.getAxis("bottom").enableAutoSIPrefix(False)
            vplot.setXLink(self.lanes[0])
            vplot.getViewBox().sigRangeChangedManually.connect(self._user_moved_view)
            self.verdict_lane = VerdictLane(vplot, self.verdicts)
        lane_of = {ch.name: (0 if self.mode == "overlay" else k) for k, ch in enumerate(shown)}
        for ch in channels:
            lane = lane_of.get(ch.name, 0)
            pen = pg.mkPen(self.colours[ch.name], width=1)
            curve = LaneCurve(pen=pen, name=_label(ch))
            curve.setVisible(self.visible[ch.name])
            if self.visible[ch.name]:
                self.lanes[lane].addItem(curve)
                if self.mode == "lanes":
                    self.lanes[lane].setLabel("left", ch.name, units=ch.unit or None)
            self.curves.append(curve)
            self._curve_lane.append(lane)
        self._follow_range = None
        self._label_time_axis()
        if kept_x is not None:
            self._set_x(float(kept_x[0]), float(kept_x[1]))
        if cursors_on:
            self.set_cursors(True)
        self.view_changed.emit()
        if self.paused:
            self.redraw()

    def _add_lanes(self, lane_count: int) -> None:
        """Add ``lane_count`` plot lanes (one per shown channel, or one overlay lane)."""
        for i in range(lane_count):
            view = LabellingViewBox()
            view.label_mode = self.label_mode
            view.on_span = self._span_drawn
            plot = self.graphics.addPlot(row=i, col=0, viewBox=view,
                                         axisItems=self._time_axis_items())
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setClipToView(False)
            plot.setDownsampling(auto=False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(64)
            for side in ("left", "bottom"):
                # Axes change rarely: draw them from a pixmap cache instead of replaying
                # their text every frame (the biggest cost of a 16-lane frame otherwise).
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            # Seconds stay seconds: an SI prefix would re-render the label on every scroll.
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            if i < lane_count - 1:
                plot.hideAxis("bottom")  # one time axis, under the last lane: 15 fewer repaints
            plot.getViewBox().sigRangeChangedManually.connect(self._user_moved_view)
            # Our own y autoscale with hysteresis (see _autoscale): pyqtgraph's would move
            # the range, and repaint the axis, on every frame of a noisy signal.
            plot.enableAutoRange(axis="y", enable=False)
            plot.enableAutoRange(axis="x", enable=False)
            self.lanes.append(plot)

    def _x_range_changed(self, *_: object) -> None:
        self.view_changed.emit()

    def _time_axis_items(self) -> dict[str, pg.AxisItem]:
        """Wall-clock files get pyqtgraph's date-time axis (local time) instead of
        ticks like ``1.79594e+09``; x is then the epoch time itself (x_offset 0)."""
        if self.wall_clock and not self.follow:
            self.x_offset = 0.0
            return {"bottom": pg.DateAxisItem(orientation="bottom")}
        return {}

    def set_autoscale(self, on: bool, lane: int | None = None) -> None:
        """Autoscale y on all lanes, or on one lane only."""
        if lane is None:
            self.autoscale = on
            self.lane_autoscale = [on] * len(self.lanes)
        elif 0 <= lane < len(self.lane_autoscale):
            self.lane_autoscale[lane] = on

    def _autoscale(self, lane: int, lo: float, hi: float) -> None:
        """Fit the lane to its data's finite ``lo``…``hi``, but only when the data leaves
        the range or shrinks to under half of it, so the axis does not twitch (and repaint)
        every frame."""
        view = self.lanes[lane].getViewBox()
        cur_lo, cur_hi = view.viewRange()[1]
        span = max(hi - lo, 1e-12)
        if lo < cur_lo or hi > cur_hi or span < 0.5 * (cur_hi - cur_lo):
            pad = 0.08 * span if hi > lo else max(abs(hi) * 0.1, 1.0)
            view.setYRange(lo - pad, hi + pad, padding=0)

    # -- view control --------------------------------------------------------------------
    def _user_moved_view(self, *_: object) -> None:
        if self.follow and not self._applying_range:
            self.follow = False
            self.follow_changed.emit(False)

    def set_follow(self, on: bool) -> None:
        self.follow = on
        self._follow_range = None
        self._label_time_axis()
        self.follow_changed.emit(on)

    def _label_time_axis(self) -> None:
        if not self.lanes:
            return
        text = ("time (s, 0 = newest sample)" if self.follow
                else "local time" if self.wall_clock
                else self.axis_title if self.axis_title
                else "time (s)" if self.x_offset == 0 else "time (s, relative)")
        axis_owner = self.verdict_lane.plot if self.verdict_lane else self.lanes[-1]
        axis_owner.setLabel("bottom", text)

    def to_absolute(self, x: float) -> float:
        """Signal time of a position on the plot's x axis."""
        return x + self.x_offset

    def zoom_to_fit(self, buffer: SampleView | None = None) -> None:
        """Show the whole history (of ``buffer``, else the last one drawn) and autoscale."""
        if buffer is not None:
            self._buffer = buffer
        buffer = self._buffer
        if buffer is None or not self.lanes or buffer.written == 0:
            return
        snap = buffer.latest(1)
        oldest = buffer.sample_at(float("-inf"))  # not latest(): a file may hold 10 GB
        if snap.times.size and oldest is not None:
            self._set_x(oldest[0] - self.x_offset, float(snap.times[-1]) - self.x_offset)
        self.set_autoscale(True)
        if self.paused:
            self.redraw()

    def set_view_range(self, x0: float, x1: float) -> None:
        """Show ``[x0, x1]`` (plot x) and autoscale: the overview strip's "go there"."""
        self._set_x(x0, x1)
        self.set_autoscale(True)

    def _set_x(self, x0: float, x1: float) -> None:
        self._applying_range = True
        try:
            self.lanes[0].setXRange(x0, x1, padding=0)
        finally:
            self._applying_range = False

    # -- drawing ---------------------------------------------------------------------------
    def redraw(self) -> bool:
        """Draw the last buffer once more, paused or not (the lanes were rebuilt or the
        range changed while the view is paused); True if a frame was drawn."""
        return self.draw(self._buffer, force=True) if self._buffer is not None else False

    def draw(self, buffer: SampleView, force: bool = False) -> bool:
        """Redraw from ``buffer`` (not while paused, unless ``force``); returns True if a
        frame with data was drawn."""
        self._buffer = buffer
        if (self.paused and not force) or not self.lanes or buffer.written == 0:
            return False
        if buffer.channels != self.channels:
            return False  # the window reconfigures first (channels appeared)
        newest = buffer.latest(1)
        if newest.times.size == 0:
            return False
        t_last = float(newest.times[-1])
        self.last_time = t_last
        if self.follow:
            # Following live, x is "seconds before the newest sample": the view range stays
            # put, so no axis or linked view is recomputed per frame, only the curves move.
            self.x_offset = t_last
            if self._follow_range != (-self.span_s, 0.0):
                self._follow_range = (-self.span_s, 0.0)
                self._set_x(-self.span_s, 0.0)
        off = self.x_offset
        x0, x1 = self.lanes[0].getViewBox().viewRange()[0]
        width = int(self.lanes[0].getViewBox().width()) or 800
        snap = buffer.view(x0 + off, x1 + off, width)
        if snap.times.size == 0:
            for curve in self.curves:
                curve.setData([], [])
            self.frame_drawn.emit()
            return True
        times, values = gaps_to_nan(snap.times - off, snap.values,
                                    max(5.0 * self._raw_step(buffer), 3.0 * (x1 - x0) / width))
        lane_bounds: dict[int, tuple[float, float]] = {}
        for i, curve in enumerate(self.curves):
            if not curve.isVisible() or i >= values.shape[1]:
                continue
            y = values[:, i]
            if np.isnan(y).any():
                bounds = curve.set_lane_data(times, y, connect="finite")
            else:
                bounds = curve.set_lane_data(times, y, connect="all", skipFiniteCheck=True)
            if bounds is not None:
                lane = self._curve_lane[i]
                old = lane_bounds.get(lane)
                lane_bounds[lane] = bounds if old is None else (min(old[0], bounds[0]),
                                                                max(old[1], bounds[1]))
        for lane, (lo, hi) in lane_bounds.items():
            if self.lane_autoscale[lane]:
                self._autoscale(lane, lo, hi)
        self.labels.follow(off)
        if self.verdict_lane is not None:
            self.verdict_lane.draw(off, x0, x1)
        if self._cursors:
            self._update_readout()
        self.frame_drawn.emit()
        return True

    def _span_drawn(self, lo: float, hi: float) -> None:
        self.label_span_drawn.emit(lo + self.x_offset, hi + self.x_offset)

    def set_label_mode(self, on: bool) -> None:
        """Left-drag marks a span (on) or pans (off)."""
        self.label_mode = on
        for plot in self.lanes:
            plot.getViewBox().label_mode = on

    def show_span(self, start: float, end: float) -> None:
        """Jump to an event: stop following and frame it with a margin."""
        self.set_follow(False)
        margin = max(0.2 * (end - start), 0.05)
        self._set_x(start - margin - self.x_offset, end + margin - self.x_offset)

    def add_verdicts(self, verdicts: list[dict]) -> None:
        """New model answers (in time order); the oldest are forgotten past a cap."""
        self.verdicts.extend(verdicts)
        if len(self.verdicts) > MAX_VERDICTS:
            del self.verdicts[: len(self.verdicts) - MAX_VERDICTS]

    def clear_verdicts(self) -> None:
        self.verdicts.clear()

    def _raw_step(self, buffer: SampleView) -> float:
        """Seconds between samples: nominal, or measured from the newest raw samples."""
        if buffer.sample_rate:
            return 1.0 / buffer.sample_rate
        recent = buffer.latest(256).times
        if recent.size < 2:
            return 0.0
        return float(np.median(np.diff(recent)))

    # -- cursors ---------------------------------------------------------------------------
    def set_cursors(self, on: bool) -> None:
        """Show/hide two vertical cursors with a Δt, 1/Δt and per-channel value readout."""
        for plot, pair in zip(self.lanes, self._cursors, strict=False):
            for line in pair:
                plot.removeItem(line)
        self._cursors = []
        self.readout.setVisible(on)
        if not on or not self.lanes:
            self.cursors_moved.emit()  # the span analysed is the visible one again
            return
        x0, x1 = self.lanes[0].getViewBox().viewRange()[0]
        if self._cursor_pos == (0.0, 0.0) or not (x0 <= self._cursor_pos[0] <= x1):
            self._cursor_pos = (x0 + (x1 - x0) / 3, x0 + 2 * (x1 - x0) / 3)
        for plot in self.lanes:
            made: list[pg.InfiniteLine] = []
            for k, colour in enumerate(("#ffff66", "#66ffff")):
                line = pg.InfiniteLine(self._cursor_pos[k], angle=90, movable=True,
                                       pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                                       label="AB"[k], labelOpts={"position": 0.95,
                                                                 "color": colour})
                line.sigPositionChanged.connect(lambda ln, k=k: self._cursor_dragged(k, ln))
                plot.addItem(line, ignoreBounds=True)
                made.append(line)
            self._cursors.append((made[0], made[1]))
        self._update_readout()
        self.cursors_moved.emit()

    @property
    def cursors_enabled(self) -> bool:
        return bool(self._cursors)

    def move_cursors(self, a: float, b: float) -> None:
        self._cursor_pos = (a, b)
        for pair in self._cursors:
            pair[0].setValue(a)
            pair[1].setValue(b)
        self._update_readout()

    def _cursor_dragged(self, k: int, line: pg.InfiniteLine) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            pos = list(self._cursor_pos)
            pos[k] = float(line.value())
            self._cursor_pos = (pos[0], pos[1])
            for pair in self._cursors:
                if pair[k] is not line:
                    pair[k].setValue(pos[k])
        finally:
            self._syncing = False
        self._update_readout()
        self.cursors_moved.emit()

    def cursor_readout(self) -> dict[str, object]:
        """Δt, 1/Δt and each channel's value at both cursors (what the label shows)."""
        a, b = self._cursor_pos
        dt = b - a
        out: dict[str, object] = {"t_a": a, "t_b": b, "dt": dt,
                                  "freq": (1.0 / abs(dt)) if dt else None, "values": {}}
        if self._buffer is None:
            return out
        va = self._buffer.sample_at(self.to_absolute(a))
        vb = self._buffer.sample_at(self.to_absolute(b))
        if va is None or vb is None:
            return out
        values = {}
        for i, ch in enumerate(self._buffer.channels):
            if i < va[1].size and i < vb[1].size:
                values[ch.name] = (float(va[1][i]), float(vb[1][i]))
        out["values"] = values
        return out

    def _update_readout(self) -> None:
        r = self.cursor_readout()
        dt = float(r["dt"])  # type: ignore[arg-type]
        freq = r["freq"]
        parts = [f"<b>Δt</b> {_si(dt, 's')}",
                 f"<b>1/Δt</b> {_si(float(freq), 'Hz') if freq else '—'}"]  # type: ignore[arg-type]
        units = {ch.name: ch.unit for ch in self.channels}
        for name, (ya, yb) in r["values"].items():  # type: ignore[attr-defined]
            colour = self.colours.get(name, "#ffffff")
            parts.append(f"<span style='color:{colour}'>{name}</span> A {ya:.4g} · B {yb:.4g}"
                         f" · Δ {yb - ya:.4g} {units.get(name, '')}")
        self.readout.setText(" &nbsp;|&nbsp; ".join(parts))


def _label(ch: ChannelSpec) -> str:
    return f"{ch.name} [{ch.unit}]" if ch.unit else ch.name


def _si(value: float, unit: str) -> str:
    """12.5 ms, 3.2 kHz … readable at a glance."""
    mag = abs(value)
    for factor, prefix in ((1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ")):
        if mag >= factor or factor == 1e-6:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"
