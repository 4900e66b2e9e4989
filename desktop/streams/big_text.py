"""Big text files read through the file view's cache: ``linewatch info`` and ``predict``.

(Big Parquet files of other tools, written in several row groups, take the same path.)

Reading a CSV whole costs several times its size in memory (a 3 GB file did not finish
``info`` in 300 s). Over :func:`threshold_bytes` (``$LINEWATCH_BIG_TEXT_MB``, default
256 MB) a text file is read the way the window opens it: :func:`index_file` streams it
once into the columnar cache (progress on stderr, one line that updates), or reopens the
cache an earlier ``info``, ``predict`` or window made; then :class:`CachedText` answers
from the memory-mapped cache — the summary from the cache's metadata, a channel block by
block — so memory stays bounded whatever the file's size. Smaller files, and files that
are not text, keep the whole-file path (``None`` from :func:`open_big_text`).

The numbers equal the whole-file reader's: the same parser fills the cache, and rate and
duration follow :class:`~desktop.core.types.Recording`'s formulas.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from desktop.core.errors import LinewatchError, RecordingError, UsageError
from desktop.core.tasks import TaskState
from desktop.core.types import ChannelSpec
from desktop.recording import parquet_file, text
from desktop.recording.cache import CacheMeta, cache_folder
from desktop.recording.format import ReadOptions
from desktop.recording.registry import ignored_option_notes, resolve
from desktop.recording.summary import INFERRED_KEY, RecordingSummary
from desktop.streams.file_view import FileView, index_file

#: Environment variable: text files of at least this many MB go through the cache.
THRESHOLD_ENV = "LINEWATCH_BIG_TEXT_MB"
DEFAULT_THRESHOLD_MB = 256.0
#: What :func:`index_file` says of a file without a time column or a rate, and the rate a
#: file like that is indexed with (its cache then counts rows; the rate stays unknown).
NO_RATE = "has no time column and does not state its sample rate"
PLACEHOLDER_RATE = 1.0


def threshold_bytes() -> int:
    """Size from which a text file is read through the cache (``$LINEWATCH_BIG_TEXT_MB``;
    ``0`` sends every text file through it, which is what the tests do)."""
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return int(DEFAULT_THRESHOLD_MB * 1e6)
    try:
        mb = float(raw)
    except ValueError:
        raise UsageError(f"{THRESHOLD_ENV} must be a number of MB, got {raw!r}") from None
    if not mb >= 0:
        raise UsageError(f"{THRESHOLD_ENV} must be 0 or more MB, got {raw!r}")
    return int(mb * 1e6)


def big_text_path(path: Path | str) -> Path | None:
    """The file to index when ``path`` is a text recording at or over the threshold,
    else None (not text, small, a folder, missing: the caller's usual path decides)."""
    limit = threshold_bytes()
    try:
        resolved, fmt = resolve(Path(path))
        if resolved.is_dir() or resolved.stat().st_size < limit:
            return None
        if fmt.name == text.FORMAT.name:
            return resolved
        if fmt.name == parquet_file.FORMAT.name and _foreign_in_groups(resolved):
            return resolved
        return None
    except (OSError, LinewatchError):  # the whole-file path says what is wrong
        return None


def _foreign_in_groups(path: Path) -> bool:
    """A Parquet file another tool wrote, in several row groups: it streams group by group
    (:mod:`desktop.recording.table_stream`), so it is read through the cache like big text;
    ours answers ``info`` from its footer and streams anyway."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return (not parquet_file._ours(path, "parquet")
                and pq.ParquetFile(path).metadata.num_row_groups > 1)
    except (OSError, pa.ArrowException):  # unreadable: the whole-file reader says why
        return False


class CachedText:
    """A text recording read from its cache: what :class:`~desktop.core.types.Recording`
    offers ``info`` and ``predict``, without the rows in memory."""

    def __init__(self, view: FileView) -> None:
        self.view = view
        self.metadata: dict[str, Any] = dict(view.metadata)
        self.source = view.source
        self.start_time = view.start_time

    @property
    def channels(self) -> tuple[ChannelSpec, ...]:
        return self.view.channels

    @property
    def samples(self) -> int:
        return self.view.rows

    @property
    def duration_s(self) -> float:
        """As :attr:`Recording.duration_s`: from the time column when the file has one,
        else samples / rate."""
        n = self.samples
        if n == 0:
            return 0.0
        first, last = self.view.segments.first_time, self.view.segments.last_time
        if self.view.timed and n > 1 and first is not None and last is not None:
            return float(last - first) * n / (n - 1)
        if self.view.nominal_rate:
            return n / float(self.view.nominal_rate)
        return 0.0

    def effective_rate(self) -> float | None:
        """As :meth:`Recording.effective_rate`: the rate given, else from the times."""
        if self.view.nominal_rate:
            return float(self.view.nominal_rate)
        d = self.duration_s
        return self.samples / d if d > 0 else None

    def read_column(self, index: int, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` of channel ``index`` as float64 (read from the cache)."""
        return self.view.segments.read_column(index, start, stop)

    def channel(self, index: int) -> np.ndarray:
        """One channel, every row (8 bytes per row: for ``--explain`` only)."""
        return self.view.channel(index)


class _Progress:
    """Prints ``indexing big.csv: 42 % (1.2 GB of 2.9 GB)`` on one updating stderr line."""

    def __init__(self, name: str, size: int, out: TextIO) -> None:
        self.name, self.size, self.out = name, size, out
        self.last = -1
        self.open = False
        self.started = time.perf_counter()

    def __call__(self, fraction: float, message: str, info: dict[str, Any]) -> None:
        if not message.startswith("indexing"):
            return
        pct = int(fraction * 100)
        if pct == self.last:
            return
        self.last = pct
        self.out.write(f"\rindexing {self.name}: {pct:3d} % "
                       f"({_size(fraction * self.size)} of {_size(self.size)})")
        self.out.flush()
        self.open = True

    def end(self, ok: bool) -> None:
        if not self.open:
            return
        if ok:
            self.out.write(f"\rindexing {self.name}: 100 % ({_size(self.size)} of "
                           f"{_size(self.size)}) in {time.perf_counter() - self.started:.1f} s")
        self.out.write("\n")
        self.out.flush()
        self.open = False


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def open_big_text(path: Path | str, rate: float | None = None, decimal: str | None = None,
                  out: TextIO | None = None, **options: Any) -> CachedText | None:
    """``path`` through the cache when it is a big text file (see the module doc), else
    None. Builds the cache when there is none for this file and these options (progress
    on ``out``, default stderr) or reopens it. Raises what :func:`index_file` raises."""
    resolved = big_text_path(path)
    if resolved is None:
        return None
    out = out if out is not None else sys.stderr
    progress = _Progress(resolved.name, resolved.stat().st_size, out)
    task = TaskState(progress)
    ok = False
    try:
        # A file without a time column or a rate is indexed one row per "second" and
        # its rate reported unknown, as the whole-file reader reports it.
        placeholder = not rate and CacheMeta.load(
            cache_folder(resolved, PLACEHOLDER_RATE, decimal, options)) is not None
        try:
            view = index_file(resolved, PLACEHOLDER_RATE if placeholder else rate, decimal,
                              task, **options)
        except RecordingError as exc:
            if rate or NO_RATE not in str(exc):
                raise
            placeholder = True
            view = index_file(resolved, PLACEHOLDER_RATE, decimal, task, **options)
        if placeholder:
            view.nominal_rate = None
        ok = True
    finally:
        progress.end(ok)
    if progress.last < 0:
        out.write(f"linewatch: {resolved.name}: read from its cache (indexed before)\n")
        out.flush()
    return CachedText(view)


def cached_summary(path: Path | str, decimal: str | None = None, out: TextIO | None = None,
                   **options: Any) -> RecordingSummary | None:
    """What ``linewatch info`` prints for a big text file, from its cache (the values
    :func:`~desktop.recording.readers.summarize_recording` gives); None for other files."""
    opts = ReadOptions.of(options.pop("rate", None), decimal=decimal, **options)
    if big_text_path(path) is None:
        return None
    resolved, fmt = resolve(Path(path))
    read = {k: v for k, v in opts.given().items() if k in fmt.options and k not in
            ("rate", "decimal")}
    cached = open_big_text(resolved, opts.rate, opts.decimal, out, **read)
    if cached is None:
        return None
    meta = cached.metadata
    rate = cached.effective_rate()
    duration: float | None = cached.duration_s
    if rate is None and cached.samples > 0:
        duration = None  # as summary_of: no rate and no time axis, the length is unknown
    malformed, notes, inferred = (meta.get("malformed") or {}, meta.get("notes") or [],
                                  meta.get(INFERRED_KEY) or {})
    summary = RecordingSummary(
        str(resolved), list(cached.channels), rate, duration, cached.samples, cached.source,
        cached.start_time, bool(meta.get("recovered_from_journal")),
        dict(malformed) if isinstance(malformed, dict) else {},
        [str(n) for n in notes] if isinstance(notes, list) else [],
        fmt.name, dict(inferred) if isinstance(inferred, dict) else {})
    summary.notes += ignored_option_notes(fmt, opts)
    return summary
