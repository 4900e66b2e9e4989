"""The columnar cache of an opened recording: Arrow IPC segments read by memory map.

Opening a big text file means parsing it; doing that once is enough. While a recording
is indexed its rows are written to ``seg-NNNNNN.arrow`` files (uncompressed Arrow IPC,
one record batch each, ``time_s`` + one float64 column per channel, ~32 MB apiece) in a
folder of the user cache dir (:func:`desktop.core.paths.cache_dir`). A closed segment can
be memory-mapped at once, so the window reads detail from disk while the rest is still
being parsed, and only the rows on screen are ever paged in. ``meta.json`` is written
last (atomically): a folder without it is an interrupted index and is rebuilt.

The folder's name is made of the file's resolved path and its size, mtime and the rate
asked for: a changed file gets a new folder (the stale one is deleted) and an unchanged
one is reopened without parsing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from desktop.core import paths
from desktop.core.atomic import atomic_write_text
from desktop.core.types import ChannelSpec

log = logging.getLogger(__name__)

CACHE_VERSION = 3  # 3: readers of issue #23 (TDMS groups, sheets, text layouts, epochs)
SEGMENT_BYTES = 32 << 20
TIME = "time_s"
#: Memory maps kept open (LRU). A mapped page the plots touched counts in the process's
#: RSS until its segment is unmapped (it is clean page cache, but users read RSS), so only
#: a few segments stay mapped; mapping one again costs ~0.1 ms.
OPEN_SEGMENTS = 4


def cache_folder(path: Path, rate: float | None = None, decimal: str | None = None,
                 options: dict[str, Any] | None = None) -> Path:
    """Where the cache of ``path`` (as it is now on disk, read with ``rate``, ``decimal``
    and the other read ``options``, e.g. ``dayfirst``) lives."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    who = hashlib.sha1(str(resolved).encode()).hexdigest()[:16]
    given = {k: v for k, v in sorted((options or {}).items()) if v is not None}
    extra = f":{given}" if given else ""  # no options: the key caches made before had
    state = hashlib.sha1(f"{st.st_size}:{st.st_mtime_ns}:{rate}:{decimal}:{CACHE_VERSION}{extra}"
                         .encode()).hexdigest()[:10]
    return paths.cache_dir() / "files" / f"{who}-{state}"


def clear_stale(folder: Path) -> None:
    """Delete other caches of the same file (older versions of it) and an interrupted
    build of this one. Folders still mapped elsewhere (Windows) are left for next time."""
    who = folder.name.split("-")[0]
    for other in folder.parent.glob(f"{who}-*"):
        if other != folder or not (other / "meta.json").exists():
            with contextlib.suppress(OSError):
                shutil.rmtree(other)


@dataclass
class CacheMeta:
    """What ``meta.json`` holds: enough to reopen the recording without its file."""

    source_path: str
    channels: list[list[str]]  # [name, unit]
    sample_rate: float | None
    timed: bool  # the file has its own time column (else times are index / rate)
    rows: int
    segments: list[list[Any]]  # [file name, rows, first time, last time]
    pyramid: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    start_time: str = ""
    version: int = CACHE_VERSION

    def channel_specs(self) -> tuple[ChannelSpec, ...]:
        return tuple(ChannelSpec(n, u) for n, u in self.channels)

    def save(self, folder: Path) -> None:
        atomic_write_text(folder / "meta.json", json.dumps(asdict(self), default=_jsonable))

    @classmethod
    def load(cls, folder: Path) -> CacheMeta | None:
        try:
            raw = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            meta = cls(**raw)
        except (OSError, ValueError, TypeError):
            return None
        if meta.version != CACHE_VERSION or not all(
                (folder / s[0]).is_file() for s in meta.segments):
            return None
        return meta


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _f64_view(array: pa.Array) -> np.ndarray:
    """A float64 column without nulls as a numpy view of the mapped file (no copy; and
    unlike ``to_numpy`` it does not import pandas, 1–2 s on a first open)."""
    data = array.buffers()[1]
    return np.frombuffer(data, dtype=np.float64, count=len(array), offset=array.offset * 8)


class SegmentWriter:
    """Collects rows and writes a segment file each time ~``SEGMENT_BYTES`` are held."""

    def __init__(self, folder: Path, channels: int, segment_bytes: int | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.channels = channels
        self.segment_bytes = segment_bytes or SEGMENT_BYTES
        self._times: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._held = 0
        self.count = 0

    @property
    def segment_rows(self) -> int:
        return max(4096, self.segment_bytes // (8 * (self.channels + 1)))

    def grow_channels(self, extra: int) -> None:
        self._values = [np.hstack([v, np.full((v.shape[0], extra), np.nan)])
                        for v in self._values]
        self.channels += extra

    def add(self, times: np.ndarray, values: np.ndarray) -> list[list[Any]]:
        """Hold rows; returns the segments this completed: ``[name, rows, t0, t1]``."""
        self._times.append(np.asarray(times, dtype=np.float64))
        self._values.append(np.asarray(values, dtype=np.float64))
        self._held += len(times)
        out = []
        while self._held >= self.segment_rows:
            out.append(self._write(self.segment_rows))
        return out

    def close(self) -> list[list[Any]]:
        return [self._write(self._held)] if self._held else []

    def _take(self, parts: list[np.ndarray], rows: int) -> tuple[list[np.ndarray],
                                                                 list[np.ndarray]]:
        """Split held pieces into the first ``rows`` rows and the rest (views, no copy)."""
        taken, rest, need = [], [], rows
        for p in parts:
            if need >= p.shape[0]:
                taken.append(p)
                need -= p.shape[0]
            elif need > 0:
                taken.append(p[:need])
                rest.append(p[need:])
                need = 0
            else:
                rest.append(p)
        return taken, rest

    def _write(self, rows: int) -> list[Any]:
        t_parts, self._times = self._take(self._times, rows)
        v_parts, self._values = self._take(self._values, rows)
        self._held -= rows
        name = f"seg-{self.count:06d}.arrow"
        self.count += 1
        # One column at a time: the segment is never copied whole.
        arrays = [pa.array(np.concatenate(t_parts))]
        arrays += [pa.array(np.concatenate([v[:, j] for v in v_parts]))
                   for j in range(self.channels)]
        names = [TIME] + [f"c{j}" for j in range(self.channels)]
        batch = pa.record_batch(arrays, names=names)
        with pa.OSFile(str(self.folder / name), "wb") as sink, \
                pa.ipc.new_file(sink, batch.schema) as writer:
            writer.write_batch(batch)
        t0 = float(t_parts[0][0])
        t1 = float(t_parts[-1][-1])
        return [name, int(rows), t0, t1]


class Segments:
    """Memory-mapped segments as one row space: raw reads, times and time search.

    Thread-safe for one appender and many readers: ``append`` publishes a finished
    segment; readers see the segments published when they started.
    """

    def __init__(self, folder: Path, channels: int) -> None:
        self.folder = folder
        self.channels = channels
        self._lock = threading.Lock()
        self._names: list[str] = []
        self._starts: list[int] = [0]  # row index of each segment's first row, + the end
        self._first_t: list[float] = []
        self._last_t: list[float] = []
        self._open: OrderedDict[int, tuple[np.ndarray, list[np.ndarray]]] = OrderedDict()

    def append(self, name: str, rows: int, t0: float, t1: float) -> None:
        with self._lock:
            self._names.append(name)
            self._first_t.append(t0)
            self._last_t.append(t1)
            self._starts.append(self._starts[-1] + rows)

    def forget(self) -> None:
        """Drop every published segment and mapping (their files are being deleted: the
        cache could not be finished). Readers then see no rows."""
        with self._lock:
            self._names.clear()
            self._first_t.clear()
            self._last_t.clear()
            self._starts[:] = [0]
            self._open.clear()

    @property
    def rows(self) -> int:
        return self._starts[-1]

    @property
    def last_time(self) -> float | None:
        return self._last_t[-1] if self._last_t else None

    @property
    def first_time(self) -> float | None:
        return self._first_t[0] if self._first_t else None

    def _state(self) -> tuple[list[int], list[float]]:
        with self._lock:
            return list(self._starts), list(self._first_t)

    def _segment(self, k: int) -> tuple[np.ndarray, list[np.ndarray]]:
        with self._lock:
            hit = self._open.get(k)
            if hit is not None:
                self._open.move_to_end(k)
                return hit
            name = self._names[k]
        table = pa.ipc.open_file(pa.memory_map(str(self.folder / name), "r")).read_all()
        cols = [_f64_view(table.column(i).chunk(0)) for i in range(table.num_columns)]
        entry = (cols[0], cols[1:])
        with self._lock:
            self._open[k] = entry
            while len(self._open) > OPEN_SEGMENTS:
                self._open.popitem(last=False)
        return entry

    def read(self, i0: int, i1: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Rows ``[i0, i1)``: times and one array per channel (copies, NaN-padded for
        channels a segment did not have yet)."""
        starts, _ = self._state()
        i0, i1 = max(0, i0), min(starts[-1], i1)
        n = max(0, i1 - i0)
        times = np.empty(n)
        cols = [np.empty(n) for _ in range(self.channels)]
        if n == 0:
            return times, cols
        k = int(np.searchsorted(starts, i0, side="right")) - 1
        at = 0
        while at < n:
            seg_t, seg_v = self._segment(k)
            a = i0 + at - starts[k]
            b = min(starts[k + 1] - starts[k], a + n - at)
            times[at:at + b - a] = seg_t[a:b]
            for j in range(self.channels):
                if j < len(seg_v):
                    cols[j][at:at + b - a] = seg_v[j][a:b]
                else:
                    cols[j][at:at + b - a] = np.nan
            at += b - a
            k += 1
        return times, cols

    def read_column(self, j: int, i0: int, i1: int) -> np.ndarray:
        """Rows ``[i0, i1)`` of channel ``j`` only (a copy; NaN where a segment did not
        have the channel yet): what judging a big file window by window reads, so the
        other channels' pages are never touched."""
        starts, _ = self._state()
        i0, i1 = max(0, i0), min(starts[-1], i1)
        n = max(0, i1 - i0)
        out = np.empty(n)
        k = int(np.searchsorted(starts, i0, side="right")) - 1
        at = 0
        while at < n:
            _, seg_v = self._segment(k)
            a = i0 + at - starts[k]
            b = min(starts[k + 1] - starts[k], a + n - at)
            out[at:at + b - a] = seg_v[j][a:b] if j < len(seg_v) else np.nan
            at += b - a
            k += 1
        return out

    def values(self, i0: int, i1: int) -> np.ndarray:
        """Rows ``[i0, i1)`` as ``(n, channels)`` float64 (for the pyramid's edges)."""
        _, cols = self.read(i0, i1)
        return np.column_stack(cols) if cols else np.empty((0, 0))

    def times_at(self, index: np.ndarray) -> np.ndarray:
        """Times of the rows ``index`` (any order, within the published rows)."""
        starts, _ = self._state()
        index = np.asarray(index, dtype=np.int64)
        out = np.empty(index.shape)
        seg = np.searchsorted(starts, index, side="right") - 1
        for k in np.unique(seg):
            sel = seg == k
            seg_t, _ = self._segment(int(k))
            out[sel] = seg_t[index[sel] - starts[k]]
        return out

    def index_at_time(self, t: float, side: str = "left") -> int:
        starts, first_t = self._state()
        if not first_t:
            return 0
        k = int(np.searchsorted(first_t, t, side=side)) - 1  # type: ignore[call-overload]
        if k < 0:
            return 0
        seg_t, _ = self._segment(k)
        return starts[k] + int(np.searchsorted(seg_t, t, side=side))  # type: ignore[call-overload]

    def column(self, j: int) -> np.ndarray:
        """One channel, every row, as float64 (whole-file verdicts)."""
        starts, _ = self._state()
        out = np.empty(starts[-1])
        for k in range(len(starts) - 1):
            _, seg_v = self._segment(k)
            out[starts[k]:starts[k + 1]] = seg_v[j] if j < len(seg_v) else np.nan
        return out
