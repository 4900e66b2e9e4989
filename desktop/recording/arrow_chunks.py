"""Parquet, Arrow IPC / Feather and crash journals, streamed batch by batch.

Parquet is read one row group at a time (``iter_batches``), Arrow IPC files one record
batch at a time from a memory map, a journal segment by segment; the time column and the
channels are found exactly as :func:`desktop.recording.readers.read_recording` finds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec
from desktop.recording.journal import iter_journal_batches, journal_schema
from desktop.recording.schema import TIME_COLUMN, channels_from, read_meta
from desktop.recording.stream import CHUNK_ROWS, Chunk, ChunkStream

_FOREIGN_TIME_NAMES = {"time_s", "time", "t", "timestamp", "seconds"}


def _f64(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("ns")).cast(pa.int64())
        return column.to_numpy(zero_copy_only=False).astype(np.float64) / 1e9
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64,
                                                                         copy=False)


def _layout(schema: pa.Schema, meta: dict[str, Any], path: Path
            ) -> tuple[tuple[ChannelSpec, ...], str | None]:
    time_name = next((f.name for f in schema
                      if f.name == TIME_COLUMN or (not meta and f.name.lower() in
                                                   _FOREIGN_TIME_NAMES)), None)
    channels = tuple(ch for ch in channels_from(schema, meta) if ch.name != time_name)
    if not channels:
        raise RecordingError(f"{path} has no numeric columns")
    return channels, time_name


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


def _open_ipc(path: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch], int]:
    source = pa.memory_map(str(path))
    try:
        reader = pa.ipc.open_file(source)
        n = reader.num_record_batches
        rows = sum(reader.get_batch(i).num_rows for i in range(n))  # mapped: no copy

        def batches() -> Iterator[pa.RecordBatch]:
            for i in range(n):
                yield reader.get_batch(i)

        return reader.schema, batches(), rows
    except pa.ArrowInvalid:
        source.seek(0)
        try:
            stream = pa.ipc.open_stream(source)
        except pa.ArrowInvalid as exc:
            raise RecordingError(f"{path} is not a readable Arrow/Feather file: {exc}") from exc
        return stream.schema, iter(stream), 0


def arrow_stream(path: Path, kind: str, rate: float | None = None,
                 rows: int = CHUNK_ROWS) -> ChunkStream:
    """``kind``: ``parquet``, ``journal`` or ``arrow``."""
    total = 0
    if kind == "parquet":
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise RecordingError(f"{path} is not a readable Parquet file: {exc}") from exc
        schema, total = pf.schema_arrow, pf.metadata.num_rows
        batches: Iterator[pa.RecordBatch] = pf.iter_batches(batch_size=rows)
    elif kind == "journal":
        schema = journal_schema(path)
        batches = iter_journal_batches(path)
    else:
        schema, batches, total = _open_ipc(path)
    meta = read_meta(schema)
    channels, time_name = _layout(schema, meta, path)
    names = tuple(ch.name for ch in channels)

    def chunks() -> Iterator[Chunk]:
        done = 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            present = set(batch.schema.names)
            values = np.full((batch.num_rows, len(channels)), np.nan)
            for j, ch in enumerate(channels):
                if ch.name in present:
                    values[:, j] = _f64(batch.column(ch.name))
            times = _f64(batch.column(time_name)) if time_name else None
            done += batch.num_rows
            yield Chunk(values, times, names, done / total if total else 0.0)

    out_meta = dict(meta)
    if kind == "journal":
        out_meta["recovered_from_journal"] = True
    return ChunkStream(kind, channels, rate or _positive(meta.get("sample_rate")), chunks(),
                       out_meta, str(meta.get("source", "")), str(meta.get("start_time", "")))

