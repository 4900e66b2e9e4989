"""Open any recording (Parquet, CSV, MATLAB .mat, a crash journal) as one in-memory type.

Every reader returns a :class:`~desktop.core.types.Recording`, so replay, plotting and
the models never care which format a file came in. CSV goes through the same ASCII
parser as the serial port, so a file saved from a terminal program reads exactly like
the live device did (same delimiters, header and timestamp rules, same garbage counts).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, MalformedCounter, Recording
from desktop.formats.base import make_parser
from desktop.recording.journal import iter_journal_batches, journal_schema, summarize_journal
from desktop.recording.schema import JOURNAL_SUFFIX, TIME_COLUMN, channels_from, read_meta

log = logging.getLogger(__name__)

CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".dat", ".log"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
MAT_SUFFIXES = {".mat"}
_FOREIGN_TIME_NAMES = {"time_s", "time", "t", "timestamp", "seconds"}
_CSV_CHUNK = 1 << 20


@dataclass
class RecordingSummary:
    """What ``linewatch info`` prints: cheap to get even for a large Parquet file."""

    path: str
    channels: list[ChannelSpec]
    sample_rate: float | None
    duration_s: float
    samples: int
    source: str = ""
    start_time: str = ""
    recovered_from_journal: bool = False
    malformed: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "channels": [ch.name for ch in self.channels],
            "units": [ch.unit for ch in self.channels],
            "sample_rate": self.sample_rate,
            "duration_s": round(self.duration_s, 6),
            "samples": self.samples,
            "source": self.source,
            "start_time": self.start_time,
            "recovered_from_journal": self.recovered_from_journal,
            "malformed": self.malformed,
            "path": self.path,
        }


def _resolve(path: Path) -> tuple[Path, str]:
    """Find what to read and how: ``parquet``, ``csv``, ``mat`` or ``journal``.

    A recording whose process was killed has no Parquet file yet, only its journal; asking
    for ``rec.parquet`` then reads ``rec.parquet.journal`` so the user need not know.
    """
    if path.is_dir():
        if path.name.endswith(JOURNAL_SUFFIX):
            return path, "journal"
        raise RecordingError(f"{path} is a folder, not a recording")
    if not path.exists():
        journal = path.with_name(path.name + JOURNAL_SUFFIX)
        if journal.is_dir():
            return journal, "journal"
        raise RecordingError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return path, "parquet"
    if suffix in CSV_SUFFIXES:
        return path, "csv"
    if suffix in MAT_SUFFIXES:
        return path, "mat"
    with open(path, "rb") as fh:
        if fh.read(4) == b"PAR1":
            return path, "parquet"
    return path, "csv"


def _table_to_recording(table: pa.Table, meta: dict[str, Any], rate: float | None,
                        path: Path) -> Recording:
    channels = channels_from(table.schema, meta)
    if not channels:
        raise RecordingError(f"{path} has no numeric columns")
    time_name = next((n for n in table.column_names
                      if n == TIME_COLUMN or (not meta and n.lower() in _FOREIGN_TIME_NAMES)),
                     None)
    check_time_column(table.schema, time_name, path)
    channels = tuple(ch for ch in channels if ch.name != time_name)
    values = np.empty((table.num_rows, len(channels)), dtype=np.float64)
    for i, ch in enumerate(channels):
        values[:, i] = _column_f64(table.column(ch.name))
    times = _column_f64(table.column(time_name)) if time_name else None
    sample_rate = rate or _positive_or_none(meta.get("sample_rate"))
    return Recording(channels, values, sample_rate, times,
                     source=str(meta.get("source", "")),
                     start_time=str(meta.get("start_time", "")), metadata=meta)


def check_time_column(schema: pa.Schema, time_name: str | None, path: Path) -> None:
    """Refuse a time column that holds text (or anything else that is not numbers or a
    date-time type), naming the column, before a cast fails deep inside Arrow."""
    if time_name is None:
        return
    kind = schema.field(time_name).type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_temporal(kind):
        return
    described = "text" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else str(kind)
    raise RecordingError(f"{path}: column '{time_name}' holds {described}, but a time column "
                         "must hold numbers (seconds); fix or rename that column")


def _column_f64(column: pa.ChunkedArray) -> np.ndarray:
    """float64 with nulls as NaN (gaps stay gaps)."""
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64,
                                                                            copy=False)


def _positive_or_none(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def read_parquet(path: Path, rate: float | None = None) -> Recording:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise RecordingError(f"{path} is not a readable Parquet file: {exc}") from exc
    return _table_to_recording(table, read_meta(table.schema), rate, path)


def read_journal(journal: Path, rate: float | None = None) -> Recording:
    """A crash-left journal: everything up to the last complete flush."""
    schema = journal_schema(journal)
    batches = [_widen(b, schema) for b in iter_journal_batches(journal)]
    table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    rec = _table_to_recording(table, read_meta(schema), rate, journal)
    rec.metadata = {**rec.metadata, "recovered_from_journal": True}
    return rec


def _widen(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    cols = [batch.column(f.name) if f.name in batch.schema.names
            else pa.array(np.full(batch.num_rows, np.nan)) for f in schema]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def read_csv(path: Path, rate: float | None = None, line_format: str = "auto") -> Recording:
    """Parse a delimited text file with the serial port's parser; garbage is counted."""
    parser = make_parser(line_format)
    value_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []
    widths: list[int] = []
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CSV_CHUNK):
                _collect(parser.feed(chunk), value_parts, time_parts, widths)
        _collect(parser.finish(), value_parts, time_parts, widths)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    names = list(parser.channel_names)
    if not names or not value_parts:
        raise RecordingError(f"{path} holds no numeric samples "
                             f"(rejected lines: {dict(parser.malformed) or 'none'})")
    width = len(names)
    values = np.concatenate([
        part if part.shape[1] == width
        else np.hstack([part, np.full((part.shape[0], width - part.shape[1]), np.nan)])
        for part in value_parts
    ])
    times = np.concatenate(time_parts) if parser.timestamped and time_parts else None
    malformed = MalformedCounter(parser.malformed)
    if malformed:
        log.warning("%s: skipped malformed lines %s", path, dict(malformed))
    return Recording(tuple(ChannelSpec(n) for n in names), values, rate, times,
                     source=f"file:{path.name}",
                     metadata={"malformed": dict(malformed), "format": parser.description})


def _collect(block: Any, values: list[np.ndarray], times: list[np.ndarray],
             widths: list[int]) -> None:
    if block.values.shape[0] == 0:
        return
    values.append(block.values)
    widths.append(block.values.shape[1])
    if block.timestamps is not None:
        times.append(block.timestamps)


def read_recording(path: Path | str, rate: float | None = None) -> Recording:
    """Open a recording of any supported kind. ``rate`` overrides the stored rate."""
    resolved, kind = _resolve(Path(path))
    if kind == "journal":
        log.warning("%s: reading the crash journal %s", path, resolved)
        return read_journal(resolved, rate)
    if kind == "parquet":
        return read_parquet(resolved, rate)
    if kind == "mat":
        from desktop.recording.mat import read_mat

        return read_mat(resolved, rate)
    return read_csv(resolved, rate)


def summarize_recording(path: Path | str) -> RecordingSummary:
    """Channels, rate, duration and sample count; reads only metadata for Parquet."""
    resolved, kind = _resolve(Path(path))
    if kind == "parquet":
        try:
            pf = pq.ParquetFile(resolved)
        except (pa.ArrowException, OSError) as exc:
            raise RecordingError(f"{resolved} is not a readable Parquet file: {exc}") from exc
        meta = read_meta(pf.schema_arrow)
        if TIME_COLUMN in pf.schema_arrow.names and meta:
            check_time_column(pf.schema_arrow, TIME_COLUMN, resolved)
            channels = tuple(c for c in channels_from(pf.schema_arrow, meta))
            samples = pf.metadata.num_rows
            rate = _positive_or_none(meta.get("sample_rate"))
            duration = _duration_from_stats(pf, samples, rate)
            if duration is not None:
                return RecordingSummary(str(resolved), list(channels), rate, duration, samples,
                                        str(meta.get("source", "")),
                                        str(meta.get("start_time", "")))
    if kind == "journal":
        return _summarize_journal(resolved)
    rec = read_recording(resolved)
    return RecordingSummary(
        str(resolved), list(rec.channels), rec.effective_rate(), rec.duration_s, rec.samples,
        rec.source, rec.start_time, kind == "journal",
        dict(rec.metadata.get("malformed", {})),  # type: ignore[arg-type]
    )


def _summarize_journal(journal: Path) -> RecordingSummary:
    """A crash journal's summary, read a batch at a time (a 3 GB journal must not be loaded
    whole just to count it)."""
    schema, samples, first, last = summarize_journal(journal)
    meta = read_meta(schema)
    rate = _positive_or_none(meta.get("sample_rate"))
    if samples > 1 and first is not None and last is not None:
        duration = (last - first) * samples / (samples - 1)
    else:
        duration = samples / rate if rate and samples else 0.0
    if rate is None and duration > 0:
        rate = samples / duration
    channels = [ch for ch in channels_from(schema, meta) if ch.name != TIME_COLUMN]
    return RecordingSummary(str(journal), channels, rate, duration, samples,
                            str(meta.get("source", "")), str(meta.get("start_time", "")),
                            recovered_from_journal=True)


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
