"""Recording the live source: ● Record / ■ Stop recording (Ctrl+R), the file name (source
and time, in the recordings folder), and what the session reports (started, saved,
failed).

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`). The window connects the session's
``recording_started/stopped/failed`` to :meth:`RecordingPart.on_started` and the others;
the part announces :attr:`RecordingPart.active_changed` (on/off), :attr:`RecordingPart.failed`
and :attr:`RecordingPart.started` for the status bar and the labels.
"""

from __future__ import annotations

import datetime as dt
import re

from PySide6.QtCore import QObject, Signal

from desktop.session.live import LiveSession
from desktop.streams.acquisition import RecordingResult
from desktop.ui.window_context import WindowContext


class RecordingPart(QObject):
    """The Record action and the recording's life (see the module docstring)."""

    active_changed = Signal(bool)  # a recording is being written (True) or not any more
    started = Signal()  # a recording began (a label span drawn before it may wait)
    failed = Signal(str)  # the recording stopped on this error

    def __init__(self, ctx: WindowContext) -> None:
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.last_recording: RecordingResult | None = None
        self.act_record = ctx.action("● Record", "Ctrl+R", self.toggle,
                                     tip="Start / stop recording to the recordings folder")
        self.act_record.setEnabled(False)

    def _live(self) -> LiveSession | None:
        session = self.ctx.session()
        return session if isinstance(session, LiveSession) else None

    def set_available(self, available: bool) -> None:
        """Record is offered while a live source runs (never for a file)."""
        self.act_record.setEnabled(available)

    def toggle(self) -> None:
        """Start recording, or stop the recording being written."""
        session = self._live()
        if session is None or session.acq is None:
            return
        if session.recording_path is not None:
            session.stop_recording()
            self.act_record.setEnabled(False)  # until the file is finalised
            return
        self.start()

    def start(self, backfill_from: float | None = None) -> None:
        """Record to ``<recordings folder>/<source>-<YYYYmmdd-HHMMSS>.parquet``; with
        ``backfill_from`` (seconds on the live axis) the history still in memory from then
        is written first."""
        session = self._live()
        if session is None:
            return
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.ctx.host.spec).strip("_") or "source"
        session.start_recording(self.ctx.recordings_folder() / f"{safe}-{stamp}.parquet",
                                backfill_from)

    # -- what the session reports ------------------------------------------------------------
    def on_started(self, path: str) -> None:
        self.show(True)
        self.started.emit()

    def on_stopped(self, result: RecordingResult) -> None:
        self.last_recording = result
        self.show(False)
        self._offer()
        note = f"Saved {result.samples:,} samples to {result.out}"
        self.ctx.status(result.error or note, 10000)

    def on_failed(self, message: str) -> None:
        self.ctx.errors.append(message)
        self.show(False)
        self._offer()
        self.failed.emit(message)

    def _offer(self) -> None:
        session = self._live()
        self.act_record.setEnabled(session is not None and session.acq is not None)

    def show(self, on: bool) -> None:
        """Record reads "Stop recording" while a recording is written."""
        self.act_record.setText("■ Stop recording" if on else "● Record")
        self.active_changed.emit(on)
