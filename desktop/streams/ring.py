"""Preallocated ring buffer: one producer (acquisition), many readers (plots, inference).

Why not a deque of blocks or a growing list: at 16 channels × 20 kHz, allocation per block
and Python-object overhead per sample would cost more than the data itself. One array is
allocated up front for the whole history and written in place.

Readers never make the producer wait for their copy: the producer announces the range it
is about to overwrite (``_reserved``) before writing and publishes it (``_written``)
after; a reader copies without holding the lock and then trims whatever the producer may
have overwritten meanwhile. The lock only guards a few integers and array references.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from desktop.analysis.decimate import minmax_decimate
from desktop.core.types import Block, ChannelSpec
from desktop.streams.envelope import BUCKET, Envelope


@dataclass
class Snapshot:
    """A copy of a stretch of history: ``times`` (n,) float64 s, ``values`` (n, c)."""

    times: np.ndarray
    values: np.ndarray
    channels: tuple[ChannelSpec, ...]
    first_index: int  # absolute index (since the buffer started) of the first sample
    lost: int = 0  # samples a cursor reader missed because they were overwritten

    @property
    def end_index(self) -> int:
        return self.first_index + int(self.values.shape[0])


class RingBuffer:
    """Fixed-capacity history of a source's samples with a float64 time axis.

    Time comes from the block's timestamps when the source has them, else from the
    absolute sample index and ``sample_rate`` (so a rate-based stream never drifts).
    """

    def __init__(
        self,
        channels: tuple[ChannelSpec, ...],
        capacity: int,
        sample_rate: float | None = None,
        dtype: type = np.float32,
    ) -> None:
        if capacity <= 0:
            raise ValueError("ring buffer capacity must be positive")
        # A whole number of envelope buckets, so each bucket is contiguous in the ring.
        self.capacity = -(-int(capacity) // BUCKET) * BUCKET
        self.sample_rate = sample_rate
        self.dtype = dtype
        self._lock = threading.Lock()
        self._channels = tuple(channels)
        self._values = np.full((self.capacity, len(channels)), np.nan, dtype=dtype)
        self._times = np.full(self.capacity, np.nan, dtype=np.float64)
        self._envelope = Envelope(self.capacity // BUCKET, len(channels), dtype)
        self._written = 0  # samples published (absolute index of the next sample)
        self._reserved = 0  # samples the producer may be writing right now
        self.received = 0
        self.dropped = 0  # samples lost to overrun: a block larger than the whole buffer
        # (end index, monotonic time) of recent appends: when did sample i arrive?
        self._arrivals: deque[tuple[int, float]] = deque(maxlen=4096)

    @classmethod
    def for_seconds(
        cls, channels: tuple[ChannelSpec, ...], sample_rate: float | None, seconds: float,
        fallback_rate: float = 1000.0,
    ) -> RingBuffer:
        """Size the buffer for ``seconds`` of history at the source's rate."""
        rate = sample_rate or fallback_rate
        return cls(channels, max(1, round(rate * seconds)), sample_rate)

    @property
    def channels(self) -> tuple[ChannelSpec, ...]:
        return self._channels

    @property
    def written(self) -> int:
        """Absolute count of samples ever appended (also the next sample's index)."""
        return self._written

    def _grow_channels(self, channels: tuple[ChannelSpec, ...]) -> None:
        """Add columns for channels that appeared mid-stream (new names in key:value input)."""
        if channels[: len(self._channels)] != self._channels:
            raise ValueError("channels may only be appended, never renamed or reordered")
        extra = len(channels) - len(self._channels)
        pad = np.full((self.capacity, extra), np.nan, dtype=self.dtype)
        values = np.concatenate([self._values, pad], axis=1)
        with self._lock:
            self._values = values
            self._envelope.grow_channels(extra)
            self._channels = tuple(channels)

    def append(self, block: Block) -> None:
        """Copy a block in (the only producer call). Old samples are overwritten."""
        n = len(block)
        if len(block.channels) != len(self._channels) or block.channels != self._channels:
            self._grow_channels(block.channels)
        if n == 0:
            return
        values, times = block.values, block.timestamps
        start = self._written
        if times is None:
            rate = self.sample_rate or 1.0
            times = (start + np.arange(n, dtype=np.float64)) / rate
        if n > self.capacity:
            self.dropped += n - self.capacity
            values, times = values[-self.capacity :], times[-self.capacity :]
            start += n - self.capacity
        k = values.shape[0]
        with self._lock:
            self._reserved = start + k
        pos = start % self.capacity
        first = min(k, self.capacity - pos)
        self._values[pos : pos + first] = values[:first]
        self._times[pos : pos + first] = times[:first]
        if first < k:
            self._values[: k - first] = values[first:]
            self._times[: k - first] = times[first:]
        with self._lock:
            self._written = start + k
        self._arrivals.append((start + k, time.monotonic()))
        self._envelope.update(self._values, self._times, start + k)
        self.received += n

    def arrival_time(self, index: int) -> float | None:
        """``time.monotonic()`` when sample ``index`` was appended (for latency figures),
        or None when that is too long ago to remember."""
        arrivals = list(self._arrivals)
        i = bisect.bisect_right([end for end, _ in arrivals], index)
        return arrivals[i][1] if i < len(arrivals) else None

    def _copy(self, first_index: int, end_index: int) -> Snapshot:
        with self._lock:
            values_ref, times_ref, channels = self._values, self._times, self._channels
        n = end_index - first_index
        pos = first_index % self.capacity
        head = min(n, self.capacity - pos)  # contiguous slices: far cheaper than fancy indexing
        values = np.concatenate([values_ref[pos:pos + head], values_ref[:n - head]])
        times = np.concatenate([times_ref[pos:pos + head], times_ref[:n - head]])
        with self._lock:
            reserved = self._reserved
        # Samples whose slot the producer may have reused while we copied are not trusted.
        oldest_safe = reserved - self.capacity
        cut = max(0, oldest_safe - first_index)
        if cut:
            values, times, first_index = values[cut:], times[cut:], first_index + cut
        return Snapshot(times, values, channels, first_index)

    def latest(self, count: int | None = None) -> Snapshot:
        """The newest ``count`` samples (default: the whole history), as a copy."""
        end = self._written
        available = min(end, self.capacity)
        count = available if count is None else max(0, min(count, available))
        return self._copy(end - count, end)

    def since(self, cursor: int) -> Snapshot:
        """Samples from absolute index ``cursor`` on, for readers that must see every
        sample (inference). ``lost`` counts samples overwritten before this reader came
        back; they are also added to :attr:`dropped`."""
        end = self._written
        oldest = max(0, end - self.capacity)
        lost = max(0, oldest - cursor)
        snap = self._copy(max(cursor, oldest), end)
        lost += max(0, snap.first_index - max(cursor, oldest))
        if lost:
            self.dropped += lost
        snap.lost = lost
        return snap

    def between(self, first_index: int, end_index: int) -> Snapshot:
        """Raw samples with absolute indices ``[first_index, end_index)`` that are still
        kept, as a copy (analysis of a span; never counted as lost)."""
        end = self._written
        oldest = max(0, end - self.capacity)
        i0 = min(max(first_index, oldest), end)
        return self._copy(i0, max(i0, min(end_index, end)))

    def time_window(self, seconds: float) -> Snapshot:
        """The samples of the last ``seconds`` of signal time (for drawing)."""
        snap = self.latest()
        if snap.times.size == 0:
            return snap
        start = np.searchsorted(snap.times, snap.times[-1] - seconds, side="left")
        return Snapshot(snap.times[start:], snap.values[start:], snap.channels,
                        snap.first_index + int(start))

    # -- drawing ------------------------------------------------------------------------
    def index_at_time(self, t: float, side: str = "left") -> int:
        """Absolute index where time ``t`` falls among the kept samples (searchsorted)."""
        end = self._written
        times = self._times
        if end <= self.capacity:
            return int(np.searchsorted(times[:end], t, side=side))  # type: ignore[call-overload]
        oldest, pos = end - self.capacity, end % self.capacity
        older = times[pos:]  # the oldest samples sit after the write position
        i = int(np.searchsorted(older, t, side=side))  # type: ignore[call-overload]
        if i < older.size:
            return oldest + i
        return oldest + older.size + int(
            np.searchsorted(times[:pos], t, side=side))  # type: ignore[call-overload]

    def view(self, t_start: float, t_end: float, columns: int) -> Snapshot:
        """What a lane ``columns`` pixels wide shows for ``[t_start, t_end]``.

        At most about ``2 * columns`` points (min/max pairs), from the raw samples when
        the span is short and from the precomputed envelope when it is long, so the cost
        of a frame does not grow with the history length.
        """
        columns = max(1, int(columns))
        i0 = self.index_at_time(t_start)
        i1 = self.index_at_time(t_end, side="right")
        n = i1 - i0
        if n <= 0:
            return self._copy(i0, i0)
        if n < columns * BUCKET:  # fewer than one bucket per pixel column: raw samples
            snap = self._copy(i0, i1)
            t, v = minmax_decimate(snap.times, snap.values, columns)
            return Snapshot(t, v, snap.channels, snap.first_index)
        b0 = -(-i0 // BUCKET)
        b1 = min(i1 // BUCKET, self._envelope.done)
        with self._lock:
            channels = self._channels
        t_b, lo, hi = self._envelope.read(b0, b1)
        tail = self._copy(b1 * BUCKET, i1)
        with self._lock:
            reserved = self._reserved
        cut = max(0, (reserved - self.capacity) // BUCKET + 1 - b0)  # overwritten meanwhile
        t_b, lo, hi = t_b[cut:], lo[cut:], hi[cut:]
        group = max(1, -(-t_b.size // columns))
        usable = (t_b.size // group) * group
        start = t_b.size - usable
        with np.errstate(invalid="ignore"):
            glo = np.fmin.reduce(lo[start:].reshape(-1, group, lo.shape[1]), axis=1)
            ghi = np.fmax.reduce(hi[start:].reshape(-1, group, hi.shape[1]), axis=1)
        gt = t_b[start:].reshape(-1, group)
        step = (t_b[1] - t_b[0]) / BUCKET if t_b.size > 1 else 0.0
        pts_t = np.empty(2 * glo.shape[0], dtype=np.float64)
        pts_t[0::2] = gt[:, 0]
        pts_t[1::2] = gt[:, -1] + step * (BUCKET - 1)
        pts_v = np.empty((2 * glo.shape[0], glo.shape[1]), dtype=glo.dtype)
        pts_v[0::2] = glo
        pts_v[1::2] = ghi
        if tail.values.shape[1] == pts_v.shape[1] and tail.times.size:
            tt, tv = minmax_decimate(tail.times, tail.values, max(1, columns // 8))
            pts_t = np.concatenate([pts_t, tt])
            pts_v = np.concatenate([pts_v, tv])
        return Snapshot(pts_t, pts_v, channels, (b0 + cut + start) * BUCKET)

    def sample_at(self, t: float) -> tuple[float, np.ndarray] | None:
        """The kept sample nearest to time ``t`` (for measurement cursors), or None."""
        end = self._written
        if end == 0:
            return None
        oldest = max(0, end - self.capacity)
        i = min(max(self.index_at_time(t), oldest), end - 1)
        if i > oldest and abs(self._times[(i - 1) % self.capacity] - t) < abs(
                self._times[i % self.capacity] - t):
            i -= 1
        snap = self._copy(i, i + 1)
        if snap.times.size == 0:
            return None
        return float(snap.times[0]), snap.values[0].astype(np.float64)
