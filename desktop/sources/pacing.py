"""Real-time pacing shared by the sources that generate or replay samples.

A simulated device must behave like a real one: samples become available as wall-clock
time passes (× a speed factor), and a reader that falls far behind loses the oldest ones,
the way a hardware FIFO overflows. Without that, a slow consumer would silently turn a
"real-time" test into a slower-than-real-time one and hide dropped samples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Pacer:
    """Tells how many samples are due at a rate × speed since :meth:`start`."""

    def __init__(
        self,
        rate: float,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        fifo_seconds: float = 2.0,
        max_block_seconds: float = 0.25,
    ) -> None:
        if rate <= 0 or speed <= 0:
            raise ValueError("rate and speed must be positive")
        self.rate = float(rate)
        self.speed = float(speed)
        self._clock = clock
        self._sleep = sleep
        self.fifo = max(1, int(rate * fifo_seconds))
        self.max_block = max(1, int(rate * max_block_seconds))
        self._t0 = clock()
        self.emitted = 0  # samples handed out or skipped so far

    @property
    def unpaced(self) -> bool:
        return math.isinf(self.speed)

    def start(self) -> None:
        self._t0 = self._clock()
        self.emitted = 0

    def _due_total(self) -> int:
        return int((self._clock() - self._t0) * self.rate * self.speed)

    def take(self, timeout: float) -> tuple[int, int]:
        """Wait up to ``timeout`` for samples; return ``(count, skipped)``.

        ``skipped`` samples were due so long ago that the simulated FIFO overflowed; the
        caller advances past them and reports them as dropped.
        """
        if self.unpaced:
            self.emitted += self.max_block
            return self.max_block, 0
        due = self._due_total() - self.emitted
        if due <= 0 and timeout > 0:
            wait = (self.emitted + 1) / (self.rate * self.speed) - (self._clock() - self._t0)
            self._sleep(min(timeout, max(0.0, wait)))
            due = self._due_total() - self.emitted
        if due <= 0:
            return 0, 0
        skipped = max(0, due - self.fifo)
        count = due - skipped
        self.emitted += skipped + count
        return count, skipped
