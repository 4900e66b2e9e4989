"""A min/max envelope of the ring buffer, kept up to date as samples arrive.

Drawing 60 s of 16 channels at 20 kHz means 19 M values; reducing them to two points per
pixel column every frame would cost more than a frame. Instead, each bucket of
``BUCKET`` consecutive samples is reduced once, when it completes, to its minimum and
maximum (cost proportional to the data rate, not to the frame rate). A zoomed-out view
then reads 64× fewer values, and spikes still show because min and max are kept.

NaN (a missing value in one line of a key:value stream) is ignored inside a bucket; a
bucket with no finite value stays NaN, so long gaps still show as gaps.
"""

from __future__ import annotations

import numpy as np

BUCKET = 64


class Envelope:
    """Per-bucket min/max/first-time arrays, in the same circular layout as the ring."""

    def __init__(self, buckets: int, channels: int, dtype: type) -> None:
        self.buckets = buckets
        self.dtype = dtype
        self.lo = np.full((buckets, channels), np.nan, dtype=dtype)
        self.hi = np.full((buckets, channels), np.nan, dtype=dtype)
        self.t = np.full(buckets, np.nan, dtype=np.float64)
        self.done = 0  # absolute number of completed buckets

    def grow_channels(self, extra: int) -> None:
        pad = np.full((self.buckets, extra), np.nan, dtype=self.dtype)
        self.lo = np.concatenate([self.lo, pad], axis=1)
        self.hi = np.concatenate([self.hi, pad.copy()], axis=1)

    def update(self, values: np.ndarray, times: np.ndarray, written: int) -> None:
        """Reduce every bucket completed up to absolute sample ``written``.

        ``values``/``times`` are the ring's own arrays (capacity = buckets × BUCKET), so a
        bucket's samples are contiguous there.
        """
        target = written // BUCKET
        first = max(self.done, target - self.buckets)
        b = first
        while b < target:
            slot = b % self.buckets
            run = min(target - b, self.buckets - slot)
            block = values[slot * BUCKET:(slot + run) * BUCKET].reshape(run, BUCKET, -1)
            with np.errstate(invalid="ignore"):
                self.lo[slot:slot + run] = np.fmin.reduce(block, axis=1)
                self.hi[slot:slot + run] = np.fmax.reduce(block, axis=1)
            self.t[slot:slot + run] = times[slot * BUCKET:(slot + run) * BUCKET:BUCKET]
            b += run
        self.done = target

    def read(self, first_bucket: int, end_bucket: int) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
        """Copies of (t, lo, hi) for absolute buckets ``[first_bucket, end_bucket)``."""
        idx = np.arange(first_bucket, end_bucket) % self.buckets
        return self.t[idx], self.lo[idx], self.hi[idx]
