"""An opened recording read lazily from disk, behind the ring buffer's read interface.

The plots read every session through the same calls (``view(t0, t1, pixels)``,
``latest``, ``sample_at``, ``index_at_time``, ``written``, ``channels``,
``sample_rate``), so a file of any size draws exactly like a live stream. Behind them:

- the rows live in the columnar cache (:mod:`desktop.recording.cache`, memory-mapped
  Arrow IPC segments), so only the rows of the visible span are ever paged in;
- a min/max pyramid (:mod:`desktop.analysis.pyramid`) reduces any zoomed-out span to
  ≤ 2 points per pixel column without reading the rows at all;
- while the file is still being indexed, the part not indexed yet is drawn from a
  *skim* (a few hundred slices of a text file read in a second or so), so the whole file
  shows at once and sharpens as :func:`index_file` works through it.

:func:`index_file` is the long job (progress, Cancel) that builds the cache and the
pyramid in one pass over the file, or reopens them when the file has not changed. It
announces the view (``task.report(..., view=...)``) as soon as something can be drawn.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.decimate import minmax_decimate
from desktop.analysis.pyramid import MinMaxPyramid, decimate_columns
from desktop.core.errors import RecordingError
from desktop.core.tasks import TaskState, active_task
from desktop.core.types import ChannelSpec
from desktop.recording.cache import CacheMeta, Segments, SegmentWriter, cache_folder, clear_stale
from desktop.recording.chunks import Skim, open_chunks
from desktop.streams import cache_budget
from desktop.streams.ring import Snapshot

log = logging.getLogger(__name__)

#: ``latest()`` without a count returns at most this many rows (a file may be 10 GB).
MAX_LATEST = 1 << 20


class FileView:
    """See the module doc. Made by :func:`index_file`; ``complete`` once indexed."""

    def __init__(self, path: Path, folder: Path, channels: tuple[ChannelSpec, ...],
                 nominal_rate: float | None, timed: bool, segments: Segments,
                 pyramid: MinMaxPyramid, preview: Skim | None = None) -> None:
        self.path = path
        self.folder = folder
        self._channels = channels
        self.nominal_rate = nominal_rate
        self.timed = timed
        self.segments = segments
        self.pyramid = pyramid
        self.preview = preview
        self.complete = False
        self.metadata: dict[str, Any] = {}
        self.source = ""
        self.start_time = ""

    @classmethod
    def reopen(cls, path: Path, folder: Path, meta: CacheMeta) -> FileView:
        """A file indexed before: its cache, memory-mapped (no parsing)."""
        channels = meta.channel_specs()
        segments = Segments(folder, len(channels))
        for name, rows, t0, t1 in meta.segments:
            segments.append(name, int(rows), float(t0), float(t1))
        pyramid = MinMaxPyramid.load(folder, meta.pyramid, meta.rows, len(channels))
        view = cls(path, folder, channels, meta.sample_rate, meta.timed, segments, pyramid)
        view.complete = True
        view.metadata, view.source, view.start_time = meta.metadata, meta.source, meta.start_time
        return view

    # -- the ring buffer's read interface ----------------------------------------------------
    @property
    def channels(self) -> tuple[ChannelSpec, ...]:
        return self._channels

    @property
    def sample_rate(self) -> float | None:
        return self.effective_rate()

    @property
    def written(self) -> int:
        """Rows indexed so far (the whole file once ``complete``); before the first
        segment, the skim's rows, so a plot knows there is something to draw."""
        rows = self.segments.rows
        if rows == 0 and self.preview is not None:
            return int(self.preview.times.shape[0])
        return rows

    def _preview_after(self) -> float | None:
        """Times after this are drawn from the skim (not indexed yet); None = none."""
        if self.complete or self.preview is None or self.preview.times.size == 0:
            return None
        last = self.segments.last_time
        if last is not None and last >= self.preview.times[-1]:
            return None
        return last if last is not None else -np.inf

    def _preview_values(self, sel: slice | np.ndarray) -> np.ndarray:
        v = self.preview.values[sel]  # type: ignore[union-attr]
        width = len(self._channels)
        if v.shape[1] < width:
            v = np.hstack([v, np.full((v.shape[0], width - v.shape[1]), np.nan)])
        return v[:, :width]

    def latest(self, count: int | None = None) -> Snapshot:
        """The last ``count`` rows of the file (at most :data:`MAX_LATEST`); while
        indexing, the skim's last rows (the file's true end)."""
        count = MAX_LATEST if count is None else max(0, int(count))
        if self._preview_after() is not None:
            k = min(count, self.preview.times.shape[0])  # type: ignore[union-attr]
            sel = slice(self.preview.times.shape[0] - k, None)  # type: ignore[union-attr]
            return Snapshot(self.preview.times[sel].copy(),  # type: ignore[union-attr]
                            self._preview_values(sel), self._channels, self.segments.rows)
        n = self.segments.rows
        k = min(count, n)
        times, cols = self.segments.read(n - k, n)
        return Snapshot(times, _stack(cols, k), self._channels, n - k)

    def between(self, first_index: int, end_index: int) -> Snapshot:
        """Raw rows ``[first_index, end_index)`` of the indexed part, read from the cache
        (what the analysis dock reads for a span: only those rows, never the whole file)."""
        n = self.segments.rows
        i0 = min(max(0, int(first_index)), n)
        i1 = max(i0, min(int(end_index), n))
        times, cols = self.segments.read(i0, i1)
        return Snapshot(times, _stack(cols, i1 - i0), self._channels, i0)

    def index_at_time(self, t: float, side: str = "left") -> int:
        """Row where time ``t`` falls among the indexed rows (searchsorted)."""
        return self.segments.index_at_time(t, side)

    def sample_at(self, t: float) -> tuple[float, np.ndarray] | None:
        """The row nearest to time ``t`` (measurement cursors), or None."""
        after = self._preview_after()
        n = self.segments.rows
        if n and (after is None or t <= after):
            i = min(max(self.index_at_time(t), 0), n - 1)
            lo = max(0, i - 1)
            times, cols = self.segments.read(lo, i + 1)
            k = int(np.argmin(np.abs(times - t))) if np.isfinite(t) else (
                0 if t < 0 else times.size - 1)
            return float(times[k]), np.array([c[k] for c in cols], dtype=np.float64)
        if self.preview is None or self.preview.times.size == 0:
            return None
        pt = self.preview.times
        i = int(np.clip(np.searchsorted(pt, t), 0, pt.size - 1))
        if i > 0 and abs(pt[i - 1] - t) < abs(pt[i] - t):
            i -= 1
        return float(pt[i]), self._preview_values(slice(i, i + 1))[0].astype(np.float64)

    def view(self, t_start: float, t_end: float, columns: int) -> Snapshot:
        """What a lane ``columns`` pixels wide shows for ``[t_start, t_end]``: ≤ about
        ``2 * columns`` points, from the pyramid when zoomed out, from the rows (read
        from disk, visible span only) when zoomed in, from the skim where the file is
        not indexed yet."""
        columns = max(1, int(columns))
        parts_t: list[np.ndarray] = []
        parts_v: list[np.ndarray] = []
        first_index = 0
        after = self._preview_after()
        last = self.segments.last_time
        span = max(t_end - t_start, 1e-12)
        if last is not None and t_start <= last:
            end = t_end if after is None else min(t_end, last)
            share = columns if end >= t_end else max(1, int(columns * (end - t_start) / span))
            n = self.segments.rows
            i0 = max(0, self.index_at_time(t_start) - 1)
            i1 = min(n, self.index_at_time(end, side="right") + 1)
            if i1 > i0:
                t, v = self._detail(i0, i1, share)
                parts_t.append(t)
                parts_v.append(v)
                first_index = i0
        if after is not None and t_end > after:
            pt = self.preview.times  # type: ignore[union-attr]
            a = int(np.searchsorted(pt, max(t_start, after), side="right"))
            a = max(a - 1, int(np.searchsorted(pt, after, side="right")))
            b = min(pt.size, int(np.searchsorted(pt, t_end, side="right")) + 1)
            if b > a:
                share = max(1, int(columns * (t_end - max(t_start, after)) / span))
                t, v = minmax_decimate(pt[a:b], self._preview_values(slice(a, b)), share)
                parts_t.append(t)
                parts_v.append(v)
        if not parts_t:
            return Snapshot(np.empty(0), np.empty((0, len(self._channels))), self._channels,
                            first_index)
        times = parts_t[0] if len(parts_t) == 1 else np.concatenate(parts_t)
        values = parts_v[0] if len(parts_v) == 1 else np.concatenate(parts_v)
        return Snapshot(times, values, self._channels, first_index)

    def _detail(self, i0: int, i1: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
        groups = self.pyramid.columns(i0, i1, columns, self.segments.values)
        if groups is None:
            times, cols = self.segments.read(i0, i1)
            return decimate_columns(times, cols, columns)
        starts, ends, lo, hi = groups
        k = starts.size
        t = np.empty(2 * k)
        t[0::2], t[1::2] = self.pyramid.group_times(starts, ends, self.segments.times_at)
        v = np.empty((2 * k, lo.shape[1]))
        v[0::2], v[1::2] = lo, hi
        return t, v

    # -- the file as a whole -----------------------------------------------------------------
    @property
    def rows(self) -> int:
        """Rows indexed so far (all of them once ``complete``)."""
        return self.segments.rows

    @property
    def first_time(self) -> float:
        first = self.sample_at(float("-inf"))
        return float(first[0]) if first is not None else 0.0

    def time_range(self) -> tuple[float, float] | None:
        """(first, last) time of the file; while indexing, the skim's last time."""
        first = self.sample_at(float("-inf"))
        last = self.latest(1)
        if first is None or last.times.size == 0:
            return None
        return first[0], float(last.times[-1])

    def effective_rate(self) -> float | None:
        """The nominal rate, else the mean rate of the time column (measured)."""
        if self.nominal_rate:
            return float(self.nominal_rate)
        n = self.segments.rows
        first, last = self.segments.first_time, self.segments.last_time
        if n > 1 and first is not None and last is not None and last > first:
            return (n - 1) / (last - first)
        if self.preview is not None and self.preview.first_rows.shape[0] > 1:
            head = self.preview.times[: self.preview.first_rows.shape[0]]
            step = float(np.median(np.diff(head)))
            return 1.0 / step if step > 0 else None
        return None

    @property
    def duration_s(self) -> float:
        rng = self.time_range()
        n = self.segments.rows
        if rng is None:
            return 0.0
        span = rng[1] - rng[0]
        return span * n / (n - 1) if self.complete and n > 1 else span

    def channel(self, index: int) -> np.ndarray:
        """One channel, every indexed row, as float64 in memory (whole-file verdicts:
        8 bytes per row, ~80 MB for a 1 GB CSV of 8 channels)."""
        return self.segments.column(index)


def _stack(cols: list[np.ndarray], n: int) -> np.ndarray:
    return np.column_stack(cols) if cols else np.empty((n, 0))


def index_file(path: Path | str, rate: float | None = None, decimal: str | None = None,
               task: TaskState | None = None, **options: Any) -> FileView:
    """Open ``path`` lazily: reuse its cache, or build the cache and the pyramid in one
    pass (progress, Cancel). The view is announced with ``task.report(..., view=v)`` as
    soon as it can draw (the skim of a big text file, else the first segment).
    ``options`` are the other read options (``dayfirst``, ``thousands`` …: see
    :class:`~desktop.recording.format.ReadOptions`); they are part of the cache's key.

    Raises :class:`~desktop.core.errors.RecordingError` for an unreadable file and when
    the cache cannot be written (disk full: the partial cache is removed, see
    :func:`_cache_write_failed`), :class:`~desktop.core.tasks.Cancelled` when cancelled
    (the announced view keeps what was indexed; the cache folder, without its
    ``meta.json``, is rebuilt next time).
    """
    from desktop.recording.readers import _resolve

    task = task or TaskState()
    path = Path(path)
    task.report(0.0, f"opening {path.name}")
    resolved, _kind = _resolve(path)
    options = {k: v for k, v in options.items() if v is not None}
    folder = cache_folder(resolved, rate, decimal, options)
    meta = CacheMeta.load(folder)
    if meta is not None:
        view = FileView.reopen(path, folder, meta)
        cache_budget.touch(folder)  # most recently used: the last the cap deletes
        task.finish(f"{path.name}: reopened from the cache")
        return view
    clear_stale(folder)
    views: list[FileView] = []  # the views this pass announced (to disarm on failure)
    try:
        view = _build_index(path, folder, rate, decimal, task, views, options)
    except OSError as exc:  # the cache's disk is full (or unwritable) mid-pass
        raise _cache_write_failed(path, folder, views, exc) from None
    if view.complete:
        with contextlib.suppress(OSError):  # the cap is housekeeping, never a failure
            freed = cache_budget.prune(keep=[folder])
            if freed:
                log.info("cache over its cap: %.0f MB of older caches deleted", freed / 1e6)
    return view


def _cache_write_failed(path: Path, folder: Path, views: list[FileView], exc: OSError
                        ) -> RecordingError:
    """Writing the cache failed: remove the partial cache (a full disk stays full
    otherwise), make the announced views forget the segments whose files are gone (the
    coarse preview stays), and say so in one line (the window's failure path shows it)."""
    for view in views:
        view.segments.forget()
    shutil.rmtree(folder, ignore_errors=True)
    log.warning("indexing %s stopped, cache %s removed: %s", path, folder, exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RecordingError(f"the disk holding Linewatch's cache ({folder.parent}) is full: "
                              f"indexing {path.name} stopped and its partial cache was "
                              "removed; free some space there and open the file again")
    return RecordingError(f"indexing {path.name} stopped: {exc.strerror or exc} "
                          f"({exc.filename or folder}); its partial cache was removed")


def _build_index(path: Path, folder: Path, rate: float | None, decimal: str | None,
                 task: TaskState, views: list[FileView],
                 options: dict[str, Any] | None = None) -> FileView:
    """The one pass of :func:`index_file` into the (new or cleared) cache ``folder``."""
    started = time.perf_counter()
    with active_task(task):  # a format read whole here (a workbook) reports and cancels
        stream = open_chunks(path, rate, decimal, **(options or {}))
    skim = stream.skim() if stream.skim is not None else None
    channels = stream.channels or (tuple(ChannelSpec(n) for n in skim.names) if skim else ())
    view: FileView | None = None
    if skim is not None:
        view = _new_view(path, folder, channels, stream.sample_rate, skim.timed, skim)
        views.append(view)
        task.report(0.0, f"indexing {path.name}", view=view)
    writer: SegmentWriter | None = None
    rows = 0
    timed = False

    def publish(done: list[list[Any]]) -> None:
        for name, n, t0, t1 in done:
            view.segments.append(name, n, t0, t1)  # type: ignore[union-attr]

    for chunk in stream.chunks:
        if writer is None:
            timed = chunk.times is not None
            if not timed and not stream.sample_rate:
                raise RecordingError(f"{path} has no time column and does not state its sample"
                                     " rate: open it with a rate (linewatch FILE --rate HZ)")
            channels = stream.channels or tuple(ChannelSpec(n) for n in chunk.names)
            if view is None:
                view = _new_view(path, folder, channels, stream.sample_rate, timed, None)
                views.append(view)
            else:
                view._channels, view.timed = channels, timed
            writer = SegmentWriter(folder, len(channels))
        assert view is not None
        if len(chunk.names) > len(view.channels):  # a key-value log named a new channel
            extra = len(chunk.names) - len(view.channels)
            writer.grow_channels(extra)
            view.pyramid.grow_channels(extra)
            view.segments.channels += extra
            view._channels = view.channels + tuple(ChannelSpec(n) for n in
                                                   chunk.names[len(view.channels):])
        values = chunk.values
        if values.shape[1] < len(view.channels):
            values = np.hstack([values, np.full((values.shape[0],
                                                 len(view.channels) - values.shape[1]), np.nan)])
        times = chunk.times if chunk.times is not None else (
            (rows + np.arange(values.shape[0], dtype=np.float64)) / float(stream.sample_rate))
        rows += values.shape[0]
        had = view.segments.rows
        # The pyramid may run ahead of the published segments: views only ask for rows
        # that are published.
        view.pyramid.add(values, times)
        publish(writer.add(times, values))
        if had == 0 and view.segments.rows and skim is None:
            task.report(0.0, f"indexing {path.name}", view=view)
        task.report(0.99 * chunk.done, f"indexing {path.name}: {rows:,} rows")
    if writer is None or view is None or rows == 0:
        raise RecordingError(f"{path} holds no samples")
    announced = view.segments.rows > 0 or skim is not None
    publish(writer.close())
    view.pyramid.finish()
    view.metadata = dict(stream.metadata)
    view.source, view.start_time = stream.source, stream.start_time
    CacheMeta(str(path.resolve()), [[c.name, c.unit] for c in view.channels],
              stream.sample_rate, timed, rows,
              [[name, n, t0, t1] for name, n, t0, t1 in _segment_rows(view.segments)],
              view.pyramid.save(folder), view.metadata, view.source,
              view.start_time).save(folder)
    view.complete = True
    log.info("%s indexed: %d rows in %.1f s", path.name, rows, time.perf_counter() - started)
    if not announced:
        task.report(1.0, f"{path.name} indexed", view=view)
    task.finish(f"{path.name}: {rows:,} rows indexed")
    return view


def _new_view(path: Path, folder: Path, channels: tuple[ChannelSpec, ...],
              rate: float | None, timed: bool, skim: Skim | None) -> FileView:
    expected = int(1.05 * skim.estimated_rows) if skim is not None else 0  # no regrowth
    return FileView(path, folder, channels, rate, timed, Segments(folder, len(channels)),
                    MinMaxPyramid(len(channels), expected), skim)


def _segment_rows(segments: Segments) -> list[tuple[str, int, float, float]]:
    starts = segments._starts
    return [(segments._names[k], starts[k + 1] - starts[k], segments._first_t[k],
             segments._last_t[k]) for k in range(len(segments._names))]
