"""Times for samples that carry none: a serial device without a time column or ``--rate``.

Samples reach the host in bursts (a USB adapter hands over 25 lines every 50 ms, a full
FIFO drains 1,000 lines at once), so the moment a block is *read* is not when its samples
were *made*. Stamping every line of a burst with its arrival gives one time to 25 samples
and absurd rates (a 1,000-line burst once reported 188 kHz).

:class:`ArrivalClock` estimates the device's rate over a sliding window of arrivals
(samples counted over the seconds they took to arrive, which is exact at burst edges) and
spaces each block's samples by it, ending no later than the block's arrival: a sample is
never stamped in the future. When the spaced block would end long before its arrival (the
device paused, or sped up), the block is anchored to its arrival instead. Times are always
strictly increasing. A lone line is stamped at its arrival, so a slow sensor's lines keep
their own times. Bursts that come before the window can estimate a rate (the first
``MIN_SPAN_S``) are held, at most ``HOLD_S``, and stamped once it can; what is still held
then is spread evenly between the previous sample and its arrival (the first block: from
when the port opened).

The result is an estimate, and the window says so: a source without a nominal rate has
``sample_rate`` None, so the status bar shows the rate measured from these times with ``≈``.
"""

from __future__ import annotations

from collections import deque

import numpy as np

WINDOW_S = 2.0  # arrivals used for the rate estimate
MIN_SPAN_S = 0.25  # the estimate needs at least this much arrival time
TINY_S = 1e-9  # the smallest step between two samples when the clock does not move
PULL = 0.25  # the share of a lag behind the arrivals closed per block
HOLD_S = 0.5  # the longest a start-up burst waits for a rate estimate


class ArrivalClock:
    """Turns block arrivals ``(n samples, host time)`` into per-sample times (seconds)."""

    def __init__(self, start: float, window_s: float = WINDOW_S) -> None:
        self._window_s = window_s
        self._arrivals: deque[tuple[float, int]] = deque()
        self._last: float = start  # time of the last sample stamped (or the open time)
        self._first = True
        self._queue: deque[tuple[int, float]] = deque()  # held (n, arrival)

    @property
    def held(self) -> int:
        """Blocks waiting for a rate estimate."""
        return len(self._queue)

    def push(self, n: int, now: float) -> list[np.ndarray]:
        """A block of ``n`` samples arrived at ``now``: the times of every block released
        (oldest first; empty while a start-up burst waits for a rate estimate)."""
        self._arrivals.append((now, n))
        while len(self._arrivals) > 2 and now - self._arrivals[1][0] >= self._window_s:
            self._arrivals.popleft()
        self._queue.append((n, now))
        bursty = any(k > 1 for k, _ in self._queue)
        if bursty and self.rate is None and now - self._queue[0][1] < HOLD_S:
            return []
        return self.flush()

    def poll(self, now: float) -> list[np.ndarray]:
        """Nothing new arrived by ``now``: release held blocks whose wait is over."""
        if self._queue and now - self._queue[0][1] >= HOLD_S:
            return self.flush()
        return []

    def flush(self) -> list[np.ndarray]:
        """Stamp every held block now (end of stream, or the estimate came)."""
        out = []
        while self._queue:
            n, arrival = self._queue.popleft()
            out.append(self._stamp(n, arrival))
        return out

    @property
    def rate(self) -> float | None:
        """The device rate estimated from the window of arrivals, in Hz, or None."""
        if len(self._arrivals) < 2:
            return None
        t0 = self._arrivals[0][0]
        t1 = self._arrivals[-1][0]
        if t1 - t0 < MIN_SPAN_S:
            return None
        # Samples that arrived after the window's first arrival, over the time they took.
        count = sum(n for _, n in self._arrivals) - self._arrivals[0][1]
        return count / (t1 - t0) if count > 0 else None

    def _stamp(self, n: int, now: float) -> np.ndarray:
        """Times of ``n`` samples that arrived at host time ``now``."""
        if n <= 0:
            return np.empty(0, dtype=np.float64)
        rate = self.rate
        lo = self._last
        first = self._first
        steps = np.arange(1, n + 1, dtype=np.float64)
        if rate is None:
            times = lo + (now - lo) * steps / n  # spread since the last sample (one: now)
        else:
            dt = 1.0 / rate
            end = lo + n * dt
            slack = max(MIN_SPAN_S, 4.0 * dt)
            if first:
                times = now - dt * (n - steps)  # made at the rate, up to its arrival
            elif end > now:
                times = lo + (now - lo) * steps / n  # never in the future: compress
            elif end < now - slack:
                times = now - dt * (n - steps)  # a pause: anchor at the arrival
            else:
                # Behind the arrival by less than the slack: close a part of the lag, so
                # an estimate a little high cannot let the times fall ever further behind.
                step = (n * dt + PULL * (now - end)) / n
                times = lo + step * steps
        self._first = False
        # Strictly increasing, whatever the host clock did. The first block may reach back
        # before the port opened: a device FIFO hands over samples made earlier.
        if not first:
            times = np.maximum(times, lo + TINY_S * steps)
        if n > 1:
            times = np.maximum.accumulate(times)
            bumps = np.diff(times) <= 0
            if bumps.any():
                times = lo + np.maximum.accumulate(times - lo + TINY_S * steps)
        self._last = float(times[-1])
        return times
