"""The Analysis dock: spectra, envelope with bearing markers, ISO severity and a trend.

For the selected channel over the **A–B cursor selection** (when the cursors are on) or
else the **visible span** of the main plot, the dock shows the amplitude spectrum, the
spectrogram or the envelope spectrum (band typed, or chosen by spectral kurtosis) with
bearing fault-frequency markers (BPFO, BPFI, BSF, FTF, harmonics, shaft sidebands) for a
typed shaft speed or a speed channel's median, and the span's ISO 20816-3 velocity RMS
and zone. A second tab trends RMS, peak, crest factor, kurtosis and velocity per block
across everything the session holds; clicking a block shows it in the main plot.

The dock composes its parts: the controls (``analysis_controls``), the spectrum view
(``analysis_views``), the trend view (``analysis_trend``) and the requests and their jobs
(``analysis_requests``). The UI thread only draws. The dock **reacts to the plot**: a
change of its view range or cursors (``LivePlot.view_changed`` / ``cursors_moved``) or of a
control restarts a single-shot timer, and the dock recomputes once they have settled
(:data:`SETTLE_MS`), or on Refresh (F6). The plot's frame tick (``LivePlot.frame_drawn``)
is the update path for what moves without a range signal: another session, a file whose
stored speed arrives once indexed, and a live source followed (its first spectrum, and
every :data:`LIVE_REFRESH_S` when "keep spectra current" is on). It compares a few
identities per frame; nothing is requested while nothing changed. Every choice is
remembered in the settings. :func:`install_analysis` adds the dock, its menu and the
next/previous alarm actions to the main window.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QGridLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.analysis.bearings import BearingGeometry, Marker
from desktop.analysis.workbench import SpanRequest, SpanResult, TrendResult
from desktop.ui.analysis_controls import MODE_NAMES, AnalysisControls
from desktop.ui.analysis_requests import AnalysisJobs, column_of, span_of, span_request
from desktop.ui.analysis_trend import TrendView
from desktop.ui.analysis_views import SpectrumView
from desktop.ui.dock_context import DockContext, dock_context
from desktop.ui.verdict_navigation import go_to_alarm

#: The view or the cursors must hold still this long before the dock recomputes (ms).
SETTLE_MS = 300
#: Following a live source, the spectrum is recomputed this often (s).
LIVE_REFRESH_S = 2.0
#: A live source's first spectrum is tried this many times (once a second) by itself.
FIRST_LIVE_TRIES = 10

log = logging.getLogger(__name__)


class AnalysisPanel(QWidget):
    """The dock's widget, given what it needs of the window as a :class:`DockContext`
    (the plot, the session, the settings, the status bar, the window as Qt parent)."""

    analysed = Signal(object)  # SpanResult, drawn
    trended = Signal(object)  # TrendResult, drawn

    def __init__(self, ctx: DockContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.settings = ctx.settings
        self.trend: TrendResult | None = None
        self._seen_key: object = None  # what the frame tick saw last (session, data…)
        self._seen_view: object = None  # the view range, cursors and follow last seen
        self._requested = 0.0  # time.monotonic() of the last spectrum request
        self._trend_key: object = None
        self._first_live: object = None  # the live session whose first spectrum is drawn
        self._drawn_for: object = None  # the session whose spectrum is drawn
        self._first_tries: tuple[object, int] = (None, 0)  # (live session, tries so far)

        self.controls = c = AnalysisControls(ctx.settings, ctx.session, self)
        self.view = v = SpectrumView(self)
        self.jobs = AnalysisJobs(self)
        # The parts' widgets, by the names the window, the Diagnosis dock and tests use.
        self.channel, self.mode, self.bearing = c.channel, c.mode, c.bearing
        self.balls, self.ball_d, self.pitch_d, self.angle = c.balls, c.ball_d, c.pitch_d, \
            c.angle
        self.rpm, self.rpm_source, self.speed = c.rpm, c.rpm_source, c.speed
        self.band_auto, self.band_lo, self.band_hi = c.band_auto, c.band_lo, c.band_hi
        self.family_buttons, self.log_y, self.span_label = c.family_buttons, c.log_y, \
            c.span_label
        self.group, self.foundation, self.unit = c.group, c.foundation, c.unit
        self.refresh_button = c.refresh_button
        self.plot_widget, self.splot, self.curve = v.plot_widget, v.splot, v.curve
        self.peak_dots, self.hover_dot, self.image = v.peak_dots, v.hover_dot, v.image
        self.hover, self.info, self.zone, self.velocity, self.status = \
            v.hover, v.info, v.zone, v.velocity, v.status

        self.tabs = QTabWidget()
        self.tabs.addTab(self._spectrum_page(), "Spectrum")
        self.trend_view = TrendView(ctx.plot, self.settings.analysis_block_s,
                                    auto=self.settings.analysis_block_auto)
        self.trend_view.compute_requested.connect(self._trend_now)
        self.trend_view.block_changed.connect(self._block_changed)
        self.block = self.trend_view.block
        self.tabs.addTab(self.trend_view, "Trend")
        self.tabs.currentChanged.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)

        self.settle = QTimer(self)
        self.settle.setSingleShot(True)
        self.settle.setInterval(SETTLE_MS)
        self.settle.timeout.connect(self.refresh)
        c.changed.connect(self._changed)
        c.markers_toggled.connect(self._markers_toggled)
        c.log_toggled.connect(self._log_toggled)
        c.refresh_button.clicked.connect(self.refresh)
        self.jobs.spectrum.succeeded.connect(self._on_spectrum)
        self.jobs.spectrum.failed.connect(self._on_spectrum_failed)
        self.jobs.trend.succeeded.connect(self._on_trend)
        self.jobs.trend.failed.connect(self._on_trend_failed)
        plot = ctx.plot
        plot.view_changed.connect(self._view_moved)
        plot.cursors_moved.connect(self._view_moved)
        plot.follow_changed.connect(self._view_moved)
        plot.frame_drawn.connect(self._frame)
        ctx.parent.installEventFilter(self)  # wind jobs down when the window closes
        c.loading = False
        c.mode_changed()

    def _spectrum_page(self) -> QWidget:
        c, v = self.controls, self.view
        severity = QGridLayout()
        severity.setHorizontalSpacing(4)
        title = QLabel("<b>ISO 20816-3</b>")
        title.setToolTip("Velocity RMS 10–1000 Hz of the span and its evaluation zone "
                         "(ISO 20816-3 Annex A; check your copy of the standard before "
                         "using a zone for acceptance)")
        severity.addWidget(title, 0, 0)
        severity.addWidget(c.group, 0, 1)
        severity.addWidget(c.foundation, 0, 2)
        severity.addWidget(c.unit, 0, 3)
        severity.addWidget(v.zone, 1, 0)
        severity.addWidget(v.velocity, 1, 1, 1, 3)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(2, 2, 2, 2)
        column.setSpacing(3)
        column.addLayout(c.grid)
        column.addLayout(c.toggles)
        column.addWidget(v.plot_widget, 1)
        column.addWidget(v.hover)
        column.addWidget(v.info)
        column.addLayout(severity)
        column.addWidget(v.status)
        adjust = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        for box in page.findChildren(QComboBox):
            # Long item texts must not widen the dock: the combos share what there is.
            box.setSizeAdjustPolicy(adjust)
            box.setMinimumContentsLength(5)
            box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return page

    # -- the parts, as the window, the Diagnosis dock and tests read them ----------------
    @property
    def result(self) -> SpanResult | None:
        """The spectrum drawn now (None: none)."""
        return self.view.result

    @property
    def _marker_items(self) -> list[pg.InfiniteLine]:
        return self.view._marker_items

    def geometry(self) -> BearingGeometry | None:  # type: ignore[override]
        """The bearing chosen (a preset or typed figures); None when it is not one."""
        return self.controls.geometry()

    def marker_names(self) -> list[str]:
        return self.view.marker_names()

    def nearest_marker(self, freq: float) -> tuple[Marker, float] | None:
        return self.view.nearest_marker(freq)

    def describe(self, freq: float) -> str:
        return self.view.describe(freq)

    def severity_text(self) -> str:
        return self.view.severity_text()

    def span(self) -> tuple[float, float, str] | None:
        """(t0, t1, "A–B cursors" | "visible span") in signal seconds, or None."""
        return span_of(self.ctx.plot)

    def busy(self) -> bool:
        """A request is in flight: its answer has not been drawn (or reported) yet."""
        return self.jobs.busy()

    # -- settings follow the controls ----------------------------------------------------
    def _remember(self) -> None:
        if self.controls.loading:
            return
        self.controls.remember()
        s = self.settings
        s.analysis_block_auto = self.trend_view.block_auto.isChecked()
        if not s.analysis_block_auto:
            s.analysis_block_s = self.block.value()

    def _changed(self) -> None:
        """A control changed: remember it and recompute once the user stops."""
        self._remember()
        if not self.controls.loading:
            self.settle.start()

    def _markers_toggled(self) -> None:
        self._remember()
        self.view.draw_markers(self._shown())

    def _log_toggled(self) -> None:
        self._remember()
        if self.view.result is not None:
            self._draw(self.view.result)

    def _block_changed(self, *_: object) -> None:
        self._remember()
        self._trend_key = None
        if self.tabs.currentIndex() == 1:
            self.settle.start()

    def _shown(self) -> set[str]:
        return {k for k, b in self.controls.family_buttons.items() if b.isChecked()}

    # -- when to recompute: the plot's signals and its frame tick ------------------------
    def _following_live(self) -> bool:
        session = self.ctx.session()
        return self.ctx.plot.follow and session is not None and session.kind == "live"

    def _view_key(self) -> tuple[object, ...]:
        plot = self.ctx.plot
        view = tuple(plot.lanes[0].getViewBox().viewRange()[0]) if plot.lanes else None
        cursors = plot.cursor_readout() if plot.cursors_enabled else None
        return (view, (cursors["t_a"], cursors["t_b"]) if cursors else None, plot.follow)

    def _view_moved(self, *_: object) -> None:
        """The view range or the cursors moved: recompute once they settle (nothing when
        they are where they were, e.g. the lanes were rebuilt over the same range)."""
        self.trend_view.keep_block_marked()  # the lanes may have been rebuilt
        key = self._view_key()
        if key == self._seen_view:
            return
        self._seen_view = key
        if not self.isVisible():
            self._seen_key = None  # looked at again when the dock shows
            return
        self._schedule()

    def _schedule(self) -> None:
        if self._following_live() and not self.settings.analysis_live_refresh:
            # The span's samples change every frame: analyse on request only, and leave
            # the CPU to acquisition, inference and the live plot.
            self.settle.stop()
            self._say(f"Following live: F6 analyses the last {self.ctx.plot.span_s:g} s "
                      "now; pause (Space) or zoom to analyse a span as you move it "
                      "(Analysis menu: keep spectra current)")
        else:
            self.settle.start()

    def _frame(self) -> None:
        """The plot drew a frame: look (a few identity checks) for what moves without a
        range signal — another session, a file's speed once indexed, a live source."""
        session = self.ctx.session()
        buffer = session.buffer if session is not None else None
        self.speed.sync(session, buffer)  # a new file forgets the typed speed at once
        if self.view.result is not None and self._drawn_for != id(session):
            self._clear_drawn()  # never the previous file's spectrum under the new name
        if not self.isVisible():
            return
        has_data = buffer is not None and buffer.written > 0
        if buffer is not None and has_data:
            self.controls.sync_channels(tuple(buffer.channels))  # the box fills at once
        plot = self.ctx.plot
        key = (id(session), id(buffer), has_data, None if plot.follow else plot.x_offset,
               bool(getattr(buffer, "metadata", None)))  # a file's RPM arrives once indexed
        following = plot.follow and session is not None and session.kind == "live"
        idle = not self.jobs.spectrum.running
        if key != self._seen_key:
            self._seen_key = key
            self._schedule()
        elif (following and self.settings.analysis_live_refresh and idle
              and not self.settle.isActive()
              and time.monotonic() - self._requested > LIVE_REFRESH_S):
            self.refresh()  # following a live source: the span's samples keep changing
        if (following and self._first_live != id(session) and idle
                and time.monotonic() - self._requested > 1.0
                and self._first_second_in(session)):
            # The first spectrum of a live source comes by itself, once a second of
            # signal is in, tried again each second while the span is too short for it
            # (an automatic envelope band needs ~2 s), 10 tries at most; then on F6.
            tries = self._first_tries[1] + 1 if self._first_tries[0] == id(session) else 1
            self._first_tries = (id(session), tries)
            if tries <= FIRST_LIVE_TRIES:
                self.refresh()
        if self.tabs.currentIndex() == 1 and has_data:
            self.compute_trend()  # keyed: nothing is started while nothing changed

    def _tab_changed(self, index: int) -> None:
        session = self.ctx.session()
        buffer = session.buffer if session is not None else None
        if index == 1 and buffer is not None and buffer.written > 0:
            self.compute_trend()  # the Trend tab shows the trend of what is open at once

    @staticmethod
    def _first_second_in(session: Any) -> bool:
        """A live session holds a second of signal (or what its rate gives): enough for
        a first spectrum with ~1 Hz bins."""
        buffer = session.buffer if session is not None else None
        rate = session.sample_rate() if session is not None else None
        return buffer is not None and bool(rate) and buffer.written >= rate

    # -- requests ------------------------------------------------------------------------
    def request(self) -> SpanRequest | str:
        """The analysis the controls ask for, or a one-line reason why there is none."""
        answer = span_request(self.controls, self.ctx.session(), self.ctx.plot)
        if isinstance(answer, str):
            return answer
        request, how = answer
        self._show_span(request.t0, request.t1, how)
        return request

    def _show_span(self, t0: float, t1: float, how: str) -> None:
        off = self.ctx.plot.x_offset
        self.span_label.setText(f"<b>{how}</b>: {t0 - off:.3f} – {t1 - off:.3f} s "
                                f"({t1 - t0:.3f} s)")

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
        self.jobs.start_spectrum(self.ctx.session().buffer, request)

    def _trend_now(self) -> None:
        self.compute_trend(force=True)

    def compute_trend(self, force: bool = False) -> None:
        """Trend the channel over everything the session holds (unless the same trend is
        drawn or running, or ``force``)."""
        session = self.ctx.session()
        buffer = session.buffer if session is not None else None
        if buffer is None or buffer.written == 0:
            self.trend_view.info.setText("Open a recording (Ctrl+O) to trend it")
            return
        c = self.controls
        c.sync_channels(tuple(buffer.channels))
        name = c.channel.currentData()
        channels = list(buffer.channels)
        column = column_of(channels, name)
        unit = str(c.unit.currentData() or channels[column].unit)
        rate = session.sample_rate()
        if rate:  # "auto": the block from what the session holds (~60–150 blocks)
            self.trend_view.show_auto_block(buffer.written / rate)
        key = (id(session), id(buffer), name, unit, self.block.value(),
               c.group.currentData(), c.foundation.currentData())
        if key == self._trend_key and not force:
            return
        self._trend_key = key
        self.trend_view.info.setText(f"trending {name} in blocks of {self.block.value():g} s…")
        self.jobs.start_trend(buffer, column, channels[column].name, unit, rate,
                              self.block.value(), int(c.group.currentData()),
                              str(c.foundation.currentData()))

    def _on_spectrum(self, result: object) -> None:
        if not isinstance(result, SpanResult):
            return
        session = self.ctx.session()
        self._first_live = id(session)  # a live source's first is in
        self._drawn_for = id(session)
        self.speed.label(result)
        self._draw(result)
        self.analysed.emit(result)

    def _on_spectrum_failed(self, message: str) -> None:
        self._say(f"⚠ {message}")

    def _on_trend(self, result: object) -> None:
        if isinstance(result, TrendResult):
            self.trend = result
            self.trend_view.draw(result)
            self.trended.emit(result)

    def _on_trend_failed(self, message: str) -> None:
        self.trend_view.info.setText(f"⚠ {message}")

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Cancel every job and wait for its thread (the window is closing)."""
        self.settle.stop()
        if not self.jobs.shutdown(wait_ms):
            log.error("analysis jobs did not stop within %d ms", wait_ms)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.ctx.parent and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    # -- drawing ---------------------------------------------------------------------------
    def _clear_drawn(self) -> None:
        """Forget the spectrum drawn for an earlier session (another file or source)."""
        self._drawn_for = None
        self.view.clear()

    def _say(self, text: str) -> None:
        self.view.say(text)

    def _draw(self, r: SpanResult) -> None:
        c = self.controls
        self.view.draw(r, c.log_y.isChecked(), self._shown(), self.ctx.plot.x_offset)
        if r.band_hz is not None and c.band_auto.isChecked():
            # Show the band the kurtogram chose: unticking "auto" starts from it.
            for box, value in ((c.band_lo, r.band_hz[0]), (c.band_hi, r.band_hz[1])):
                box.blockSignals(True)
                box.setValue(round(value))
                box.blockSignals(False)


def install_analysis(window: QMainWindow) -> AnalysisPanel:
    """Add the Analysis dock, its menu and the next/previous alarm actions to ``window``
    (a :class:`~desktop.ui.main_window.MainWindow`); returns the panel."""
    ctx = dock_context(window)
    panel = AnalysisPanel(ctx)
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
    def refresh_now() -> None:
        dock.show()  # a closed dock's answer would land out of sight
        dock.raise_()
        panel.refresh()

    refresh = action("Refresh analysis", "F6", refresh_now,
                     "Recompute the spectrum of the span now")

    def trend() -> None:
        dock.show()
        panel.tabs.setCurrentIndex(1)
        panel.compute_trend(force=True)

    trend_act = action("Trend of the whole signal", "Ctrl+T", trend,
                       "RMS, peak, crest factor, kurtosis, velocity per block")
    live = QAction("Keep spectra current while following live", window)
    live.setCheckable(True)
    live.setChecked(ctx.settings.analysis_live_refresh)
    live.setToolTip(f"Recompute every {LIVE_REFRESH_S:g} s while following a live source "
                    "(costs CPU beside the live plot)")
    live.toggled.connect(lambda on: setattr(ctx.settings, "analysis_live_refresh", on))
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
