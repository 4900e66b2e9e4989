"""Crash-safe recording: an append-only Arrow journal, turned into Parquet on close.

Why a journal: a Parquet file is only readable once its footer is written, so a recorder
killed mid-way would leave nothing. Instead, samples go to ``<out>.journal/`` as Arrow IPC
stream segments, one record batch per flush (at least once per second, each followed by
``fsync``). A stream that was cut off is still readable up to its last complete batch, so
after ``kill -9`` or a power cut everything up to the last flush survives, and
``linewatch info`` / ``linewatch recover`` open it. On a clean close the journal is
converted batch by batch (bounded memory) into ``<out>`` and removed.

A new segment starts when channels appear mid-stream (Arrow streams have one schema).

While it records, the writer holds the journal's OS lock (:class:`JournalLock`): another
Linewatch cannot overwrite or ``recover`` a journal that is being written, and a journal
deleted anyway (by hand) is noticed at the next flush instead of being written into the
void. What a recorder reports as saved is what is on disk: the rows of the finished file,
or the rows flushed to the journal it kept.
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
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from desktop.core.atomic import replace_durably
from desktop.core.errors import RecordingError
from desktop.core.types import WALL_CLOCK_MIN_S, ChannelSpec
from desktop.recording.journal import JournalLock, iter_journal_batches, journal_schema
from desktop.recording.schema import JOURNAL_SUFFIX, TIME_COLUMN, build_schema

log = logging.getLogger(__name__)


def float_array(values: np.ndarray) -> pa.Array:
    """A float64 numpy vector as an Arrow array, from its buffer.

    ``pa.array(ndarray)`` imports pandas on its first call (about a second) to check for
    pandas types; on the acquisition thread that second held a live stream's first lines
    back, so they reached the host as one burst and lost their own arrival times.
    """
    data = np.ascontiguousarray(values, dtype=np.float64)
    return pa.Array.from_buffers(pa.float64(), len(data), [None, pa.py_buffer(data)])


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
        self._file: BinaryIO | None = None
        self._stream: pa.ipc.RecordBatchStreamWriter | None = None
        self.samples_written = 0  # flushed to the journal
        #: what is really on disk once closed: the finished file's rows, or the journal's
        self.samples_saved = 0
        self.first_time: float | None = None  # the source's time of the first sample
        self.time_origin = 0.0  # subtracted from every time written (see write)
        self.last_time: float | None = None
        self._saved_last_time: float | None = None  # source time of the last flushed sample
        self.closed = False
        self._lock = JournalLock(self.journal)
        try:
            if self.out.exists() or self.journal.exists():
                raise RecordingError(
                    f"{self.out} already exists (or its journal does); pick another name")
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.journal.mkdir()
            self._lock.acquire("start another recording into it")
            self._open_segment()
        except OSError as exc:
            self.closed = True
            self._lock.release()
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
    def saved_duration_s(self) -> float:
        """Signal time of what was flushed to disk (what a stopped recording holds)."""
        n = self.samples_written
        if n < 2 or self.first_time is None or self._saved_last_time is None:
            return 0.0
        return (self._saved_last_time - self.first_time) * n / (n - 1)

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
            self.samples_saved = self.samples_written
            kept = (f"the {self.samples_written:,} samples before it are kept in "
                    f"{self.journal}: free some space, then run `linewatch recover "
                    f"{self.out}`" if self.samples_written else "nothing was saved")
            raise RecordingError(f"recording stopped: {message}; {kept}") from exc

    def flush(self) -> None:
        """Write queued samples as one record batch and push it to the disk."""
        self._last_flush = self._clock()
        if not self._pending_t or self.closed:
            return
        t = np.concatenate(self._pending_t) - self.time_origin
        v = np.concatenate(self._pending_v, axis=0)
        self._pending_t.clear()
        self._pending_v.clear()
        arrays = [float_array(t)] + [float_array(v[:, i]) for i in range(v.shape[1])]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self._schema)

        def _write() -> None:
            assert self._stream is not None and self._file is not None
            self._stream.write_batch(batch)
            self._sync()
            if os.fstat(self._file.fileno()).st_nlink == 0:
                raise _JournalDeleted()

        try:
            self._guard(_write)
        except RecordingError as exc:
            if isinstance(exc.__cause__, _JournalDeleted):
                self.samples_saved = 0
                raise RecordingError(
                    f"recording stopped: its journal {self.journal} was deleted while it "
                    f"was being written (by another program); the {self.samples_written:,} "
                    "samples recorded before are lost") from None
            raise
        self.samples_written += len(t)
        self._saved_last_time = self.last_time

    def _abort(self) -> None:
        """Stop after an I/O error: keep the journal (it holds the data) and let go of it,
        so ``linewatch recover`` may finish it while this process goes on."""
        self.closed = True
        self._pending_t.clear()
        self._pending_v.clear()
        with contextlib.suppress(OSError):
            self._close_segment()
        self._lock.release()

    def close(self, finalize: bool = True) -> Path:
        """Flush and close the journal; with ``finalize`` also convert it to Parquet.

        ``finalize=False`` returns at once (a long recording takes seconds to convert) so
        the acquisition thread can go on; the caller then runs :func:`finalize_journal`
        elsewhere. If the conversion fails (e.g. disk full), the journal is kept and the
        error says how to recover it later.
        """
        if self.closed:
            return self.out
        self.flush()  # on an I/O error this has already aborted (journal kept, lock let go)
        self.closed = True
        self.samples_saved = self.samples_written
        self._close_segment()
        if finalize:
            self.finalize()
        return self.out

    def finalize(self) -> None:
        """Convert the closed journal into the Parquet file (slow for long recordings)."""
        try:
            if not self.journal.is_dir():
                self.samples_saved = 0
                raise RecordingError(f"the journal {self.journal} was deleted while it was "
                                     f"being written (by another program); the "
                                     f"{self.samples_written:,} samples recorded are lost")
            self.samples_saved = finalize_journal(self.journal, self.out, self._lock)
        except OSError as exc:
            raise RecordingError(
                f"recording kept as a journal in {self.journal}: "
                f"{describe_os_error(exc, self.out)}; run `linewatch recover {self.out}` "
                "once there is room") from exc
        finally:
            self._lock.release()


def finalize_tmp_path(out: Path) -> Path:
    """Where :func:`finalize_journal` writes before renaming (a killed one leaves it)."""
    return out.with_name(out.name + ".tmp")


def finalize_journal(journal: Path, out: Path, lock: JournalLock | None = None) -> int:
    """Turn a journal folder into one Parquet file; returns the number of samples.

    Works on a journal left by a crash too: every complete batch is kept. Segments with
    fewer channels than the last one get NaN in the missing columns. Journal batches (one
    per flush, a fraction of a second each) are gathered into row groups of about
    :data:`ROW_GROUP_BYTES`, so memory stays bounded by one row group. The journal is
    deleted only after the Parquet file is complete. A ``.tmp`` left by a finalisation that
    was killed is removed first (its space may be what the disk lacks). ``lock``, the
    journal's lock held by the caller, is let go just before the journal is deleted
    (Windows cannot delete a locked file).
    """
    schema = journal_schema(journal)
    tmp = finalize_tmp_path(out)
    tmp.unlink(missing_ok=True)
    group_rows = max(4096, ROW_GROUP_BYTES // (8 * max(1, len(schema))))
    rows = 0
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def write_pending() -> None:
        nonlocal writer, pending_rows
        if not pending:
            return
        table = pa.Table.from_batches(pending, schema=schema)
        if writer is None:  # the first row group decides each column's encoding
            writer = pq.ParquetWriter(tmp, schema, **parquet_options(table))
        writer.write_table(table, row_group_size=group_rows)
        pending.clear()
        pending_rows = 0

    try:
        try:
            for batch in iter_journal_batches(journal):
                pending.append(_conform(batch, schema))
                pending_rows += batch.num_rows
                rows += batch.num_rows
                if pending_rows >= group_rows:
                    write_pending()
            write_pending()
            if writer is None:  # an empty journal: an empty file with the right schema
                writer = pq.ParquetWriter(tmp, schema, **parquet_options(schema.empty_table()))
        finally:
            if writer is not None:
                writer.close()
        # The Parquet file must be on disk before the journal (the only other copy) goes.
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        replace_durably(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if lock is not None:
        lock.release()
    shutil.rmtree(journal, ignore_errors=True)
    log.info("recording %s finalised: %d samples", out, rows)
    return rows


#: Target size of one Parquet row group of a recording (the memory finalising needs).
ROW_GROUP_BYTES = 64 << 20
#: A column whose first row group has fewer distinct values than this share of its rows
#: is dictionary-encoded; the others are byte-stream split.
DICTIONARY_SHARE = 0.25


def parquet_options(sample: pa.Table) -> dict[str, object]:
    """How a recording is written: zstd, and per float column the encoding that suits it,
    judged on ``sample`` (the recording's first row group).

    * Values that repeat (a sensor's ADC counts times a scale, readings with few decimals
      from a serial line) are dictionary-encoded: each sample becomes a short index.
    * Values that rarely repeat (full-precision floats with noise, the time column) are
      stored ``BYTE_STREAM_SPLIT``: byte 0 of every value, then byte 1, … The sign,
      exponent and high mantissa bytes change slowly from sample to sample while only the
      low bytes are noise, so zstd meets long runs of similar bytes instead of 8-byte
      values with noise in each. Dictionary encoding is off for those columns: tried first,
      it would only fall back to plain values once its page is full.
    """
    dictionary: list[str] = []
    split: list[str] = []
    for field in sample.schema:
        if not pa.types.is_floating(field.type):
            continue
        column = sample.column(field.name)
        n = len(column)
        distinct = pc.count_distinct(column).as_py() if n else 0
        (dictionary if n and distinct < DICTIONARY_SHARE * n else split).append(field.name)
    return {"compression": "zstd", "use_dictionary": dictionary or False,
            "use_byte_stream_split": split or False}


class _JournalDeleted(OSError):
    """The journal's segment file lost its last name while we wrote it."""


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
