"""The Analysis dock: spectra, envelope with bearing markers, ISO severity and a trend.

For the selected channel over the **A–B cursor selection** (when the cursors are on) or
else the **visible span** of the main plot, the dock shows the amplitude spectrum, the
spectrogram or the envelope spectrum (band typed, or chosen by spectral kurtosis) with
bearing fault-frequency markers (BPFO, BPFI, BSF, FTF, harmonics, shaft sidebands) for a
typed shaft speed or a speed channel's median, and the span's ISO 20816-3 velocity RMS
and zone. A second tab trends RMS, peak, crest factor, kurtosis and velocity per block
across everything the session holds; clicking a block shows it in the main plot.

The UI thread only draws: every computation is a :class:`~desktop.workers.jobs.Job`
running :func:`desktop.analysis.workbench.analyse_span` or ``trend_of``; a newer request
cancels the older, and the dock recomputes when the view or the cursors have settled
(:data:`SETTLE_MS`) or on Refresh (F6). Every choice is remembered in the settings.
:func:`install_analysis` adds the dock, its menu and the next/previous alarm actions to
the main window.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.analysis.bearings import PRESETS, BearingGeometry, Marker
from desktop.analysis.errors import AnalysisError
from desktop.analysis.workbench import (
    SpanRequest,
    SpanResult,
    TrendResult,
    analyse_span,
    is_speed_channel,
    trend_of,
)
from desktop.ui.analysis_speed import SpeedControl
from desktop.ui.analysis_trend import ZONE_COLOURS, TrendView
from desktop.ui.verdict_navigation import go_to_alarm
from desktop.workers.jobs import Job

#: The view or the cursors must hold still this long before the dock recomputes (ms).
SETTLE_MS = 300
#: How often the dock looks whether the view, cursors or session changed (ms).
POLL_MS = 120
#: Following a live source, the spectrum is recomputed this often (s).
LIVE_REFRESH_S = 2.0
#: A live source's first spectrum is tried this many times (once a second) by itself.
FIRST_LIVE_TRIES = 10
CUSTOM = "custom"
HOVER_HINT = "<span style='color:#888'>Point at a peak: its frequency and nearest marker</span>"
MODE_NAMES = {"envelope": "Envelope spectrum", "spectrum": "Amplitude spectrum",
              "spectrogram": "Spectrogram"}
#: Marker families: (key, button text, colour, tooltip).
FAMILIES = (("1X", "1X", "#80B1D3", "Shaft speed and its harmonics"),
            ("FTF", "FTF", "#8DD3C7", "Cage (fundamental train) frequency"),
            ("BSF", "BSF", "#CC79A7", "Ball spin frequency, harmonics, ±FTF sidebands"),
            ("BPFO", "BPFO", "#E69F00", "Ball pass frequency, outer race, and harmonics"),
            ("BPFI", "BPFI", "#FB8072", "Ball pass frequency, inner race, and harmonics"),
            ("SB", "±1X", "#FB8072", "Shaft-speed sidebands of BPFI (dashed)"))
ZONE_MEANING = {"A": "newly commissioned", "B": "unrestricted long-term operation",
                "C": "restricted operation: plan remedial action",
                "D": "severe: vibration may cause damage"}

log = logging.getLogger(__name__)


def marker_family(name: str) -> str:
    """``2xBPFI+1X`` → ``SB``; ``BSF-FTF`` → ``BSF``; ``3X`` → ``1X``; ``BPFO`` → ``BPFO``."""
    if name.startswith(("BSF", "2xBSF", "3xBSF")) or "BSF" in name:
        return "BSF"
    if "BPFI" in name:
        return "SB" if ("+" in name or "-" in name) else "BPFI"
    if "BPFO" in name:
        return "BPFO"
    if "FTF" in name:
        return "FTF"
    return "1X"


def _spin(lo: float, hi: float, decimals: int, value: float, suffix: str = "",
          tip: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)  # recompute when the number is complete
    return box


class AnalysisPanel(QWidget):
    """The dock's widget. ``window`` is the :class:`~desktop.ui.main_window.MainWindow`
    (its ``plot``, ``session``, ``settings`` and status bar)."""

    analysed = Signal(object)  # SpanResult, drawn
    trended = Signal(object)  # TrendResult, drawn
    _job_result = Signal(object, object)  # job, result (from the job's thread)
    _job_failed = Signal(object, str)

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.settings = window.settings
        self.result: SpanResult | None = None
        self.trend: TrendResult | None = None
        self._job: Job | None = None
        self._trend_job: Job | None = None
        self._jobs: list[Job] = []
        self._seen_key: object = None
        self._requested = 0.0  # time.monotonic() of the last spectrum request
        self._trend_key: object = None
        self._first_live: object = None  # the live session whose first spectrum is drawn
        self._drawn_for: object = None  # the session whose spectrum is drawn
        self._first_tries: tuple[object, int] = (None, 0)  # (live session, tries so far)
        self._channels: tuple[Any, ...] = ()
        self._marker_items: list[pg.InfiniteLine] = []
        self._loading = True
        self._job_result.connect(self._on_result)
        self._job_failed.connect(self._on_failed)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_spectrum_tab(), "Spectrum")
        # The speed's source per file: the file's own RPM, never a typed one carried over.
        self.speed = SpeedControl(self)
        self.trend_view = TrendView(window.plot, self.settings.analysis_block_s,
                                    auto=self.settings.analysis_block_auto)
        self.trend_view.compute_requested.connect(lambda: self.compute_trend(force=True))
        self.trend_view.block_changed.connect(self._block_changed)
        self.block = self.trend_view.block
        self.tabs.addTab(self.trend_view, "Trend")
        self.tabs.currentChanged.connect(lambda _: self._poll(force_trend=False))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)

        self.settle = QTimer(self)
        self.settle.setSingleShot(True)
        self.settle.setInterval(SETTLE_MS)
        self.settle.timeout.connect(self.refresh)
        self.poller = QTimer(self)
        self.poller.setInterval(POLL_MS)
        self.poller.timeout.connect(self._poll)
        self.poller.start()
        window.installEventFilter(self)  # wind jobs down when the window closes
        self._loading = False
        self._mode_changed()

    # -- building --------------------------------------------------------------------------
    def _build_spectrum_tab(self) -> QWidget:
        s = self.settings
        page = QWidget()
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(3)

        self.channel = QComboBox()
        self.channel.setToolTip("The channel analysed")
        self.channel.currentIndexChanged.connect(self._changed)
        self.mode = QComboBox()
        for key, name in MODE_NAMES.items():
            self.mode.addItem(name, key)
        self.mode.setCurrentIndex(max(0, self.mode.findData(s.analysis_mode)))
        self.mode.setToolTip("Amplitude spectrum (Welch, RMS), envelope spectrum of a band "
                             "(bearing faults) or spectrogram")
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.refresh_button = QPushButton("⟳")
        self.refresh_button.setToolTip("Recompute now (F6)")
        self.refresh_button.setMaximumWidth(32)
        self.refresh_button.clicked.connect(self.refresh)
        grid.addWidget(QLabel("Channel"), 0, 0)
        grid.addWidget(self.channel, 0, 1, 1, 2)
        grid.addWidget(self.mode, 0, 3, 1, 4)
        grid.addWidget(self.refresh_button, 0, 7)

        self.span_label = QLabel("")
        self.span_label.setToolTip("Turn the cursors on (C) to analyse the A–B selection; "
                                   "otherwise the visible span is analysed")
        grid.addWidget(self.span_label, 1, 0, 1, 8)

        self.bearing = QComboBox()
        for preset in PRESETS:
            self.bearing.addItem(preset.designation, preset.designation)
            self.bearing.setItemData(self.bearing.count() - 1, preset.source,
                                     Qt.ItemDataRole.ToolTipRole)
        self.bearing.addItem("Custom geometry", CUSTOM)
        index = self.bearing.findData(s.analysis_bearing)
        self.bearing.setCurrentIndex(index if index >= 0 else 0)
        self.bearing.setToolTip("Bearing by designation, or your own geometry")
        self.bearing.currentIndexChanged.connect(self._bearing_changed)
        geometry = list(s.analysis_geometry) + [9, 0.3126, 1.537, 0.0][len(s.analysis_geometry):]
        self.balls = QSpinBox()
        self.balls.setRange(1, 200)
        self.balls.setValue(int(geometry[0]))
        self.balls.setToolTip("Number of rolling elements")
        self.balls.setPrefix("n ")
        self.ball_d = _spin(0.001, 1000, 4, float(geometry[1]), "", "Ball (roller) "
                            "diameter, same unit as the pitch diameter")
        self.ball_d.setPrefix("d ")
        self.pitch_d = _spin(0.001, 5000, 4, float(geometry[2]), "", "Pitch diameter")
        self.pitch_d.setPrefix("D ")
        self.angle = _spin(0, 89.9, 1, float(geometry[3]), "°", "Contact angle")
        grid.addWidget(QLabel("Bearing"), 2, 0)
        grid.addWidget(self.bearing, 2, 1, 1, 7)
        figures = QHBoxLayout()
        figures.setSpacing(3)
        for w in (self.balls, self.ball_d, self.pitch_d, self.angle):
            figures.addWidget(w, 1)
            w.valueChanged.connect(self._geometry_edited)
        self.figures = QWidget()
        self.figures.setLayout(figures)
        figures.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.figures, 3, 1, 1, 7)

        self.rpm = _spin(0, 200_000, 1, s.analysis_rpm, " rpm",
                         "Shaft speed (0: none; then only peaks are shown)")
        self.rpm.setSpecialValueText("— rpm")
        self.rpm.valueChanged.connect(self._changed)
        self.rpm_source = QComboBox()
        self.rpm_source.setToolTip("Take the shaft speed from a speed channel of the session"
                                   " (its median over the span), or type it")
        self.rpm_source.addItem("typed", "")
        self.rpm_source.currentIndexChanged.connect(self._changed)
        grid.addWidget(QLabel("Speed"), 4, 0)
        grid.addWidget(self.rpm, 4, 1, 1, 3)
        grid.addWidget(self.rpm_source, 4, 4, 1, 4)

        self.band_auto = QCheckBox("auto")
        self.band_auto.setToolTip("Choose the demodulation band by spectral kurtosis")
        self.band_auto.setChecked(s.analysis_band_auto)
        self.band_auto.toggled.connect(self._band_toggled)
        band = list(s.analysis_band) + [2000.0, 5000.0][len(s.analysis_band):]
        self.band_lo = _spin(0.1, 1e6, 0, float(band[0]), " Hz", "Band low edge")
        self.band_hi = _spin(0.1, 1e6, 0, float(band[1]), " Hz", "Band high edge")
        for box in (self.band_lo, self.band_hi):
            box.valueChanged.connect(self._changed)
        self.band_row = [QLabel("Band"), self.band_auto, self.band_lo, QLabel("–"),
                         self.band_hi]
        grid.addWidget(self.band_row[0], 5, 0)
        grid.addWidget(self.band_auto, 5, 1)
        grid.addWidget(self.band_lo, 5, 2, 1, 3)
        grid.addWidget(self.band_row[3], 5, 5)
        grid.addWidget(self.band_hi, 5, 6, 1, 2)

        self.toggles = toggles = QHBoxLayout()
        toggles.setSpacing(2)
        shown = set(s.analysis_markers.split(","))
        self.family_buttons: dict[str, QToolButton] = {}
        for key, text, colour, tip in FAMILIES:
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setChecked(key in shown)
            button.setToolTip(f"Show markers: {tip}")
            button.setStyleSheet(
                "QToolButton { color: #9e9e9e; padding: 1px 5px; }"
                f"QToolButton:checked {{ color: {colour}; font-weight: bold; "
                f"border: 1px solid {colour}; border-radius: 3px; }}")
            button.toggled.connect(self._markers_toggled)
            toggles.addWidget(button)
            self.family_buttons[key] = button
        toggles.addStretch(1)
        self.log_y = QCheckBox("log")
        self.log_y.setToolTip("Logarithmic amplitude axis")
        self.log_y.setChecked(s.analysis_log_y)
        self.log_y.toggled.connect(self._log_toggled)
        toggles.addWidget(self.log_y)

        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setMinimumHeight(150)
        self.splot = self.plot_widget.getPlotItem()
        self.splot.showGrid(x=True, y=True, alpha=0.25)
        self.splot.setLabel("bottom", "frequency", units="Hz")
        self.splot.getAxis("bottom").enableAutoSIPrefix(False)
        self.splot.setMenuEnabled(False)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen("#56B4E9", width=1))
        self.splot.addItem(self.curve)
        self.peak_dots = pg.ScatterPlotItem(size=7, symbol="t", brush=pg.mkBrush("#F0E442"),
                                            pen=None)
        self.splot.addItem(self.peak_dots)
        self.hover_dot = pg.ScatterPlotItem(size=11, symbol="o", brush=None,
                                            pen=pg.mkPen("#ffffff", width=1.5))
        self.splot.addItem(self.hover_dot)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.image.setVisible(False)
        self.splot.addItem(self.image)
        self.plot_widget.scene().sigMouseMoved.connect(self._hovered)
        self.splot.getViewBox().sigXRangeChanged.connect(self._declutter)
        self.splot.getViewBox().sigResized.connect(self._declutter)
        self.splot.getAxis("left").enableAutoSIPrefix(False)

        self.hover = QLabel(HOVER_HINT)
        self.hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        severity = QGridLayout()
        severity.setHorizontalSpacing(4)
        self.group = QComboBox()
        self.group.addItem("group 1", 1)
        self.group.addItem("group 2", 2)
        self.group.setToolTip("Machine group: 1 = large machines, 300 kW – 50 MW; "
                              "2 = medium machines, 15 – 300 kW")
        self.group.setItemData(0, "large machines, 300 kW – 50 MW",
                               Qt.ItemDataRole.ToolTipRole)
        self.group.setItemData(1, "medium machines, 15 – 300 kW", Qt.ItemDataRole.ToolTipRole)
        self.group.setCurrentIndex(max(0, self.group.findData(s.analysis_group)))
        self.foundation = QComboBox()
        self.foundation.setToolTip("Foundation of the machine set")
        for name in ("rigid", "flexible"):
            self.foundation.addItem(name, name)
        self.foundation.setCurrentIndex(max(0, self.foundation.findData(
            s.analysis_foundation)))
        self.unit = QComboBox()
        self.unit.addItem("file's unit", "")
        for name in ("g", "m/s2", "mm/s"):
            self.unit.addItem(name, name)
        self.unit.setCurrentIndex(max(0, self.unit.findData(s.analysis_unit)))
        self.unit.setToolTip("The channel's unit for severity, when the file does not say")
        for box in (self.group, self.foundation, self.unit):
            box.currentIndexChanged.connect(self._changed)
        self.zone = QLabel("")
        self.zone.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zone.setMinimumWidth(56)
        self.velocity = QLabel("")
        self.velocity.setWordWrap(True)
        self.velocity.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        title = QLabel("<b>ISO 20816-3</b>")
        title.setToolTip("Velocity RMS 10–1000 Hz of the span and its evaluation zone "
                         "(ISO 20816-3 Annex A; check your copy of the standard before "
                         "using a zone for acceptance)")
        severity.addWidget(title, 0, 0)
        severity.addWidget(self.group, 0, 1)
        severity.addWidget(self.foundation, 0, 2)
        severity.addWidget(self.unit, 0, 3)
        severity.addWidget(self.zone, 1, 0)
        severity.addWidget(self.velocity, 1, 1, 1, 3)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        column = QVBoxLayout(page)
        column.setContentsMargins(2, 2, 2, 2)
        column.setSpacing(3)
        column.addLayout(grid)
        column.addLayout(toggles)
        column.addWidget(self.plot_widget, 1)
        column.addWidget(self.hover)
        column.addWidget(self.info)
        column.addLayout(severity)
        column.addWidget(self.status)
        adjust = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        for box in page.findChildren(QComboBox):
            # Long item texts must not widen the dock: the combos share what there is.
            box.setSizeAdjustPolicy(adjust)
            box.setMinimumContentsLength(5)
            box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._bearing_changed(remember=False)
        self._band_toggled(self.band_auto.isChecked())
        return page

    # -- settings follow the controls ----------------------------------------------------
    def _remember(self) -> None:
        if self._loading:
            return
        s = self.settings
        s.analysis_mode = str(self.mode.currentData())
        s.analysis_bearing = str(self.bearing.currentData())
        s.analysis_geometry = [float(self.balls.value()), self.ball_d.value(),
                               self.pitch_d.value(), self.angle.value()]
        s.analysis_rpm = self.rpm.value() if self.rpm.isEnabled() else self.speed.typed_rpm()
        s.analysis_rpm_channel = str(self.rpm_source.currentData() or "")
        s.analysis_band_auto = self.band_auto.isChecked()
        s.analysis_band = [self.band_lo.value(), self.band_hi.value()]
        s.analysis_markers = ",".join(k for k, b in self.family_buttons.items()
                                      if b.isChecked())
        s.analysis_log_y = self.log_y.isChecked()
        s.analysis_unit = str(self.unit.currentData() or "")
        s.analysis_group = int(self.group.currentData())
        s.analysis_foundation = str(self.foundation.currentData())
        s.analysis_block_auto = self.trend_view.block_auto.isChecked()
        if not s.analysis_block_auto:
            s.analysis_block_s = self.block.value()

    def _changed(self, *_: object) -> None:
        """A control changed: remember it and recompute once the user stops."""
        self._remember()
        if not self._loading:
            self.settle.start()

    def _mode_changed(self, *_: object) -> None:
        envelope = self.mode.currentData() == "envelope"
        for w in self.band_row:
            w.setVisible(envelope)
        self.band_lo.setVisible(envelope)
        self.band_hi.setVisible(envelope)
        spectrogram = self.mode.currentData() == "spectrogram"
        for button in (*self.family_buttons.values(), self.log_y):
            button.setVisible(not spectrogram)  # markers and log are for spectra
        self._changed()

    def _band_toggled(self, auto: bool) -> None:
        self.band_lo.setEnabled(not auto)
        self.band_hi.setEnabled(not auto)
        self._changed()

    def _bearing_changed(self, *_: object, remember: bool = True) -> None:
        designation = self.bearing.currentData()
        preset = next((p for p in PRESETS if p.designation == designation), None)
        if preset is not None:
            self._loading, was = True, self._loading
            self.balls.setValue(preset.balls)
            self.ball_d.setValue(preset.ball_diameter)
            self.pitch_d.setValue(preset.pitch_diameter)
            self.angle.setValue(preset.contact_angle_deg)
            self._loading = was
        # A preset's figures are in its tooltip; your own bearing shows them to edit.
        self.figures.setVisible(preset is None)
        if preset is not None:
            self.bearing.setToolTip(f"{preset.balls} balls, d {preset.ball_diameter:g}, "
                                    f"D {preset.pitch_diameter:g}, contact angle "
                                    f"{preset.contact_angle_deg:g}° ({preset.source})")
        if remember:
            self._changed()

    def _geometry_edited(self, *_: object) -> None:
        """Editing a preset's figures makes it a custom bearing."""
        if self._loading:
            return
        if self.bearing.currentData() != CUSTOM:
            self.bearing.blockSignals(True)
            self.bearing.setCurrentIndex(self.bearing.findData(CUSTOM))
            self.bearing.blockSignals(False)
        self._changed()

    def _markers_toggled(self, *_: object) -> None:
        self._remember()
        if self.result is not None:
            self._draw_markers(self.result)

    def _log_toggled(self, on: bool) -> None:
        self._remember()
        if self.result is not None:
            self._draw(self.result)

    def _block_changed(self, *_: object) -> None:
        self._remember()
        self._trend_key = None
        if self.tabs.currentIndex() == 1:
            self.settle.start()

    # -- what to analyse -----------------------------------------------------------------
    def geometry(self) -> BearingGeometry | None:
        designation = self.bearing.currentData()
        preset = next((p for p in PRESETS if p.designation == designation), None)
        if preset is not None:
            return preset
        try:
            return BearingGeometry(self.balls.value(), self.ball_d.value(),
                                   self.pitch_d.value(), self.angle.value())
        except AnalysisError:
            return None

    def span(self) -> tuple[float, float, str] | None:
        """(t0, t1, "A–B cursors" | "visible span") in signal seconds, or None."""
        plot = self.window.plot
        if not plot.lanes:
            return None
        if plot.cursors_enabled:
            r = plot.cursor_readout()
            a, b = sorted((float(r["t_a"]), float(r["t_b"])))
            return plot.to_absolute(a), plot.to_absolute(b), "A–B cursors"
        x0, x1 = plot.lanes[0].getViewBox().viewRange()[0]
        return plot.to_absolute(x0), plot.to_absolute(x1), "visible span"

    def _sync_channels(self, channels: tuple[Any, ...]) -> None:
        if channels == self._channels:
            return
        self._channels = channels
        wanted = self.channel.currentData()
        self._loading, was = True, self._loading
        self.channel.clear()
        self.rpm_source.clear()
        self.rpm_source.addItem("typed", "")
        for ch in channels:
            text = f"{ch.name} [{ch.unit}]" if ch.unit else ch.name
            self.channel.addItem(text, ch.name)
            if is_speed_channel(ch.name, ch.unit):
                self.rpm_source.addItem(f"from {ch.name}", ch.name)
        names = [ch.name for ch in channels]
        if wanted not in names:
            wanted = next((ch.name for ch in channels
                           if not is_speed_channel(ch.name, ch.unit)), names[0] if names
                          else None)
        self.channel.setCurrentIndex(max(0, self.channel.findData(wanted)))
        self.rpm_source.setCurrentIndex(max(0, self.rpm_source.findData(
            self.settings.analysis_rpm_channel)))
        self._loading = was
        self.speed.channels_rebuilt(select=True)

    def request(self) -> SpanRequest | str:
        """The analysis the controls ask for, or a one-line reason why there is none."""
        session = self.window.session
        buffer = session.buffer if session is not None else None
        if buffer is None or buffer.written == 0:
            return "Open a recording (Ctrl+O) or connect a source to analyse it"
        self.speed.sync(session, buffer)
        self._sync_channels(tuple(buffer.channels))
        span = self.span()
        if span is None:
            return "Nothing drawn yet"
        t0, t1, how = span
        channels = list(buffer.channels)
        name = self.channel.currentData()
        column = next((i for i, ch in enumerate(channels) if ch.name == name), 0)
        channel = channels[column]
        rate = session.sample_rate()
        band = None
        if not self.band_auto.isChecked():
            band = (self.band_lo.value(), self.band_hi.value())
        rpm_name = self.rpm_source.currentData()
        rpm_column = next((i for i, ch in enumerate(channels) if ch.name == rpm_name), None)
        self._show_span(t0, t1, how)
        return SpanRequest(
            t0, t1, column, channel.name, str(self.unit.currentData() or channel.unit),
            rate, str(self.mode.currentData()), band,
            rpm=self.speed.request_rpm() if rpm_column is None else None,
            rpm_column=rpm_column, geometry=self.geometry(),
            group=int(self.group.currentData()),
            foundation=str(self.foundation.currentData()))

    def _show_span(self, t0: float, t1: float, how: str) -> None:
        plot = self.window.plot
        x0, x1 = t0 - plot.x_offset, t1 - plot.x_offset
        self.span_label.setText(f"<b>{how}</b>: {x0:.3f} – {x1:.3f} s "
                                f"({t1 - t0:.3f} s)")

    # -- running jobs ----------------------------------------------------------------------
    def _poll(self, force_trend: bool = False) -> None:
        """Recompute (after SETTLE_MS) when the view, cursors, channel or session moved."""
        session = self.window.session
        buffer = session.buffer if session is not None else None
        self.speed.sync(session, buffer)  # a new file forgets the typed speed at once
        if self.result is not None and self._drawn_for != id(session):
            self._clear_drawn()  # never the previous file's spectrum under the new name
        if not self.isVisible():
            return
        if buffer is not None and buffer.written > 0:
            self._sync_channels(tuple(buffer.channels))  # the channel box fills at once
        plot = self.window.plot
        view = plot.lanes[0].getViewBox().viewRange()[0] if plot.lanes else None
        cursors = plot.cursor_readout() if plot.cursors_enabled else None
        key = (id(session), id(buffer), buffer is not None and buffer.written > 0,
               tuple(view) if view else None,
               (cursors["t_a"], cursors["t_b"]) if cursors else None,
               None if plot.follow else plot.x_offset,
               bool(getattr(buffer, "metadata", None)))  # a file's RPM arrives once indexed
        following = plot.follow and session is not None and session.kind == "live"
        if key != self._seen_key:
            self._seen_key = key
            if following and not self.settings.analysis_live_refresh:
                # The span's samples change every frame: analyse on request only, and
                # leave the CPU to acquisition, inference and the live plot.
                self.settle.stop()
                self._say(f"Following live: F6 analyses the last {plot.span_s:g} s now; "
                          "pause (Space) or zoom to analyse a span as you move it "
                          "(Analysis menu: keep spectra current)")
            else:
                self.settle.start()
        elif (following and self.settings.analysis_live_refresh
              and self._job is None and not self.settle.isActive()
              and time.monotonic() - self._requested > LIVE_REFRESH_S):
            self.refresh()  # following a live source: the span's samples keep changing
        if (following and self._first_live != id(session) and self._job is None
                and time.monotonic() - self._requested > 1.0
                and self._first_second_in(session)):
            # The first spectrum of a live source comes by itself, once a second of
            # signal is in, tried again each second while the span is too short for it
            # (an automatic envelope band needs ~2 s), 10 tries at most; then on F6.
            tries = self._first_tries[1] + 1 if self._first_tries[0] == id(session) else 1
            self._first_tries = (id(session), tries)
            if tries <= FIRST_LIVE_TRIES:
                self.refresh()
        self.trend_view.keep_block_marked()
        if self.tabs.currentIndex() == 1 and buffer is not None and buffer.written > 0:
            self.compute_trend(force=force_trend)

    @staticmethod
    def _first_second_in(session: Any) -> bool:
        """A live session holds a second of signal (or what its rate gives): enough for
        a first spectrum with ~1 Hz bins."""
        buffer = session.buffer if session is not None else None
        rate = session.sample_rate() if session is not None else None
        return buffer is not None and bool(rate) and buffer.written >= rate

    def refresh(self) -> None:
        """Recompute the spectrum tab now (cancels a running computation)."""
        if self.tabs.currentIndex() == 1:
            self.compute_trend()
        request = self.request()
        if isinstance(request, str):
            self._say(request)
            return
        self._say(f"computing {MODE_NAMES[request.mode].lower()} of {request.channel}…")
        self._requested = time.monotonic()
        session = self.window.session
        self._job = self._start(analyse_span, session.buffer, request, name="analysis")

    def compute_trend(self, force: bool = False) -> None:
        session = self.window.session
        buffer = session.buffer if session is not None else None
        if buffer is None or buffer.written == 0:
            self.trend_view.info.setText("Open a recording (Ctrl+O) to trend it")
            return
        self._sync_channels(tuple(buffer.channels))
        name = self.channel.currentData()
        channels = list(buffer.channels)
        column = next((i for i, ch in enumerate(channels) if ch.name == name), 0)
        unit = str(self.unit.currentData() or channels[column].unit)
        rate = session.sample_rate()
        if rate:  # "auto": the block from what the session holds (~60–150 blocks)
            self.trend_view.show_auto_block(buffer.written / rate)
        key = (id(session), id(buffer), name, unit, self.block.value(),
               self.group.currentData(), self.foundation.currentData())
        if key == self._trend_key and not force:
            return
        self._trend_key = key
        self.trend_view.info.setText(f"trending {name} in blocks of {self.block.value():g} s…")
        self._trend_job = self._start(
            trend_of, buffer, column, channels[column].name, unit, session.sample_rate(),
            self.block.value(), int(self.group.currentData()),
            str(self.foundation.currentData()), name="trend")

    def _start(self, fn: Any, *args: Any, name: str) -> Job:
        previous = self._job if name == "analysis" else self._trend_job
        if previous is not None:
            previous.cancel()  # a newer request wins
        job = Job(fn, *args, name=name)
        job.worker.succeeded.connect(lambda r, job=job: self._job_result.emit(job, r))
        job.worker.failed.connect(lambda m, job=job: self._job_failed.emit(job, m))
        self._jobs = [j for j in self._jobs if j.running] + [job]
        job.start()
        return job

    def _on_result(self, job: Job, result: object) -> None:
        if isinstance(result, SpanResult) and job is self._job:
            self._job = None
            self.result = result
            self._first_live = id(self.window.session)  # a live source's first is in
            self._drawn_for = id(self.window.session)
            self.speed.label(result)
            self._draw(result)
            self.analysed.emit(result)
        elif isinstance(result, TrendResult) and job is self._trend_job:
            self._trend_job = None
            self.trend = result
            self.trend_view.draw(result)
            self.trended.emit(result)

    def _on_failed(self, job: Job, message: str) -> None:
        if job is self._job:
            self._job = None
            self._say(f"⚠ {message}")
        elif job is self._trend_job:
            self._trend_job = None
            self.trend_view.info.setText(f"⚠ {message}")

    def busy(self) -> bool:
        """A request is in flight: its answer has not been drawn (or reported) yet. Not
        "a thread runs": a job's thread ends before its queued answer reaches this one."""
        return self._job is not None or self._trend_job is not None

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Cancel every job and wait for its thread (the window is closing)."""
        self.poller.stop()
        self.settle.stop()
        for job in self._jobs:
            job.request_stop()  # cancel, and quit its thread directly (see WorkerThread)
        for job in self._jobs:
            if not job.wait(wait_ms):
                log.error("analysis job %s did not stop within %d ms",
                          job.thread.objectName(), wait_ms)
        self._jobs = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def _clear_drawn(self) -> None:
        """Forget the spectrum drawn for an earlier session (another file or source)."""
        self.result = None
        self._drawn_for = None
        for item in (self.curve, self.peak_dots, self.hover_dot):
            item.setData([], [])
        self.image.clear()
        for line in self._marker_items:
            self.splot.removeItem(line)
        self._marker_items = []
        self.info.setText("")
        self.zone.setText("")
        self.zone.setStyleSheet("")
        self.velocity.setText("")
        self.hover.setText(HOVER_HINT)

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    # -- drawing ---------------------------------------------------------------------------
    def _draw(self, r: SpanResult) -> None:
        req = r.request
        unit = req.unit
        spectrogram = r.image is not None
        self.image.setVisible(spectrogram)
        self.curve.setVisible(not spectrogram)
        self.peak_dots.setVisible(not spectrogram)
        self.hover_dot.setData([], [])
        self.hover.setText(HOVER_HINT)
        self.splot.setLogMode(x=False, y=self.log_y.isChecked() and not spectrogram)
        if spectrogram:
            assert r.freqs_hz is not None and r.image_times is not None
            db = 20 * np.log10(np.maximum(r.image, 1e-12))
            hi = float(np.percentile(db, 99.5))
            self.image.setImage(db.T, autoLevels=False, levels=(hi - 60.0, hi))
            x_offset = self.window.plot.x_offset
            times = r.image_times - x_offset
            dt = float(times[1] - times[0]) if times.size > 1 else r.duration_s
            self.image.setRect(QRectF(float(times[0]) - dt / 2, 0.0,
                                      dt * max(1, times.size), float(r.freqs_hz[-1])))
            self.splot.setLabel("bottom", "time (s)")
            self.splot.setLabel("left", "frequency", units="Hz")
            self.splot.getAxis("left").enableAutoSIPrefix(False)
            self.splot.setXRange(float(times[0]) - dt / 2, float(times[-1]) + dt / 2,
                                 padding=0)
            self.splot.setYRange(0, float(r.freqs_hz[-1]), padding=0)
            self.curve.setData([], [])
            self.peak_dots.setData([], [])
        else:
            assert r.freqs_hz is not None and r.amplitude is not None
            amp = r.amplitude
            if self.log_y.isChecked():
                amp = np.maximum(amp, max(float(np.max(amp)), 1e-300) * 1e-6)
            self.curve.setData(r.freqs_hz, amp)
            if r.peaks:
                px, py = np.array(r.peaks).T
                self.peak_dots.setData(px, np.maximum(py, float(np.min(amp))))
            else:
                self.peak_dots.setData([], [])
            what = "envelope amplitude" if req.mode == "envelope" else "amplitude"
            self.splot.setLabel("bottom", "frequency", units="Hz")
            self.splot.setLabel("left", f"{what} (RMS{', ' + unit if unit else ''})")
            self.splot.setXRange(0, r.display_fmax, padding=0.01)
            self.splot.enableAutoRange(axis="y")
        if r.band_hz is not None and self.band_auto.isChecked():
            # Show the band the kurtogram chose: unticking "auto" starts from it.
            for box, value in ((self.band_lo, r.band_hz[0]), (self.band_hi, r.band_hz[1])):
                box.blockSignals(True)
                box.setValue(round(value))
                box.blockSignals(False)
        self._draw_markers(r)
        self._draw_info(r)
        self._draw_severity(r)

    def _draw_markers(self, r: SpanResult) -> None:
        for line in self._marker_items:
            self.splot.removeItem(line)
        self._marker_items = []
        if r.image is not None:
            return
        shown = {k for k, b in self.family_buttons.items() if b.isChecked()}
        colours = {k: c for k, _t, c, _tip in FAMILIES}
        for m in r.markers:
            family = marker_family(m.name)
            if family not in shown:
                continue
            # Sidebands (BPFI±1X, BSF±FTF) are dashed and named on hover only.
            sideband = "+" in m.name or "-" in m.name
            pen = pg.mkPen(colours[family], width=1,
                           style=Qt.PenStyle.DashLine if sideband else Qt.PenStyle.SolidLine)
            opts = {} if sideband else {
                "label": m.name,
                "labelOpts": {"position": 0.95, "color": colours[family],
                              "anchors": [(0, 0.5), (0, 0.5)], "rotateAxis": None}}
            line = pg.InfiniteLine(m.freq_hz, angle=90, movable=False, pen=pen, **opts)
            line.setToolTip(f"{m.name} {m.freq_hz:.2f} Hz")
            line.setZValue(-5)
            line.marker_name = m.name  # type: ignore[attr-defined]
            self.splot.addItem(line, ignoreBounds=True)
            self._marker_items.append(line)
        self._declutter()

    def _declutter(self, *_: object) -> None:
        """Show as many marker labels as fit: fundamentals first, then harmonics, each on
        the first of four rows where it overlaps no other label; the rest are hidden
        (hovering still names them). Runs again whenever the frequency axis moves."""
        labelled = [line for line in self._marker_items if getattr(line, "label", None)]
        if not labelled:
            return
        view = self.splot.getViewBox()
        x0, x1 = view.viewRange()[0]
        px = max(1.0, view.width()) / max(x1 - x0, 1e-12)
        families = [k for k, *_ in FAMILIES]

        def rank(line: pg.InfiniteLine) -> tuple[int, int]:
            name = line.marker_name
            k = int(name[0]) if name[0].isdigit() and name[1:2] in ("x", "X") else 1
            family = marker_family(name)
            return (k, -families.index(family))

        rows: list[list[tuple[float, float]]] = [[] for _ in range(4)]
        for line in sorted(labelled, key=rank):
            label = line.label
            f = float(line.value())
            left = (f - x0) * px
            right = left + label.boundingRect().width() + 4
            place = None
            if 0 <= left <= (x1 - x0) * px:
                for k, row in enumerate(rows):
                    if all(right <= a or left >= b for a, b in row):
                        place = k
                        row.append((left, right))
                        break
            label.setVisible(place is not None)
            if place is not None:
                label.setPosition(0.95 - 0.08 * place)

    def marker_names(self) -> list[str]:
        """Names of the markers drawn now (for tests and tools)."""
        return [getattr(line, "marker_name", "") for line in self._marker_items]

    def _draw_info(self, r: SpanResult) -> None:
        req = r.request
        parts = []
        if r.peaks and r.image is None:
            f0, _a0 = r.peaks[0]
            near = self.nearest_marker(f0)
            parts.append(f"<b>strongest {f0:.1f} Hz{' ≈ ' + near[0].name if near else ''}"
                         "</b>")
        if r.band_hz is not None:
            how = (f"SK {r.kurtosis:.2f}" if r.band_source == "spectral kurtosis"
                   else "typed")
            parts.append(f"band {r.band_hz[0]:g}–{r.band_hz[1]:g} Hz ({how})")
        if r.faults is not None:
            f = r.faults
            parts.append(f"BPFI {f.bpfi:.1f} · BPFO {f.bpfo:.1f} · BSF {f.bsf:.1f} · "
                         f"FTF {f.ftf:.2f} Hz")
        elif not r.rpm:
            parts.append("type the shaft speed (or pick a speed channel) for fault markers")
        parts += r.notes
        self.info.setText(" · ".join(parts))
        speed = f", {r.rpm:g} rpm ({r.rpm_source})" if r.rpm else ""
        self._say(f"{MODE_NAMES[req.mode]} of {req.channel}: {r.duration_s:.3f} s from "
                  f"{r.start_s - self.window.plot.x_offset:.3f} s, {r.samples:,} samples, "
                  f"{r.resolution_hz:.3g} Hz bins{speed}")

    def _draw_severity(self, r: SpanResult) -> None:
        if r.velocity_mm_s is None or r.limits_mm_s is None:
            self.zone.setText("—")
            self.zone.setStyleSheet("")
            self.velocity.setText(r.severity_note)
            return
        zone = r.zone
        self.zone.setText(f"Zone {zone}")
        self.zone.setStyleSheet(f"background: {ZONE_COLOURS[zone]}; color: white; "
                                "font-weight: bold; padding: 3px 6px;")
        ab, bc, cd = r.limits_mm_s
        self.velocity.setText(f"<b>{r.velocity_mm_s:.2f} mm/s</b> RMS 10–1000 Hz — "
                              f"{ZONE_MEANING[zone]} (A&lt;{ab:g}≤B&lt;{bc:g}≤C&lt;{cd:g}≤D)")

    def severity_text(self) -> str:
        return f"{self.zone.text()} {self.velocity.text()}"

    # -- hover -----------------------------------------------------------------------------
    def nearest_marker(self, freq: float) -> tuple[Marker, float] | None:
        """The marker nearest ``freq`` within 3 % (or 2 bins), and the offset in %."""
        r = self.result
        if r is None or not r.markers:
            return None
        m = min(r.markers, key=lambda mk: abs(mk.freq_hz - freq))
        if abs(m.freq_hz - freq) > max(0.03 * m.freq_hz, 2 * r.resolution_hz):
            return None
        return m, (freq - m.freq_hz) / m.freq_hz * 100

    def describe(self, freq: float) -> str:
        """What hovering at ``freq`` shows: the peak there and the nearest marker."""
        r = self.result
        if r is None or r.freqs_hz is None or r.amplitude is None or r.image is not None:
            return ""
        f, a = r.freqs_hz, r.amplitude
        df = r.resolution_hz or 1.0
        i = int(np.clip(round(freq / df), 0, f.size - 1))
        reach = max(2, int(0.01 * r.display_fmax / df))
        lo, hi = max(0, i - reach), min(f.size, i + reach + 1)
        k = lo + int(np.argmax(a[lo:hi]))
        peak_f = float(f[k])
        if 0 < k < f.size - 1:  # parabolic refinement, as find_spectral_peaks
            y0, y1, y2 = a[k - 1], a[k], a[k + 1]
            denom = y0 - 2 * y1 + y2
            if denom:
                peak_f += float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5)) * df
        self.hover_dot.setData([peak_f], [float(a[k])])
        unit = r.request.unit
        text = f"<b>{peak_f:.2f} Hz</b> · {a[k]:.4g}{' ' + unit if unit else ''} RMS"
        near = self.nearest_marker(peak_f)
        if near is not None:
            m, off = near
            text += f" — nearest <b>{m.name}</b> {m.freq_hz:.2f} Hz ({off:+.1f} %)"
        elif r.markers:
            m = min(r.markers, key=lambda mk: abs(mk.freq_hz - peak_f))
            text += f" — no marker within 3 % (nearest {m.name} {m.freq_hz:.1f} Hz)"
        return text

    def _hovered(self, pos: object) -> None:
        if self.result is None or not self.splot.sceneBoundingRect().contains(pos):
            return
        x = self.splot.getViewBox().mapSceneToView(pos).x()
        if self.result.image is not None:
            y = self.splot.getViewBox().mapSceneToView(pos).y()
            self.hover.setText(f"{x:.3f} s · {y:.1f} Hz")
            return
        self.hover.setText(self.describe(x))


def install_analysis(window: QMainWindow) -> AnalysisPanel:
    """Add the Analysis dock, its menu and the next/previous alarm actions to ``window``
    (a :class:`~desktop.ui.main_window.MainWindow`); returns the panel."""
    panel = AnalysisPanel(window)
    dock = QDockWidget("Analysis", window)
    dock.setObjectName("analysis-dock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resizeDocks([dock], [440], Qt.Orientation.Horizontal)

    def action(text: str, shortcut: str, slot: Any, tip: str) -> QAction:
        act = QAction(text, window)
        act.setShortcut(QKeySequence(shortcut))
        act.setToolTip(f"{tip} ({shortcut})")
        act.triggered.connect(slot)
        window.addAction(act)
        return act

    toggle = dock.toggleViewAction()
    toggle.setText("Analysis dock")
    toggle.setShortcut(QKeySequence("Ctrl+Shift+A"))
    toggle.setToolTip("Spectra, envelope, bearing markers, ISO severity, trend "
                      "(Ctrl+Shift+A)")
    window.addAction(toggle)
    refresh = action("Refresh analysis", "F6", panel.refresh,
                     "Recompute the spectrum of the span now")

    def trend() -> None:
        dock.show()
        panel.tabs.setCurrentIndex(1)
        panel.compute_trend(force=True)

    trend_act = action("Trend of the whole signal", "Ctrl+T", trend,
                       "RMS, peak, crest factor, kurtosis, velocity per block")
    live = QAction("Keep spectra current while following live", window)
    live.setCheckable(True)
    live.setChecked(window.settings.analysis_live_refresh)
    live.setToolTip(f"Recompute every {LIVE_REFRESH_S:g} s while following a live source "
                    "(costs CPU beside the live plot)")
    live.toggled.connect(lambda on: setattr(window.settings, "analysis_live_refresh", on))
    previous = action("◀ Alarm", "[", lambda: go_to_alarm(window, forward=False),
                      "Previous fault span of the verdicts")
    following = action("Alarm ▶", "]", lambda: go_to_alarm(window, forward=True),
                       "Next fault span of the verdicts")
    menu = window.menuBar()
    help_menu = next((a for a in menu.actions() if a.text() == "&Help"), None)
    analysis_menu = menu.addMenu("A&nalysis")
    if help_menu is not None:
        menu.insertMenu(help_menu, analysis_menu)
    for act in (toggle, refresh, trend_act, live):
        analysis_menu.addAction(act)
    analysis_menu.addSeparator()
    analysis_menu.addAction(previous)
    analysis_menu.addAction(following)
    toolbar = window.findChild(QToolBar, "main-toolbar")
    if toolbar is not None:
        toolbar.addSeparator()
        toolbar.addAction(previous)
        toolbar.addAction(following)
    window.analysis_panel = panel  # type: ignore[attr-defined]
    window.analysis_dock = dock  # type: ignore[attr-defined]
    window.act_prev_alarm, window.act_next_alarm = previous, following  # type: ignore
    window.analysis_refresh = refresh  # type: ignore[attr-defined]
    return panel
