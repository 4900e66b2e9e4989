"""A multi-resolution min/max pyramid: any span of a long signal reduced to ≤ 2 points per
pixel column at a cost that does not grow with the signal's length.

Level 0 holds the minimum and maximum of every ``BUCKET`` consecutive rows, level L+1 of
every ``FACTOR`` buckets of level L. Built once, in the same pass that reads the file
(:meth:`MinMaxPyramid.add` per chunk, any chunk size), it answers two questions:

- :meth:`MinMaxPyramid.span_minmax`: the exact min/max of rows ``[i0, i1)``, from at most
  ``2 × FACTOR`` buckets per level plus < ``2 × BUCKET`` raw rows at the ends;
- :meth:`MinMaxPyramid.columns`: per pixel column, the min/max of its rows, from the
  coarsest level whose buckets are still narrower than a column (a column's edges snap
  to that level's bucket edges, less than one column off; the two ends of the span are
  exact).

NaN is ignored inside a bucket (``fmin``/``fmax``); a bucket without a finite value stays
NaN, so a long gap still shows as a gap (the ring buffer's envelope does the same). Raw
rows come from a ``raw(i0, i1) -> (n, channels)`` callable, so the pyramid does not care
whether they live in memory or in a memory-mapped file.

One producer thread may :meth:`add` while others query: the level arrays only grow, and
each query works on the counts published under a small lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

BUCKET = 64
FACTOR = 8

RawReader = Callable[[int, int], np.ndarray]


def bucket_rows(level: int) -> int:
    """Rows per bucket of ``level``."""
    return BUCKET * FACTOR**level


class _Grow:
    """An (n, channels) float64 array that grows by doubling; ``view`` is ``[:n]``."""

    def __init__(self, channels: int, capacity: int = 1024) -> None:
        self.arr = np.full((max(1, capacity), channels), np.nan)
        self.n = 0

    @classmethod
    def of(cls, arr: np.ndarray) -> _Grow:
        g = cls.__new__(cls)
        g.arr, g.n = arr, int(arr.shape[0])
        return g

    def append(self, rows: np.ndarray) -> None:
        k = rows.shape[0]
        if self.n + k > self.arr.shape[0]:
            bigger = np.full((max(2 * self.arr.shape[0], self.n + k), self.arr.shape[1]), np.nan)
            bigger[: self.n] = self.arr[: self.n]
            self.arr = bigger  # readers holding the old array still see valid rows [:n]
        self.arr[self.n : self.n + k] = rows
        self.n += k

    def grow_channels(self, extra: int) -> None:
        pad = np.full((self.arr.shape[0], extra), np.nan)
        self.arr = np.concatenate([self.arr, pad], axis=1)

    @property
    def view(self) -> np.ndarray:
        return self.arr[: self.n]


def _reduce(block: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of every ``group`` consecutive rows of ``block`` (len a multiple)."""
    shaped = block.reshape(-1, group, block.shape[1])
    with np.errstate(invalid="ignore"):
        return np.fmin.reduce(shaped, axis=1), np.fmax.reduce(shaped, axis=1)


class MinMaxPyramid:
    """See the module doc. ``rows`` counts rows added; ``finished`` after :meth:`finish`."""

    def __init__(self, channels: int, expected_rows: int = 0) -> None:
        self.channels = int(channels)
        self.rows = 0
        self.finished = False
        self._lock = threading.Lock()
        self._carry = np.empty((0, self.channels))
        cap = max(1024, expected_rows // BUCKET + 1)
        self._lo: list[_Grow] = [_Grow(self.channels, cap)]
        self._hi: list[_Grow] = [_Grow(self.channels, cap)]
        # First and last time of every level-0 bucket (when rows come with times): a
        # zoomed-out view then needs no row at all, not even its time.
        self._t = _Grow(2, cap)
        self._carry_t = np.empty(0)

    # -- building -------------------------------------------------------------------------
    def add(self, values: np.ndarray, times: np.ndarray | None = None) -> None:
        """Append rows ``(n, channels)`` (any n; the last < BUCKET rows wait for more)
        and, if given, their times (then bucket times are kept: :meth:`group_times`)."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape[1] != self.channels:
            raise ValueError(f"{values.shape[1]} columns, the pyramid has {self.channels}")
        block = np.concatenate([self._carry, values]) if self._carry.shape[0] else values
        full = (block.shape[0] // BUCKET) * BUCKET
        if times is not None:
            tblock = np.concatenate([self._carry_t, times]) if self._carry_t.size else times
            if full:
                self._t.append(np.column_stack([tblock[:full:BUCKET],
                                                tblock[BUCKET - 1:full:BUCKET]]))
            self._carry_t = np.array(tblock[full:], dtype=np.float64)
        if full:
            lo, hi = _reduce(block[:full], BUCKET)
            self._lo[0].append(lo)
            self._hi[0].append(hi)
        self._carry = block[full:].copy()
        self._climb(final=False)
        with self._lock:
            self.rows += values.shape[0]

    def grow_channels(self, extra: int) -> None:
        """Channels that appeared mid-file (``name:value`` logs): NaN before they did."""
        with self._lock:
            for g in (*self._lo, *self._hi):
                g.grow_channels(extra)
            self._carry = np.hstack([self._carry, np.full((self._carry.shape[0], extra),
                                                          np.nan)])
            self.channels += extra

    def finish(self) -> None:
        """Close the partial last bucket of every level (the file has ended)."""
        if self._carry.shape[0]:
            lo, hi = _reduce(self._carry, self._carry.shape[0])
            self._lo[0].append(lo)
            self._hi[0].append(hi)
            self._carry = np.empty((0, self.channels))
            if self._carry_t.size:
                self._t.append(np.array([[self._carry_t[0], self._carry_t[-1]]]))
                self._carry_t = np.empty(0)
        self._climb(final=True)
        with self._lock:
            self.finished = True

    def _climb(self, final: bool) -> None:
        level = 0
        while True:
            below_lo, below_hi = self._lo[level], self._hi[level]
            if level + 1 == len(self._lo):
                if below_lo.n <= 1 or (not final and below_lo.n < FACTOR):
                    return
                cap = max(16, below_lo.arr.shape[0] // FACTOR + 1)
                self._lo.append(_Grow(self.channels, cap))
                self._hi.append(_Grow(self.channels, cap))
            lo, hi = self._lo[level + 1], self._hi[level + 1]
            done = lo.n * FACTOR
            complete = (below_lo.n // FACTOR) * FACTOR
            if complete > done:
                a, _ = _reduce(below_lo.view[done:complete], FACTOR)
                _, b = _reduce(below_hi.view[done:complete], FACTOR)
                lo.append(a)
                hi.append(b)
                done = complete
            if final and below_lo.n > done:
                a, _ = _reduce(below_lo.view[done:], below_lo.n - done)
                _, b = _reduce(below_hi.view[done:], below_hi.n - done)
                lo.append(a)
                hi.append(b)
            if lo.n == 0:
                self._lo.pop()
                self._hi.pop()
                return
            level += 1

    # -- saving and loading ------------------------------------------------------------------
    def save(self, folder: Path) -> list[str]:
        """Write ``pyr-L.npy`` (2, buckets, channels) per level; the file names."""
        names = []
        for level, (lo, hi) in enumerate(zip(self._lo, self._hi, strict=True)):
            name = f"pyr-{level}.npy"
            np.save(folder / name, np.stack([lo.view, hi.view]))
            names.append(name)
        if self._t.n == self._lo[0].n:
            np.save(folder / "pyr-t.npy", self._t.view)
            names.append("pyr-t.npy")
        return names

    @classmethod
    def load(cls, folder: Path, names: list[str], rows: int, channels: int) -> MinMaxPyramid:
        """A finished pyramid, memory-mapped from what :meth:`save` wrote."""
        pyr = cls(channels)
        pyr._lo, pyr._hi = [], []
        for name in names:
            if name == "pyr-t.npy":
                pyr._t = _Grow.of(np.load(folder / name, mmap_mode="r"))
                continue
            both = np.load(folder / name, mmap_mode="r")
            pyr._lo.append(_Grow.of(both[0]))
            pyr._hi.append(_Grow.of(both[1]))
        pyr.rows, pyr.finished = rows, True
        return pyr

    # -- queries ----------------------------------------------------------------------------
    def group_times(self, starts: np.ndarray, ends: np.ndarray,
                    raw_times: Callable[[np.ndarray], np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Times of rows ``starts`` and ``ends - 1`` (what :meth:`columns` returns): from
        the bucket times where a row opens or closes a level-0 bucket, else from
        ``raw_times(rows)`` (the two exact ends of a span)."""
        with self._lock:
            t, nt, rows, finished = self._t.arr, self._t.n, self.rows, self.finished
        t = t[:nt]
        starts, last = np.asarray(starts), np.asarray(ends) - 1
        t0, t1 = np.empty(starts.shape), np.empty(last.shape)
        a = (starts % BUCKET == 0) & (starts // BUCKET < nt)
        b = (((last + 1) % BUCKET == 0) | (finished & (last + 1 == rows))) & (
            last // BUCKET < nt)
        t0[a], t1[b] = t[starts[a] // BUCKET, 0], t[last[b] // BUCKET, 1]
        need = np.concatenate([starts[~a], last[~b]])
        if need.size:
            got = raw_times(need)
            t0[~a], t1[~b] = got[:(~a).sum()], got[(~a).sum():]
        return t0, t1

    def _published(self) -> tuple[int, bool, list[tuple[np.ndarray, np.ndarray]]]:
        with self._lock:
            levels = [(lo.arr, hi.arr, min(lo.n, hi.n))
                      for lo, hi in zip(self._lo, self._hi, strict=True)]
            rows, finished = self.rows, self.finished
        return rows, finished, [(lo[:n], hi[:n]) for lo, hi, n in levels]

    @staticmethod
    def _full(level: int, n_buckets: int, covered: int, i0: int, i1: int) -> tuple[int, int]:
        """Whole buckets of ``level`` inside ``[i0, i1)``: ``(b0, b1)``; ``covered`` is the
        last row the level's buckets reach (its last bucket may be a partial one)."""
        s = bucket_rows(level)
        b0 = -(-i0 // s)
        b1 = n_buckets if i1 >= covered else min(n_buckets, i1 // s)
        return b0, b1

    def span_minmax(self, i0: int, i1: int, raw: RawReader) -> tuple[np.ndarray, np.ndarray]:
        """Exact ``(min, max)`` per channel of rows ``[i0, i1)`` (NaN where none is finite)."""
        rows, finished, levels = self._published()
        return self._span(i0, i1, raw, rows, finished, levels)

    def _span(self, i0: int, i1: int, raw: RawReader, rows: int, finished: bool,
              levels: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        c = levels[0][0].shape[1] if levels else self.channels
        los, his = [], []
        stack = [(i0, i1, len(levels) - 1)]
        while stack:
            a, b, level = stack.pop()
            if b <= a:
                continue
            if level < 0:
                block = np.asarray(raw(a, b), dtype=np.float64)
                if block.shape[0]:
                    with np.errstate(invalid="ignore"):
                        los.append(np.fmin.reduce(block, axis=0))
                        his.append(np.fmax.reduce(block, axis=0))
                continue
            lo, hi = levels[level]
            s = bucket_rows(level)
            covered = min(lo.shape[0] * s, rows) if finished else lo.shape[0] * s
            b0, b1 = self._full(level, lo.shape[0], covered, a, b)
            if b0 >= b1:
                stack.append((a, b, level - 1))
                continue
            with np.errstate(invalid="ignore"):
                los.append(np.fmin.reduce(lo[b0:b1], axis=0))
                his.append(np.fmax.reduce(hi[b0:b1], axis=0))
            stack.append((a, b0 * s, level - 1))
            stack.append((min(b1 * s, covered), b, level - 1))
        if not los:
            nan = np.full(c, np.nan)
            return nan, nan.copy()
        with np.errstate(invalid="ignore"):
            return np.fmin.reduce(np.stack(los), axis=0), np.fmax.reduce(np.stack(his), axis=0)

    def columns(self, i0: int, i1: int, columns: int, raw: RawReader
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Rows ``[i0, i1)`` as at most ``columns`` (+2) groups: ``(starts, ends, lo, hi)``
        (row ranges ``[start, end)``, min and max per channel). None when the span is
        short enough to decimate from raw rows (under one level-0 bucket per column)."""
        rows, finished, levels = self._published()
        n = i1 - i0
        columns = max(1, int(columns))
        if n <= 0 or not levels or n < columns * BUCKET:
            return None
        level = 0
        while (level + 1 < len(levels) and bucket_rows(level + 1) * columns <= n):
            level += 1
        lo, hi = levels[level]
        s = bucket_rows(level)
        covered = min(lo.shape[0] * s, rows) if finished else lo.shape[0] * s
        b0, b1 = self._full(level, lo.shape[0], covered, i0, i1)
        if b1 - b0 < 1:
            return None
        group = -(-(b1 - b0) // columns)
        at = np.arange(0, b1 - b0, group)
        with np.errstate(invalid="ignore"):
            glo = np.fmin.reduceat(lo[b0:b1], at, axis=0)
            ghi = np.fmax.reduceat(hi[b0:b1], at, axis=0)
        starts = (b0 + at) * s
        ends = np.minimum(starts + group * s, covered)
        ends[-1] = min(b1 * s, covered)
        head_end, tail_start = b0 * s, int(ends[-1])
        parts_s, parts_e, parts_lo, parts_hi = [starts], [ends], [glo], [ghi]
        if head_end > i0:
            a, b = self._span(i0, head_end, raw, rows, finished, levels)
            parts_s.insert(0, np.array([i0]))
            parts_e.insert(0, np.array([head_end]))
            parts_lo.insert(0, a[None])
            parts_hi.insert(0, b[None])
        if i1 > tail_start:
            a, b = self._span(tail_start, i1, raw, rows, finished, levels)
            parts_s.append(np.array([tail_start]))
            parts_e.append(np.array([i1]))
            parts_lo.append(a[None])
            parts_hi.append(b[None])
        return (np.concatenate(parts_s).astype(np.int64), np.concatenate(parts_e).astype(np.int64),
                np.concatenate(parts_lo), np.concatenate(parts_hi))


def decimate_columns(times: np.ndarray, columns: list[np.ndarray], pixels: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Raw rows (one array per channel, as a columnar file stores them) reduced to at
    most ``2 * pixels + 2`` points sharing one time axis: per pixel column each channel's
    min and max, in the order they occur (``tsdownsample``'s MinMax in Rust, ~2× numpy
    per column; a channel with NaN takes the numpy ``fmin``/``fmax`` path, which keeps
    an all-NaN column as a gap). Pairs sit at the column's first and last time."""
    n = times.shape[0]
    pixels = max(1, int(pixels))
    if n <= 2 * pixels:
        return times, np.column_stack(columns) if columns else np.empty((n, 0))
    per = n // pixels
    used = per * pixels
    extra = used < n
    out_t = np.empty(2 * pixels + 2 * extra)
    out_t[0:2 * pixels:2] = times[0:used:per]
    out_t[1:2 * pixels:2] = times[per - 1:used:per]
    out_v = np.empty((out_t.shape[0], len(columns)))
    try:
        from tsdownsample import MinMaxDownsampler

        fast = MinMaxDownsampler()
    except ImportError:  # pragma: no cover - a declared dependency
        fast = None
    for j, col in enumerate(columns):
        body = col[:used]
        if fast is not None and not np.isnan(body).any():
            out_v[:2 * pixels, j] = body[fast.downsample(body, n_out=2 * pixels)]
        else:
            lo, hi = _reduce(body[:, None], per)
            out_v[0:2 * pixels:2, j] = lo[:, 0]
            out_v[1:2 * pixels:2, j] = hi[:, 0]
    if extra:
        out_t[-2:] = times[used], times[-1]
        with np.errstate(invalid="ignore"):
            tail = np.column_stack([c[used:] for c in columns])
            out_v[-2] = np.fmin.reduce(tail, axis=0)
            out_v[-1] = np.fmax.reduce(tail, axis=0)
    return out_t, out_v
