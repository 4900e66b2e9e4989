"""A live session: one source, its acquisition thread, recorder, inference and label anchor.

Everything that used to sit in the window's attributes lives here: the acquisition thread
(which also builds and opens the source, so a slow device never blocks the UI), recording
commands, the inference thread, and the anchor that turns live times into "seconds from
the recording's first sample" for labels. The window calls methods and listens to the
signals of :class:`~desktop.session.base.Session`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from desktop.core.types import SourceState
from desktop.session.base import Session
from desktop.session.types import ModelInfo, TableRow, verdicts_from_rows
from desktop.sources.base import SampleSource
from desktop.streams.acquisition import Acquisition, Counters, RecordingResult
from desktop.streams.ring import RingBuffer
from desktop.workers.acquisition_worker import AcquisitionThread, AcquisitionWorker
from desktop.workers.inference_worker import InferenceThread, InferenceWorker
from desktop.workers.tabular_worker import TabularThread, TabularWorker, is_table_model

log = logging.getLogger(__name__)


class LiveSession(Session):
    """Streams ``spec`` into a ring buffer of ``history_s`` seconds."""

    kind = "live"

    def __init__(self, spec: str, make_source: Callable[[], SampleSource],
                 history_s: float) -> None:
        super().__init__(spec)
        self._make_source = make_source
        self._history_s = history_s
        self.acq: Acquisition | None = None
        self._thread: AcquisitionThread | None = None
        self._retired: list[AcquisitionThread] = []
        self._inference: InferenceThread | TabularThread | None = None
        self._machine = ""  # the machine whose baseline judges verdicts too (set_machine)
        self._retired_inference: list[InferenceThread | TabularThread] = []
        self.recording_path: Path | None = None
        self.last_recording: RecordingResult | None = None
        self._anchor: tuple[str, float] | None = None
        self._rate_mark: tuple[float, int] | None = None
        self._measured_rate = 0.0
        self._model: tuple[str, float, float] = ("", 2.0, 5.0)
        self.state = SourceState.CLOSED.value
        #: Set at the window's first drawn frame; the model worker waits for it (≤ 2 s).
        self._drawn = threading.Event()

    # -- the read interface ----------------------------------------------------------
    @property
    def buffer(self) -> RingBuffer | None:
        return self.acq.buffer if self.acq is not None else None

    @property
    def counters(self) -> Counters | None:
        return self.acq.counters if self.acq is not None else None

    def sample_rate(self) -> float | None:
        """The source's nominal rate; else the rate of the timestamps in the buffer; else
        the arrival rate (an estimate, see :attr:`rate_is_estimate`)."""
        acq = self.acq
        if acq is None:
            return None
        if acq.source.sample_rate:
            return float(acq.source.sample_rate)
        buffer = acq.buffer
        if buffer is not None and buffer.written > 1:
            recent = buffer.latest(4096).times
            if recent.size > 1 and recent[-1] > recent[0]:
                return float((recent.size - 1) / (recent[-1] - recent[0]))
        now, received = time.perf_counter(), acq.counters.received
        if self._rate_mark is not None and now > self._rate_mark[0] + 0.2:
            inst = (received - self._rate_mark[1]) / (now - self._rate_mark[0])
            self._measured_rate = (inst if self._measured_rate == 0
                                   else 0.7 * self._measured_rate + 0.3 * inst)
            self._rate_mark = (now, received)
        elif self._rate_mark is None:
            self._rate_mark = (now, received)
        return self._measured_rate or None

    @property
    def rate_is_estimate(self) -> bool:
        return self.acq is not None and not self.acq.source.sample_rate

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        worker = AcquisitionWorker(self._make_source, self._history_s)
        worker.opened.connect(self._opened)
        worker.open_failed.connect(self._open_failed)
        worker.state_changed.connect(self._state_changed)
        worker.recording_started.connect(self._recording_started)
        worker.recording_stopped.connect(self._recording_stopped)
        worker.recording_failed.connect(self._recording_failed)
        self._thread = AcquisitionThread(worker)
        self.state = SourceState.CONNECTING.value
        self._thread.start()

    def stop(self) -> None:
        """Stop inference and acquisition; a recording is finished (journal → Parquet)."""
        self.closed = True
        self._stop_inference()
        thread, self._thread = self._thread, None
        if thread is not None and not thread.stop():
            log.warning("acquisition thread is slow to stop; keeping it until it ends")
            self._retired.append(thread)
        self._retired = [t for t in self._retired if t.thread.isRunning()]
        self.acq = None
        self.state = SourceState.CLOSED.value

    def wait(self, ms: int = 30_000) -> None:
        # An inference thread may still be importing torch or loading weights; Qt aborts
        # the process if a running QThread is destroyed, so wait for each one.
        for thread in self._retired_inference + self._retired:
            if not thread.wait(ms):
                log.error("a session thread did not stop within %d ms", ms)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _mine(self, acq: Acquisition | None = None) -> bool:
        """Signals from a worker that was replaced or stopped are not ours any more."""
        if self.closed or self._thread is None:
            return False
        return acq is None or self._thread.worker.acquisition is acq

    def _opened(self, acq: Acquisition) -> None:
        if not self._mine(acq):
            return
        self.acq = acq
        self.opened.emit()
        self._start_inference()

    def _open_failed(self, message: str) -> None:
        if self.closed:
            return
        self.stop()
        self.closed = False
        self.state = "failed"
        self.open_failed.emit(message)

    def _state_changed(self, state: str, detail: str) -> None:
        if not self._mine():
            return
        self.state = state
        self.state_changed.emit(state, detail)
        if state == SourceState.FINISHED.value:
            self.source_finished.emit()

    # -- recording -------------------------------------------------------------------
    def start_recording(self, out: Path, backfill_from: float | None = None) -> bool:
        """Ask the acquisition thread to record to ``out`` (answered by a signal)."""
        if self._thread is None:
            return False
        self._thread.worker.request_recording(out, backfill_from)
        return True

    def stop_recording(self) -> None:
        if self._thread is not None:
            self._thread.worker.request_stop_recording()

    def _recording_started(self, path: str) -> None:
        self.recording_path = Path(path)
        self._anchor = None
        self.recording_started.emit(path)

    def _recording_stopped(self, result: RecordingResult) -> None:
        self.last_recording = result
        self._anchor = None  # new labels need a new recording
        self.recording_path = None
        self.recording_stopped.emit(result)

    def _recording_failed(self, message: str) -> None:
        self.recording_path = None
        self.recording_failed.emit(message)

    def label_anchor(self) -> tuple[str, float] | None:
        """The recording being written and its first sample's live time; for a replay
        whose file is wholly in the buffer, that file and its first sample."""
        if self._anchor is not None:
            return self._anchor
        acq = self.acq
        if acq is None:
            return None
        rec = acq.recording
        if rec is not None and self.recording_path is not None and rec.first_time is not None:
            self._anchor = (str(self.recording_path), rec.first_time)
        elif self.spec.startswith("replay:") and acq.buffer is not None:
            first = acq.buffer.sample_at(float("-inf"))
            if first is not None and acq.buffer.written == (acq.source.total_samples or -1):
                self._anchor = (self.spec.partition(":")[2], first[0])
        return self._anchor

    # -- inference -------------------------------------------------------------------
    def frame_drawn(self) -> None:
        if not self._drawn.is_set():
            self._drawn.set()

    def set_model(self, name: str, raise_after_s: float, clear_after_s: float) -> None:
        self._model = (name, raise_after_s, clear_after_s)
        if self.acq is not None:
            self._start_inference()

    def set_machine(self, machine: str) -> None:
        if machine != self._machine:
            self._machine = machine
            if self.acq is not None:
                self._start_inference()

    def acknowledge_baseline(self) -> str:
        thread = self._inference
        if isinstance(thread, InferenceThread):
            return thread.worker.acknowledge_baseline()
        return ""

    def _start_inference(self) -> None:
        """(Re)start the model; the old worker winds down by itself, never blocking."""
        self._stop_inference()
        name, raise_s, clear_s = self._model
        acq = self.acq
        if self.closed or not name or acq is None:
            return
        if is_table_model(name):  # quality/process: one row per sample, by column names
            table = TabularWorker(name, lambda: acq.buffer)
            table.rows.connect(self._table_rows)
            self._inference = self._wire(TabularThread(table))
            return
        worker = InferenceWorker(name, lambda: acq.buffer, None, raise_s, clear_s,
                                 source_kind=self.spec.partition(":")[0], drawn=self._drawn,
                                 machine=self._machine)
        self._inference = self._wire(InferenceThread(worker))

    def _wire(self, thread: InferenceThread | TabularThread) -> InferenceThread | TabularThread:
        worker = thread.worker
        worker.loaded.connect(self._model_loaded)
        worker.failed.connect(self.model_failed)
        worker.verdicts.connect(self._verdicts)
        worker.alarm.connect(self.alarm)
        if isinstance(worker, InferenceWorker):
            worker.baseline_alarm.connect(self.baseline_alarm)
        thread.start()
        return thread

    # The workers' dicts, typed once for the window (desktop/session/types.py).
    def _model_loaded(self, info: dict[str, object]) -> None:
        self.model_loaded.emit(ModelInfo.from_dict(info))

    def _verdicts(self, rows: list[dict[str, object]]) -> None:
        self.verdicts.emit(verdicts_from_rows(rows))

    def _table_rows(self, rows: list[dict[str, object]]) -> None:
        self.rows.emit([TableRow.from_row(r) for r in rows])

    def _stop_inference(self) -> None:
        thread, self._inference = self._inference, None
        if thread is not None:
            signals = [thread.worker.verdicts, thread.worker.alarm, thread.worker.loaded,
                       thread.worker.failed]
            if isinstance(thread, TabularThread):
                signals.append(thread.worker.rows)
            else:
                signals.append(thread.worker.baseline_alarm)
            for signal in signals:
                signal.disconnect()
            thread.request_stop()  # no wait: it ends within one pacing period
            self._retired_inference.append(thread)
        self._retired_inference = [t for t in self._retired_inference if t.running]
