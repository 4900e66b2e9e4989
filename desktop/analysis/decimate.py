"""Min/max decimation for drawing: at most two points per pixel column.

Why not pyqtgraph's own downsampling: measured on this class of machine it costs more than
it saves below ~50 k points per curve (STACK-NOTES.md), and it runs on the UI thread per
curve. Decimating all channels at once in numpy, to ≤ 2 × the lane's pixel width, keeps
every spike visible (each column keeps its minimum and its maximum) at a fixed cost.

NaN gaps survive: a bucket that holds a NaN keeps it, so the curve breaks there instead of
drawing a line across the gap.
"""

from __future__ import annotations

import numpy as np


def minmax_decimate(times: np.ndarray, values: np.ndarray, columns: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``(n,)`` times and ``(n, c)`` values to at most ``2 * columns`` points.

    Each of ``columns`` buckets contributes its min and max (in time order, per channel the
    pair is emitted as (min, max) at the bucket's first and last time). Data already short
    enough is returned unchanged (as views).
    """
    n = times.shape[0]
    columns = max(1, int(columns))
    if n <= 2 * columns:
        return times, values
    per = n // columns
    usable = per * columns
    start = n - usable  # keep the newest samples aligned to the right edge
    t = times[start:].reshape(columns, per)
    v = values[start:].reshape(columns, per, values.shape[1])
    with np.errstate(invalid="ignore"):
        lo = v.min(axis=1)  # NaN propagates: a gap stays a gap
        hi = v.max(axis=1)
    out_t = np.empty(2 * columns, dtype=np.float64)
    out_t[0::2] = t[:, 0]
    out_t[1::2] = t[:, -1]
    out_v = np.empty((2 * columns, values.shape[1]), dtype=values.dtype)
    out_v[0::2] = lo
    out_v[1::2] = hi
    return out_t, out_v


def gaps_to_nan(times: np.ndarray, values: np.ndarray, max_step: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN row wherever time jumps by more than ``max_step`` seconds.

    A device that was unplugged for 3 s must show a 3 s hole, not a straight line joining
    the last sample before and the first after. The caller picks ``max_step`` from the
    raw sample step and the width of a pixel column (decimated points are uneven).
    """
    if times.shape[0] < 2 or not max_step > 0:
        return times, values
    jumps = np.flatnonzero(np.diff(times) > max_step)
    if jumps.size == 0:
        return times, values
    at = jumps + 1
    new_t = np.insert(times, at, times[jumps])
    new_v = np.insert(values.astype(np.float64, copy=False), at, np.nan, axis=0)
    return new_t, new_v
