"""Crash-safe recording: an append-only Arrow journal, turned into Parquet on close.

Why a journal: a Parquet file is only readable once its footer is written, so a recorder
killed mid-way would leave nothing. Instead, samples go to ``<out>.journal/`` as Arrow IPC
stream segments, one record batch per flush (at least once per second, each followed by
``fsync``). A stream that was cut off is still readable up to its last complete batch, so
after ``kill -9`` or a power cut everything up to the last flush survives, and
``linewatch info`` / ``linewatch recover`` open it. On a clean close the journal is
converted batch by batch (bounded memory) into ``<out>`` and removed.

A new segment starts when channels appear mid-stream (Arrow streams have one schema).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from desktop.core.atomic import replace_durably
from desktop.core.errors import RecordingError
from desktop.core.types import WALL_CLOCK_MIN_S, ChannelSpec
from desktop.recording.journal import iter_journal_batches, journal_schema
from desktop.recording.schema import JOURNAL_SUFFIX, TIME_COLUMN, build_schema

log = logging.getLogger(__name__)


def journal_path(out: Path) -> Path:
    """The journal folder that belongs to recording ``out``."""
    return out.with_name(out.name + JOURNAL_SUFFIX)


def describe_os_error(exc: OSError, path: Path) -> str:
    """A sentence an engineer can act on, instead of an errno."""
    if exc.errno == errno.ENOSPC:
        return f"the disk holding {path} is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write {path}"
    if exc.errno == errno.ENOENT:
        return f"the folder for {path} does not exist"
    return f"cannot write {path}: {exc.strerror or exc}"


class RecordingWriter:
    """Appends timed sample blocks to a recording file, surviving a crash at any point.

    Call :meth:`write` with every block, :meth:`close` at the end. All I/O errors come
    out as :class:`RecordingError` with a readable message; after one, the writer is
    closed and everything flushed before it is kept.
    """

    def __init__(
        self,
        out: Path,
        channels: tuple[ChannelSpec, ...],
        sample_rate: float | None,
        source: str,
        flush_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        fsync: bool = True,
    ) -> None:
        self.out = Path(out)
        self.journal = journal_path(self.out)
        self.channels = tuple(channels)
        self.sample_rate = sample_rate
        self.source = source
        self.start_time = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._fsync = fsync
        self._pending_t: list[np.ndarray] = []
        self._pending_v: list[np.ndarray] = []
        self._last_flush = clock()
        self._segment = -1
        self._file = None
        self._stream: pa.ipc.RecordBatchStreamWriter | None = None
        self.samples_written = 0  # flushed to the journal
        self.first_time: float | None = None  # the source's time of the first sample
        self.time_origin = 0.0  # subtracted from every time written (see write)
        self.last_time: float | None = None
        self.closed = False
        try:
            if self.out.exists() or self.journal.exists():
                raise RecordingError(
                    f"{self.out} already exists (or its journal does); pick another name")
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.journal.mkdir()
            self._open_segment()
        except OSError as exc:
            self.closed = True
            raise RecordingError(f"cannot start recording: {describe_os_error(exc, self.out)}"
                                 ) from exc

    def _meta(self) -> dict[str, object]:
        return {"sample_rate": self.sample_rate, "source": self.source,
                "start_time": self.start_time}

    def _open_segment(self) -> None:
        self._close_segment()
        self._segment += 1
        path = self.journal / f"segment-{self._segment:04d}.arrows"
        self._schema = build_schema(self.channels, self._meta())
        self._file = open(path, "wb")  # noqa: SIM115 - lives until the segment closes
        self._stream = pa.ipc.new_stream(self._file, self._schema)
        self._sync()

    def _close_segment(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def _sync(self) -> None:
        assert self._file is not None
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    @property
    def duration_s(self) -> float:
        """Signal time covered so far (same rule as ``Recording.duration_s``)."""
        n = self.samples_written + sum(len(t) for t in self._pending_t)
        if n < 2 or self.first_time is None or self.last_time is None:
            return 0.0
        return (self.last_time - self.first_time) * n / (n - 1)

    @property
    def bytes_on_disk(self) -> int:
        """Size of what is written so far (journal or final file), for the UI."""
        if self.out.exists():
            return self.out.stat().st_size
        try:
            return sum(p.stat().st_size for p in self.journal.iterdir())
        except OSError:
            return 0

    def write(self, times: np.ndarray, values: np.ndarray,
              channels: tuple[ChannelSpec, ...] | None = None) -> None:
        """Queue samples; flushes to disk when ``flush_interval_s`` has passed."""
        if self.closed:
            raise RecordingError("recording is closed")
        if channels is not None and channels != self.channels:
            # Channels appeared mid-stream: finish the current segment, start a wider one.
            self.flush()
            self.channels = tuple(channels)
            self._guard(self._open_segment)
        if len(times):
            if self.first_time is None:
                self.first_time = float(times[0])
                # One time convention: a recording's time_s counts from its first sample
                # (labels use the same seconds); wall-clock (epoch) times are kept as is.
                self.time_origin = 0.0 if self.first_time >= WALL_CLOCK_MIN_S else self.first_time
            self.last_time = float(times[-1])
            self._pending_t.append(np.asarray(times, dtype=np.float64))
            self._pending_v.append(np.asarray(values, dtype=np.float64))
        if self._clock() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except OSError as exc:
            message = describe_os_error(exc, self.out)
            self._abort()
            raise RecordingError(f"recording stopped: {message}; "
                                 f"{self.samples_written} samples were saved") from exc

    def flush(self) -> None:
        """Write queued samples as one record batch and push it to the disk."""
        self._last_flush = self._clock()
        if not self._pending_t or self.closed:
            return
        t = np.concatenate(self._pending_t) - self.time_origin
        v = np.concatenate(self._pending_v, axis=0)
        self._pending_t.clear()
        self._pending_v.clear()
        arrays = [pa.array(t)] + [pa.array(v[:, i]) for i in range(v.shape[1])]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self._schema)

        def _write() -> None:
            assert self._stream is not None
            self._stream.write_batch(batch)
            self._sync()

        self._guard(_write)
        self.samples_written += len(t)

    def _abort(self) -> None:
        """Stop after an I/O error: keep the journal (it holds the data) and let go."""
        self.closed = True
        self._pending_t.clear()
        self._pending_v.clear()
        with contextlib.suppress(OSError):
            self._close_segment()

    def close(self, finalize: bool = True) -> Path:
        """Flush and close the journal; with ``finalize`` also convert it to Parquet.

        ``finalize=False`` returns at once (a long recording takes seconds to convert) so
        the acquisition thread can go on; the caller then runs :func:`finalize_journal`
        elsewhere. If the conversion fails (e.g. disk full), the journal is kept and the
        error says how to recover it later.
        """
        if self.closed:
            return self.out
        self.flush()
        self.closed = True
        self._close_segment()
        if finalize:
            self.finalize()
        return self.out

    def finalize(self) -> None:
        """Convert the closed journal into the Parquet file (slow for long recordings)."""
        try:
            finalize_journal(self.journal, self.out)
        except OSError as exc:
            raise RecordingError(
                f"recording kept as a journal in {self.journal}: "
                f"{describe_os_error(exc, self.out)}; run `linewatch recover {self.out}` "
                "once there is room") from exc


def finalize_journal(journal: Path, out: Path) -> int:
    """Turn a journal folder into one Parquet file; returns the number of samples.

    Works on a journal left by a crash too: every complete batch is kept. Segments with
    fewer channels than the last one get NaN in the missing columns. Memory stays bounded
    by one batch. The journal is deleted only after the Parquet file is complete.
    """
    schema = journal_schema(journal)
    tmp = out.with_name(out.name + ".tmp")
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in iter_journal_batches(journal):
                writer.write_batch(_conform(batch, schema))
                rows += batch.num_rows
        # The Parquet file must be on disk before the journal (the only other copy) goes.
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        replace_durably(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    shutil.rmtree(journal, ignore_errors=True)
    log.info("recording %s finalised: %d samples", out, rows)
    return rows


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Give an early, narrower batch the final schema (missing channels become NaN)."""
    if batch.schema.names == schema.names:
        return pa.RecordBatch.from_arrays(batch.columns, schema=schema)
    cols = []
    for field in schema:
        if field.name in batch.schema.names:
            cols.append(batch.column(field.name))
        else:
            cols.append(pa.array(np.full(batch.num_rows, np.nan)))
    return pa.RecordBatch.from_arrays(cols, schema=schema)


__all__ = ["TIME_COLUMN", "RecordingWriter", "finalize_journal", "journal_path"]
