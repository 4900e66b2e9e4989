"""The acquisition loop: source → time axis → ring buffer (+ recorder).

This is the one place where samples get their time: the source's own timestamps when it
has them, else the absolute sample index over the nominal rate, else (a serial device
with no timestamp column and no configured rate) the arrival clock
(:mod:`desktop.streams.arrival`): the device rate estimated over a sliding window of
arrivals, each burst spread evenly, time strictly increasing. Everything downstream —
plots, recordings, models — sees the same times.

It is also where samples enter: ``±inf`` (a Parquet file or a device can carry them)
becomes NaN, a gap for drawing and autoscale, counted under ``non_finite``. On close,
whatever the source still holds (a parser's pending lines) is taken in before the
recording is closed, so stopping never loses a line that arrived.

It owns no thread. The CLI calls :meth:`Acquisition.run` on the main thread; the Qt
worker calls it on a QThread. Recording is started and stopped from any thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.core.errors import RecordingError
from desktop.core.types import Block, ChannelSpec, SourceState
from desktop.recording.writer import RecordingWriter
from desktop.sources.base import SampleSource
from desktop.streams.arrival import ArrivalClock
from desktop.streams.ring import RingBuffer

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05


@dataclass
class Counters:
    """What the status bar and ``record``'s summary show."""

    received: int
    dropped: int
    malformed: int
    malformed_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class RecordingResult:
    """Outcome of one recording: where it went and what it holds."""

    out: Path
    samples: int
    channels: int
    error: str | None = None
    writer: RecordingWriter | None = None


class Acquisition:
    """Pulls blocks from one source into a ring buffer and, when asked, a recording."""

    def __init__(
        self,
        source: SampleSource,
        history_s: float | None = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_recording_error: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        self.history_s = history_s
        self.buffer: RingBuffer | None = None
        self._clock = clock
        self._t_start = clock()
        self._arrival = ArrivalClock(0.0)
        self._held: list[Block] = []  # blocks waiting for the arrival clock's estimate
        self._non_finite = 0  # ±inf samples turned into gaps
        self._index = 0  # samples received since start (for rate-based time)
        self._rec_lock = threading.Lock()
        self._recorder: RecordingWriter | None = None
        self._rec_span: float | None = None  # stop writing after this much signal time
        self._rec_end: float | None = None  # first signal time past the span
        self._rec_full = False
        self.recording_error: str | None = None
        self._on_recording_error = on_recording_error
        self.last_result: RecordingResult | None = None

    # -- counters ---------------------------------------------------------------------
    @property
    def counters(self) -> Counters:
        buffered_drops = self.buffer.dropped if self.buffer is not None else 0
        by_kind = dict(self.source.malformed)
        if self._non_finite:
            by_kind["non_finite"] = by_kind.get("non_finite", 0) + self._non_finite
        return Counters(
            received=self._index,
            dropped=self.source.dropped + buffered_drops,
            malformed=self.source.malformed.total + self._non_finite,
            malformed_by_kind=by_kind,
        )

    # -- recording --------------------------------------------------------------------
    @property
    def recording(self) -> RecordingWriter | None:
        return self._recorder

    @property
    def recording_full(self) -> bool:
        """True once a recording started with ``span_s`` holds that much signal time."""
        return self._rec_full

    def start_recording(self, out: Path, backfill_from: float | None = None,
                        span_s: float | None = None) -> RecordingWriter:
        """Begin writing every new sample to ``out`` (raises RecordingError if impossible).

        ``backfill_from`` (a signal time) first writes the history still in the ring buffer
        from that time on: an engineer who marks an event and only then starts recording
        still gets the signal the label describes (at the buffer's float32 precision).

        ``span_s`` limits the recording to that much *signal* time (the samples' own time
        axis: timestamps, index over rate, or arrival stamps), however long the reads took:
        samples at or past the first sample's time + ``span_s`` are not written, and
        :attr:`recording_full` turns True. The recording stays open until stopped.
        """
        if span_s is not None and not span_s > 0:
            raise ValueError("span_s must be positive")
        with self._rec_lock:
            if self._recorder is not None:
                raise RecordingError("already recording")
            self._rec_span, self._rec_end, self._rec_full = span_s, None, False
            self.recording_error = None
            channels = self.buffer.channels if self.buffer is not None else self.source.channels
            recorder = RecordingWriter(out, channels, self.source.sample_rate,
                                       self.source.description)
            if backfill_from is not None and self.buffer is not None:
                history = self.buffer.since(self.buffer.index_at_time(backfill_from))
                if history.times.size:
                    self._write_limited(recorder, history.times, history.values,
                                        history.channels)
            self._recorder = recorder
            return recorder

    def stop_recording(self, finalize: bool = True) -> RecordingResult | None:
        """Finish the current recording and return its result.

        With ``finalize=False`` only the journal is closed (fast); the caller converts it
        with ``result.writer.finalize()`` off the acquisition thread.
        """
        with self._rec_lock:
            recorder, self._recorder = self._recorder, None
        if recorder is None:
            return self.last_result
        error = None
        try:
            recorder.close(finalize=finalize)
        except RecordingError as exc:
            error = str(exc)
            self._report_recording_error(error)
        self.last_result = RecordingResult(recorder.out, recorder.samples_written,
                                           len(recorder.channels), error, recorder)
        return self.last_result

    def _report_recording_error(self, message: str) -> None:
        self.recording_error = message
        log.error("%s", message)
        if self._on_recording_error is not None:
            self._on_recording_error(message)

    def _record(self, times: np.ndarray, block: Block) -> None:
        with self._rec_lock:
            recorder = self._recorder
            if recorder is None:
                return
            try:
                self._write_limited(recorder, times, block.values, block.channels)
            except RecordingError as exc:
                # The disk gave up; acquisition and the live view carry on.
                self._recorder = None
                self.last_result = RecordingResult(recorder.out, recorder.samples_written,
                                                   len(recorder.channels), str(exc))
                self._report_recording_error(str(exc))

    def _write_limited(self, recorder: RecordingWriter, times: np.ndarray,
                       values: np.ndarray, channels: tuple[ChannelSpec, ...]) -> None:
        """Write the samples that still fit the span (all of them without one)."""
        if self._rec_span is None:
            recorder.write(times, values, channels)
            return
        if self._rec_full:
            times, values = times[:0], values[:0]  # still lets the writer flush on time
        elif times.size:
            if self._rec_end is None:
                first = recorder.first_time
                first = float(times[0]) if first is None else first
                # A hair short of the span, so float rounding in t0 + k/rate cannot let
                # sample N+1 in (or keep sample N out).
                self._rec_end = first + self._rec_span * (1.0 - 1e-9)
            past = np.flatnonzero(times >= self._rec_end)
            if past.size:
                times, values = times[: past[0]], values[: past[0]]
                self._rec_full = True
        recorder.write(times, values, channels)
        if recorder.duration_s >= self._rec_span * (1.0 - 1e-9):
            self._rec_full = True  # no need to wait for the next sample to know

    # -- the loop ---------------------------------------------------------------------
    def open(self) -> None:
        self.source.open()
        self._t_start = self._clock()
        self._arrival = ArrivalClock(0.0)

    def _make_buffer(self, block: Block) -> RingBuffer:
        """History of ``history_s`` seconds, or the whole of a finite source when None."""
        total = self.source.total_samples
        if self.history_s is None and total:
            return RingBuffer(block.channels, total, self.source.sample_rate)
        return RingBuffer.for_seconds(block.channels, self.source.sample_rate,
                                      self.history_s or 60.0)

    def _finite(self, block: Block) -> Block:
        """``±inf`` samples become NaN (gaps), counted under ``non_finite``."""
        values = block.values
        if values.size == 0:
            return block
        infinite = np.isinf(values)
        if not infinite.any():
            return block
        self._non_finite += int(np.count_nonzero(infinite))
        return Block(np.where(infinite, np.nan, values), block.channels, block.timestamps)

    def step(self, timeout: float = READ_TIMEOUT_S) -> int:
        """One read from the source; returns the number of samples it brought."""
        block = self.source.read(timeout)
        n = len(block)
        if n:
            self._take(self._finite(block))
        else:
            if self._held:  # a start-up burst whose wait for a rate estimate is over
                self._release(self._arrival.poll(self._clock() - self._t_start))
            if self._recorder is not None:
                self._record(np.empty(0), block)  # lets the writer flush on time while idle
        return n

    def _take(self, block: Block) -> None:
        """Give a block its times (see the module doc) and pass it on."""
        n = len(block)
        if block.timestamps is not None:
            self._ingest(block, block.timestamps)
        elif self.source.sample_rate:
            times = (self._index + np.arange(n, dtype=np.float64)) / self.source.sample_rate
            self._ingest(block, times)
        else:
            self._held.append(block)
            released = self._arrival.push(n, self._clock() - self._t_start)
            self._release(released)

    def _release(self, stamped: list[np.ndarray]) -> None:
        for times in stamped:
            self._ingest(self._held.pop(0), times)

    def _ingest(self, block: Block, times: np.ndarray) -> None:
        if self.buffer is None:
            self.buffer = self._make_buffer(block)
        self.buffer.append(Block(block.values, block.channels, times))
        self._index += len(block)
        self._record(times, block)

    def drain(self) -> int:
        """Take in what the source still holds (call once, before closing); sample count."""
        before = self._index
        block = self.source.drain()
        if len(block):
            self._take(self._finite(block))
        self._release(self._arrival.flush())
        return self._index - before

    def run(
        self,
        should_stop: Callable[[], bool],
        duration_s: float | None = None,
    ) -> None:
        """Read until ``should_stop()``, ``duration_s`` elapsed, or a finite source ends."""
        deadline = None if duration_s is None else self._clock() + duration_s
        while not should_stop():
            if deadline is not None and self._clock() >= deadline:
                break
            self.step()
            if self.source.state is SourceState.FINISHED:
                break

    def close(self) -> RecordingResult | None:
        """Take in what the source still holds, stop recording (if any), release the source."""
        try:
            self.drain()
        except Exception:  # closing must not fail on a last odd block; it is logged
            log.exception("taking in the source's last samples failed")
        result = self.stop_recording()
        self.source.close()
        return result
