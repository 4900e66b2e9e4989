"""``replay:FILE``: plays a recording back at real speed, faster, or as fast as possible.

The recording is handed in already read (``sources`` may not import ``recording``; the
composition root reads the file). Timing follows the recording's nominal sample rate, or
its timestamps when it has none, so a replay at speed 1 arrives the way the live signal did.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from desktop.core.types import Block, Recording, SourceState
from desktop.sources.base import SampleSource

MAX_BLOCK = 50_000


class ReplaySource(SampleSource):
    """Emits a :class:`Recording`'s samples paced by its own time axis."""

    def __init__(self, recording: Recording, name: str, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        if speed <= 0:
            raise ValueError("replay speed must be positive")
        self.description = f"replay:{name}"
        self.recording = recording
        self.channels = recording.channels
        self.sample_rate = recording.sample_rate
        self.speed = speed
        self._clock, self._sleep = clock, sleep
        self._pos = 0
        self._t0 = 0.0
        rec_times = recording.timestamps
        if rec_times is not None and recording.samples:
            self._offsets = rec_times - rec_times[0]
        else:
            rate = recording.effective_rate() or 1.0
            self._offsets = np.arange(recording.samples, dtype=np.float64) / rate

    @property
    def total_samples(self) -> int | None:
        return self.recording.samples

    def open(self) -> None:
        self._pos = 0
        self._t0 = self._clock()
        state = SourceState.FINISHED if self.recording.samples == 0 else SourceState.CONNECTED
        self._set_state(state)

    def _due_end(self, timeout: float) -> int:
        n = self.recording.samples
        if math.isinf(self.speed):
            return min(n, self._pos + MAX_BLOCK)
        elapsed = (self._clock() - self._t0) * self.speed
        end = int(np.searchsorted(self._offsets, elapsed, side="right"))
        if end <= self._pos and timeout > 0 and self._pos < n:
            wait = (self._offsets[self._pos] - elapsed) / self.speed
            self._sleep(min(timeout, max(0.0, wait)))
            elapsed = (self._clock() - self._t0) * self.speed
            end = int(np.searchsorted(self._offsets, elapsed, side="right"))
        return min(end, n, self._pos + MAX_BLOCK)

    def read(self, timeout: float) -> Block:
        if self.finished:
            return Block.empty(self.channels, self.recording.timestamps is not None)
        end = self._due_end(timeout)
        start, self._pos = self._pos, max(self._pos, end)
        times = self.recording.timestamps
        block = Block(
            self.recording.values[start:self._pos],
            self.channels,
            None if times is None else times[start:self._pos],
        )
        if self._pos >= self.recording.samples:
            self._set_state(SourceState.FINISHED, "end of recording")
        return block

    def close(self) -> None:
        if not self.finished:
            self._set_state(SourceState.CLOSED)
