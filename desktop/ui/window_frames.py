"""The window's frame clock: the one QTimer that draws, targeting 60 Hz and backing off
to 20 Hz when frames get expensive, the status updates (4×/s) and the frame measurement
behind ``linewatch --measure`` and Help → Diagnostics.

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`, a ``draw()`` that draws one frame and
says whether anything was drawn, and a ``status()`` to call 4×/s).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

from desktop.ui.frame_stats import FrameStats
from desktop.ui.window_context import WindowContext

TARGET_INTERVAL_MS = 16  # ~60 Hz
SLOWEST_INTERVAL_MS = 50  # 20 Hz under load
STATUS_EVERY_S = 0.25


class FrameClock(QObject):
    """Paces the frames and measures them; :attr:`measured` carries :meth:`measurement`."""

    measured = Signal(dict)

    def __init__(self, ctx: WindowContext, draw: Callable[[], bool],
                 status: Callable[[], None], started: float | None = None) -> None:
        super().__init__(ctx.parent)
        self.ctx = ctx
        self._draw, self._status = draw, status
        self.stats = FrameStats(started)
        self._status_tick = 0.0
        self._slow_frames = 0
        self._measure_deadline: float | None = None
        self._measure_dialog = False
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TARGET_INTERVAL_MS)
        self.timer.timeout.connect(self.tick)

    def tick(self) -> None:
        """One frame: draw, count its cost, adapt the interval, the status 4×/s, and end
        a measurement that is due."""
        started = time.perf_counter()
        drew = self._draw()
        cost_ms = (time.perf_counter() - started) * 1000.0
        self.stats.frame(drew, cost_ms)
        self._adapt(cost_ms)
        if started - self._status_tick >= STATUS_EVERY_S:
            self._status_tick = started
            self._status()
        if self._measure_deadline is not None and started >= self._measure_deadline:
            self._finish_measure()

    def verdicts_drawn(self, arrivals: list[float]) -> None:
        """Verdicts that arrived at these ``time.monotonic()`` times are on screen now:
        their arrival-to-drawn latency (ms) joins the statistics."""
        now = time.monotonic()
        self.stats.verdict_latency_ms.extend((now - t) * 1000.0 for t in arrivals)

    def _adapt(self, cost_ms: float) -> None:
        """60 Hz while frames are cheap; back off towards 20 Hz when they are not."""
        interval = self.timer.interval()
        if cost_ms > 0.6 * interval:
            self._slow_frames += 1
            if self._slow_frames >= 5 and interval < SLOWEST_INTERVAL_MS:
                self.timer.setInterval(min(SLOWEST_INTERVAL_MS, interval + 8))
                self._slow_frames = 0
        else:
            self._slow_frames = max(0, self._slow_frames - 1)
            if cost_ms < 0.3 * TARGET_INTERVAL_MS and interval > TARGET_INTERVAL_MS:
                self.timer.setInterval(max(TARGET_INTERVAL_MS, interval - 1))

    # -- measurement -------------------------------------------------------------------------
    def start_measure(self, seconds: float, show_dialog: bool = False,
                      started: float | None = None) -> None:
        """Measure frames for ``seconds``, then emit :attr:`measured` (and show the figures
        in a dialog when ``show_dialog``). ``started`` (a perf_counter time) lets
        ``first_draw_s`` count from program start."""
        self.stats = FrameStats(started)
        self._measure_dialog = show_dialog
        # The window runs ``seconds`` from now (start-up before it is not counted twice).
        self._measure_deadline = time.perf_counter() + seconds
        if show_dialog:
            self.ctx.status(f"Measuring for {seconds:g} s…", int(seconds * 1000))

    def measurement(self) -> dict[str, object]:
        """Figures for ``--measure`` and Diagnostics; strict JSON (None, never NaN)."""
        result: dict[str, object] = dict(self.stats.summary())
        session = self.ctx.session()
        counters = session.counters if session is not None else None
        rate = session.sample_rate() if session is not None else None
        result.update({
            "received": counters.received if counters else 0,
            "dropped": counters.dropped if counters else 0,
            "malformed": counters.malformed if counters else 0,
            "source": self.ctx.host.spec,
            "sample_rate": round(rate, 3) if rate else None,
            "labels_shown": self.ctx.plot.labels.count(),
            "model": self.ctx.settings.model or None,
            "timer_interval_ms": self.timer.interval(),
        })
        if session is not None:
            # a file's index_s, verdict_s and whole-file verdicts (a live session: none)
            result.update(session.measure_figures())
        return result

    def _finish_measure(self) -> None:
        self._measure_deadline = None
        result = self.measurement()
        self.measured.emit(result)
        if self._measure_dialog:
            QMessageBox.information(self.ctx.parent, "Diagnostics",
                                    json.dumps(result, indent=2, allow_nan=False))
