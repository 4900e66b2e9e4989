"""Parquet files (ours, and those of pandas/Polars/DAQ tools) as recordings.

Ours stream row group by row group and ``info`` answers from the footer's statistics;
foreign files are read by :mod:`desktop.recording.tables` rules: whole for ``read_recording``,
row group by row group when opened (:mod:`desktop.recording.table_stream`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from desktop.core.errors import RecordingError
from desktop.core.types import Recording
from desktop.recording.format import FileFormat, ReadOptions
from desktop.recording.schema import TIME_COLUMN, channels_from, read_meta
from desktop.recording.stream import ChunkStream, stream_of
from desktop.recording.summary import RecordingSummary
from desktop.recording.tables import _positive_or_none, _table_to_recording, check_time_column

PARQUET_SUFFIXES = {".parquet", ".pq"}


def read_parquet(path: Path, rate: float | None = None) -> Recording:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise RecordingError(f"{path} is not a readable Parquet file: {exc}") from exc
    return _table_to_recording(table, read_meta(table.schema), rate, path)


def summarize_parquet(path: Path, options: ReadOptions) -> RecordingSummary | None:
    """Our Parquet's summary from its footer (no data read); None for a foreign file."""
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise RecordingError(f"{path} is not a readable Parquet file: {exc}") from exc
    meta = read_meta(pf.schema_arrow)
    if not (TIME_COLUMN in pf.schema_arrow.names and meta):
        return None
    check_time_column(pf.schema_arrow, TIME_COLUMN, path)
    channels = tuple(c for c in channels_from(pf.schema_arrow, meta))
    samples = pf.metadata.num_rows
    rate = options.rate or _positive_or_none(meta.get("sample_rate"))
    duration = _duration_from_stats(pf, samples, rate)
    if duration is None:
        return None
    return RecordingSummary(str(path), list(channels), rate, duration, samples,
                            str(meta.get("source", "")), str(meta.get("start_time", "")),
                            format="parquet", inferred={"time_column": TIME_COLUMN,
                                                        "time_unit": "s"})


def _duration_from_stats(pf: pq.ParquetFile, samples: int, rate: float | None) -> float | None:
    """Duration from row-group min/max of the time column, without reading the data."""
    if samples == 0:
        return 0.0
    if rate:
        return samples / rate
    col = pf.schema_arrow.get_field_index(TIME_COLUMN)
    lo, hi = math.inf, -math.inf
    for rg in range(pf.metadata.num_row_groups):
        stats = pf.metadata.row_group(rg).column(col).statistics
        if stats is None or not stats.has_min_max:
            return None
        lo, hi = min(lo, stats.min), max(hi, stats.max)
    if samples < 2:
        return 0.0
    return (hi - lo) * samples / (samples - 1)


def _ours(path: Path, kind: str) -> bool:
    """True for a Parquet/Arrow file that Linewatch wrote (its metadata key is present and
    ``time_s`` is a float column): those stream batch by batch."""
    try:
        if kind == "parquet":
            schema = pq.read_schema(path)
        else:
            with pa.memory_map(str(path)) as source:
                try:
                    schema = pa.ipc.open_file(source).schema
                except pa.ArrowInvalid:
                    source.seek(0)
                    schema = pa.ipc.open_stream(source).schema
    except (pa.ArrowInvalid, OSError):
        return False  # the whole-file reader gives the one-line refusal
    return bool(read_meta(schema)) and TIME_COLUMN in schema.names and pa.types.is_floating(
        schema.field(TIME_COLUMN).type)


def table_stream(path: Path, kind: str, options: ReadOptions,
                 read_whole: Callable[[Path, float | None], Recording]) -> ChunkStream:
    """Ours batch by batch; a foreign Parquet file of several row groups group by group
    (:mod:`desktop.recording.table_stream`: the same values as the whole read, one group in
    memory); other foreign tables through their one reader, whole, then chunked."""
    if _ours(path, kind):
        from desktop.recording.arrow_chunks import arrow_stream

        return arrow_stream(path, kind, options.rate)
    if kind == "parquet":
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"{path} is not a readable Parquet file: {exc}") from exc
        if pf.metadata.num_row_groups > 1:
            from desktop.recording.table_stream import foreign_parquet_stream

            return foreign_parquet_stream(path, pf, options.rate)
    return stream_of(read_whole(path, options.rate), kind)


def _read(path: Path, options: ReadOptions) -> Recording:
    return read_parquet(path, options.rate)


def _stream(path: Path, options: ReadOptions) -> ChunkStream:
    return table_stream(path, "parquet", options, read_parquet)


def _sniff(path: Path, head: bytes) -> bool:
    return head[:4] == b"PAR1"


FORMAT = FileFormat(
    "parquet", "Parquet", tuple(sorted(PARQUET_SUFFIXES)), _read, stream=_stream,
    summarize=summarize_parquet, sniff=_sniff,
    rules="ours: time_s + channels; others: a timestamp column, the pandas index or an "
          "integer epoch column (unit from its name or magnitude), a date or ISO text "
          "column named like time is the time axis; "
          "numeric columns are channels, others skipped with a note",
    options=("rate",))
