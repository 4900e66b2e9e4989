"""Runs the acquisition loop on a QThread and turns its events into Qt signals.

The source is *built* on the worker thread too (a replay reads its whole file there), so
the UI thread never parses, reads files or touches the device. Recording commands from the
UI are queued and executed by the loop between reads, so the writer is only ever used
from this thread; converting a finished journal to Parquet (seconds for a long recording)
runs on a short-lived helper thread so acquisition never stalls behind the disk.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.errors import LinewatchError, RecordingError
from desktop.core.types import SourceState
from desktop.sources.base import SampleSource
from desktop.streams.acquisition import Acquisition, RecordingResult
from desktop.workers.threads import WorkerThread

log = logging.getLogger(__name__)


class AcquisitionWorker(QObject):
    """Owns one source and its Acquisition; lives on its own QThread."""

    opened = Signal(object)  # the Acquisition: the UI draws from its ring buffer
    open_failed = Signal(str)
    state_changed = Signal(str, str)  # SourceState value, detail
    recording_started = Signal(str)  # path
    recording_stopped = Signal(object)  # RecordingResult (after the Parquet file is done)
    recording_failed = Signal(str)
    finished = Signal()

    def __init__(self, make_source: Callable[[], SampleSource],
                 history_s: float | None = 60.0) -> None:
        """``history_s=None`` keeps a finite source (an opened file) whole."""
        super().__init__()
        self._make_source = make_source
        self._history_s = history_s
        self._stop = threading.Event()
        self._commands: queue.SimpleQueue[tuple[str, Path | None, float | None]] = (
            queue.SimpleQueue())
        # Finished conversions come back here and are announced from the worker thread:
        # signals emitted from a plain Python thread do not reliably reach Python slots.
        self._finalized: queue.SimpleQueue[RecordingResult] = queue.SimpleQueue()
        self._finalizers: list[threading.Thread] = []
        self.acquisition: Acquisition | None = None

    # -- called from the UI thread (thread-safe) ----------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def request_recording(self, out: Path, backfill_from: float | None = None) -> None:
        """Start recording to ``out``; ``backfill_from`` also keeps history from that time."""
        self._commands.put(("start", out, backfill_from))

    def request_stop_recording(self) -> None:
        self._commands.put(("stop", None, None))

    # -- runs on the worker thread -------------------------------------------------------
    @Slot()
    def run(self) -> None:
        try:
            source = self._make_source()
            source.add_state_listener(lambda s, d: self.state_changed.emit(s.value, d))
            acq = Acquisition(source, self._history_s,
                              on_recording_error=self.recording_failed.emit)
            acq.open()
        except LinewatchError as exc:
            self.open_failed.emit(str(exc))
            self.finished.emit()
            return
        except Exception as exc:  # a bug: keep the window alive, say what happened
            log.exception("opening the source failed")
            self.open_failed.emit(f"unexpected error opening the source: {exc!r}")
            self.finished.emit()
            return
        self.acquisition = acq
        self.opened.emit(acq)
        try:
            while not self._stop.is_set():
                self._run_commands(acq)
                acq.step()
                if source.state is SourceState.FINISHED:
                    self._stop.wait(0.05)  # keep serving commands; the view stays up
        except Exception as exc:
            log.exception("acquisition loop failed")
            self.state_changed.emit(SourceState.LOST.value, f"internal error: {exc!r}")
        finally:
            try:
                acq.drain()  # lines the parser still holds reach the view and the file
            except Exception:
                log.exception("taking in the source's last samples failed")
            self._finish_recording(acq)
            try:
                source.close()
            except Exception:
                log.exception("closing the source failed")
            for thread in self._finalizers:
                thread.join()
            self._announce_finalized()
            self.finished.emit()

    def _announce_finalized(self) -> None:
        while True:
            try:
                result = self._finalized.get_nowait()
            except queue.Empty:
                return
            if result.error is not None:
                self.recording_failed.emit(result.error)
            self.recording_stopped.emit(result)

    def _run_commands(self, acq: Acquisition) -> None:
        self._announce_finalized()
        while True:
            try:
                command, arg, backfill_from = self._commands.get_nowait()
            except queue.Empty:
                return
            if command == "start" and arg is not None:
                try:
                    acq.start_recording(arg, backfill_from)
                except RecordingError as exc:
                    self.recording_failed.emit(str(exc))
                else:
                    self.recording_started.emit(str(arg))
            elif command == "stop":
                self._finish_recording(acq)

    def _finish_recording(self, acq: Acquisition) -> None:
        if acq.recording is None:
            return  # nothing running (a failed recording was already reported)
        result = acq.stop_recording(finalize=False)
        if result is None or result.writer is None:
            return
        thread = threading.Thread(target=self._finalize, args=(result,), daemon=False,
                                  name="linewatch-finalize")
        self._finalizers = [t for t in self._finalizers if t.is_alive()] + [thread]
        thread.start()

    def _finalize(self, result: RecordingResult) -> None:
        """Journal → Parquet, off the acquisition thread (seconds for long recordings)."""
        assert result.writer is not None
        if result.error is None:
            try:
                result.writer.finalize()
            except RecordingError as exc:
                result.error = str(exc)
            except Exception as exc:  # a bug: the journal is still on disk, say so
                log.exception("finalising %s failed", result.out)
                result.error = (f"could not finish {result.out} ({exc!r}); the data is in "
                                f"its journal: run `linewatch recover {result.out}`")
        self._finalized.put(result)


class AcquisitionThread(WorkerThread):
    """The acquisition worker on its own QThread."""

    def __init__(self, worker: AcquisitionWorker) -> None:
        super().__init__(worker, "linewatch-acquisition")
        self.worker: AcquisitionWorker = worker
