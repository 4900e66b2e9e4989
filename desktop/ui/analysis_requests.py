"""What the Analysis dock computes for the span shown, and the jobs that compute it.

- :func:`span_of`: the span analysed — the A–B cursor selection when the cursors are on,
  else the main plot's visible x range — in signal seconds.
- :func:`span_request`: the :class:`~desktop.analysis.workbench.SpanRequest` the controls
  ask for over that span (or a one-line reason why there is none).
- :class:`AnalysisJobs`: two :class:`~desktop.workers.job_runner.JobRunner` (spectrum and
  trend) running the plain functions :func:`~desktop.analysis.workbench.analyse_span` and
  :func:`~desktop.analysis.workbench.trend_of`; a newer request cancels the older and the
  older's answer is dropped (the runner's "newest wins").
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from desktop.analysis.workbench import SpanRequest, analyse_span, trend_of
from desktop.ui.analysis_controls import AnalysisControls
from desktop.ui.live_plot import LivePlot
from desktop.workers.job_runner import JobRunner
from desktop.workers.jobs import Job

NO_SIGNAL = "Open a recording (Ctrl+O) or connect a source to analyse it"


def span_of(plot: LivePlot) -> tuple[float, float, str] | None:
    """(t0, t1, "A–B cursors" | "visible span") in signal seconds, or None (no lanes)."""
    if not plot.lanes:
        return None
    if plot.cursors_enabled:
        r = plot.cursor_readout()
        a, b = sorted((float(r["t_a"]), float(r["t_b"])))  # type: ignore[arg-type]
        return plot.to_absolute(a), plot.to_absolute(b), "A–B cursors"
    x0, x1 = plot.lanes[0].getViewBox().viewRange()[0]
    return plot.to_absolute(x0), plot.to_absolute(x1), "visible span"


def column_of(channels: list[Any], name: object) -> int:
    """Index of the channel called ``name`` (0 when there is none)."""
    return next((i for i, ch in enumerate(channels) if ch.name == name), 0)


def span_request(controls: AnalysisControls, session: Any,
                 plot: LivePlot) -> tuple[SpanRequest, str] | str:
    """The analysis the controls ask for over :func:`span_of` and how the span was chosen,
    or a one-line reason why there is none. Brings the controls up to date with the
    session first (its channels, the file's speed)."""
    buffer = session.buffer if session is not None else None
    if buffer is None or buffer.written == 0:
        return NO_SIGNAL
    controls.speed.sync(session, buffer)
    controls.sync_channels(tuple(buffer.channels))
    span = span_of(plot)
    if span is None:
        return "Nothing drawn yet"
    t0, t1, how = span
    channels = list(buffer.channels)
    column = column_of(channels, controls.channel.currentData())
    channel = channels[column]
    rpm_name = controls.rpm_source.currentData()
    rpm_column = next((i for i, ch in enumerate(channels) if ch.name == rpm_name), None)
    request = SpanRequest(
        t0, t1, column, channel.name, str(controls.unit.currentData() or channel.unit),
        session.sample_rate(), str(controls.mode.currentData()), controls.band(),
        rpm=controls.speed.request_rpm() if rpm_column is None else None,
        rpm_column=rpm_column, geometry=controls.geometry(),
        group=int(controls.group.currentData()),
        foundation=str(controls.foundation.currentData()))
    return request, how


class AnalysisJobs(QObject):
    """The dock's two runners: ``spectrum`` (one span) and ``trend`` (the whole signal).

    Connect to each runner's ``succeeded`` / ``failed``; ``busy()`` is True while an
    answer is still to come (a runner is ``running`` until its job's ``finished`` has been
    relayed, which follows ``succeeded`` or ``failed``)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spectrum = JobRunner(self, name="analysis", replace=True)
        self.trend = JobRunner(self, name="trend", replace=True)
        #: How many spectrum jobs were started (for tests and the idle check).
        self.started = 0

    def start_spectrum(self, buffer: Any, request: SpanRequest) -> Job:
        """Analyse ``request`` over ``buffer`` (cancels a spectrum still running)."""
        self.started += 1
        return self.spectrum.start(analyse_span, buffer, request)

    def start_trend(self, buffer: Any, column: int, channel: str, unit: str,
                    rate: float | None, block_s: float, group: int,
                    foundation: str) -> Job:
        """Trend ``column`` of ``buffer`` in ``block_s`` blocks (cancels a running one)."""
        return self.trend.start(trend_of, buffer, column, channel, unit, rate, block_s,
                                group, foundation)

    def busy(self) -> bool:
        return self.spectrum.running or self.trend.running

    def shutdown(self, wait_ms: int) -> bool:
        """Cancel both and wait for their threads; True when all ended."""
        ok = self.spectrum.shutdown(wait_ms)
        return self.trend.shutdown(wait_ms) and ok
