"""The window's status bar: the source's state, its rate and counters, the recording
(● REC time, size, file, or the error that stopped it), and a long job's progress with
Cancel (opening a file, judging a whole file).

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`); the window calls
:meth:`StatusPart.show_state` when the session's state changes, :meth:`StatusPart.update`
4×/s, and the job and recording methods as the session reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QElapsedTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from desktop.core.types import describe_malformed
from desktop.session.file import FileSession
from desktop.session.live import LiveSession
from desktop.ui.window_context import WindowContext

STATE_COLOURS = {"connected": "#2e7d32", "lost": "#c62828", "reconnecting": "#ef6c00",
                 "failed": "#c62828", "connecting": "#ef6c00", "finished": "#1565c0",
                 "loading": "#ef6c00"}


class StatusPart:
    """The status bar's labels and the job progress (see the module docstring)."""

    def __init__(self, ctx: WindowContext, cancel_job: Callable[[], object]) -> None:
        self.ctx = ctx
        self._rec_clock = QElapsedTimer()
        bar = QStatusBar(ctx.parent)
        self.state_label = QLabel("not connected")
        self.rate_label = QLabel("")
        self.counter_label = QLabel("")
        self.record_label = QLabel("")
        for w in (self.state_label, self.rate_label, self.counter_label):
            bar.addWidget(w)
        # Long jobs of the session (opening a file, judging a whole file): progress + Cancel.
        self.job_progress = QProgressBar()
        self.job_progress.setRange(0, 1000)
        self.job_progress.setMaximumWidth(220)
        self.job_progress.setTextVisible(True)
        self.job_cancel = QPushButton("Cancel")
        self.job_cancel.setToolTip("Cancel the running job (Esc)")
        self.job_cancel.clicked.connect(cancel_job)
        for job_widget in (self.job_progress, self.job_cancel):
            job_widget.setVisible(False)
            bar.addPermanentWidget(job_widget)
        bar.addPermanentWidget(self.record_label)
        ctx.parent.setStatusBar(bar)

    # -- long jobs --------------------------------------------------------------------------
    def job_progress_changed(self, fraction: float, message: str) -> None:
        """A job's progress (0–1) and what it is doing; 1 hides the bar."""
        session = self.ctx.session()
        if isinstance(session, FileSession) and not session.busy and fraction > 0:
            return  # progress queued before a Cancel or the end: the job is over
        done = fraction >= 1.0
        self.job_progress.setVisible(not done)
        self.job_cancel.setVisible(not done)
        self.job_progress.setValue(int(fraction * 1000))
        self.job_progress.setFormat(f"{message} %p%")

    def show_job(self) -> None:
        """Keep progress and Cancel shown (a file drawn early goes on indexing)."""
        self.job_progress.setVisible(True)
        self.job_cancel.setVisible(True)

    def job_done(self) -> None:
        self.job_progress.setVisible(False)
        self.job_cancel.setVisible(False)

    # -- the source -------------------------------------------------------------------------
    def show_state(self, state: str, detail: str) -> None:
        """The state label: coloured state, the source or file it is about, the detail."""
        session = self.ctx.session()
        spec = self.ctx.host.spec
        if isinstance(session, FileSession) and not session.busy:
            self.job_done()
        text = {"closed": "not connected", "failed": "could not open",
                "finished": "end of file" if isinstance(session, LiveSession)
                else "opened"}.get(state, state)
        if detail and state in ("lost", "failed", "reconnecting", "finished"):
            text += f": {detail}"
        counters = session.counters if isinstance(session, FileSession) else None
        if state == "finished" and counters is not None and counters.malformed:
            text += (f" · skipped {counters.malformed:,} malformed line"
                     f"{'s' if counters.malformed != 1 else ''}: "
                     f"{describe_malformed(counters.malformed_by_kind)}")
        colour = STATE_COLOURS.get(state)
        style = f"color: white; background: {colour}; padding: 1px 6px;" if colour else ""
        self.state_label.setStyleSheet(style)
        shown = (Path(spec[5:]).name if spec.startswith("file:") else spec)
        self.state_label.setText(f"{shown}  {text}" if shown else text)
        self.state_label.setToolTip(f"{spec}  {text}" if spec else text)

    def rate_text(self) -> str:
        """The status bar's rate: ``12,000 Hz × 2 ch``; ``≈`` marks a measured estimate."""
        session = self.ctx.session()
        if session is None or session.buffer is None:
            return ""
        rate = session.sample_rate()
        n_ch = len(session.buffer.channels)
        if not rate:
            return f"rate unknown × {n_ch} ch"
        return f"{'≈' if session.rate_is_estimate else ''}{rate:,.0f} Hz × {n_ch} ch"

    def update(self) -> None:
        """Rate, counters and the recording's time and size (called 4×/s)."""
        session = self.ctx.session()
        counters = session.counters if session is not None else None
        self.rate_label.setText(self.rate_text())
        if session is not None and session.rate_is_estimate:
            self.rate_label.setToolTip("Estimated from the samples' times (the source states "
                                       "no rate)")
        if counters is None:
            self.counter_label.setText("")
            return
        bad = ", ".join(f"{k} {v}" for k, v in sorted(counters.malformed_by_kind.items()))
        self.counter_label.setText(
            f"received {counters.received:,} · malformed {counters.malformed:,}"
            + (f" ({bad})" if bad else "") + f" · dropped {counters.dropped:,}")
        acq = session.acq if isinstance(session, LiveSession) else None
        rec = acq.recording if acq is not None else None
        path = session.recording_path if isinstance(session, LiveSession) else None
        if rec is not None and path is not None:
            secs = self._rec_clock.elapsed() / 1000.0
            self.record_label.setText(
                f"● REC {int(secs // 60):02d}:{secs % 60:04.1f}  "
                f"{rec.bytes_on_disk / 1e6:.1f} MB  {path.name}")

    # -- recording --------------------------------------------------------------------------
    def set_recording(self, on: bool) -> None:
        """Red while recording (the clock starts now); cleared after, unless it failed."""
        if on:
            self._rec_clock.start()
            self.record_label.setStyleSheet("color: white; background: #c62828; padding: 1px 6px;")
        elif not self.record_label.text().startswith("⚠"):
            self.record_label.setStyleSheet("")
            self.record_label.setText("")

    def recording_failed(self, message: str) -> None:
        """The recording stopped on an error: the error stays in the status bar."""
        self.record_label.setText(f"⚠ {message}")
        self.record_label.setStyleSheet("color: #c62828;")
