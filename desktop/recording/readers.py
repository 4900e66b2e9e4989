"""Open any recording (Parquet, CSV, MATLAB .mat, WAV, NI TDMS, Excel .xlsx, Arrow/Feather,
a crash journal) as one in-memory type.

Every reader returns a :class:`~desktop.core.types.Recording`, so replay, plotting and
the models never care which format a file came in. CSV goes through the same ASCII
parser as the serial port, so a file saved from a terminal program reads exactly like
the live device did (same delimiters, header and timestamp rules, same garbage counts);
text files in UTF-16 (Windows loggers) are transcoded first, a UTF-8 BOM is dropped.

Files written by other tools (pandas, Polars, DAQ software) are read by their types: a
``timestamp[*]`` column (or a pandas datetime index) is the time axis, as seconds from the
first sample with the wall-clock start in ``start_time``; integer, bool and float columns
are channels; other columns (text, dates, lists) are skipped with a notice in
``metadata["notes"]``. ``±inf`` samples become NaN (gaps) counted under ``non_finite``;
rows whose time goes backwards are left out, counted ``time_backwards``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, MalformedCounter, Recording
from desktop.formats.base import make_parser
from desktop.formats.columns import split_unit, time_unit, to_seconds
from desktop.recording.journal import iter_journal_batches, journal_schema
from desktop.recording.schema import JOURNAL_SUFFIX, TIME_COLUMN, channels_from, read_meta

log = logging.getLogger(__name__)

CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".dat", ".log"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
MAT_SUFFIXES = {".mat"}
_FOREIGN_TIME_NAMES = {"time_s", "time", "t", "timestamp", "seconds"}
ARROW_SUFFIXES = {".feather", ".arrow", ".ipc", ".arrows"}
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
    notes: list[str] = field(default_factory=list)

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
            "notes": self.notes,
            "path": self.path,
        }


def _resolve(path: Path) -> tuple[Path, str]:
    """Find what to read and how: ``parquet``, ``csv``, ``mat``, ``wav``, ``tdms``, ``xlsx``,
    ``arrow`` or ``journal``.

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
    if suffix in ARROW_SUFFIXES:
        return path, "arrow"
    if suffix in CSV_SUFFIXES:
        return path, "csv"
    if suffix in MAT_SUFFIXES:
        return path, "mat"
    kind = _other_kind(suffix)  # WAV, TDMS, Excel
    if kind:
        return path, kind
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic[:4] == b"PAR1":
        return path, "parquet"
    if magic == b"ARROW1" or magic[:4] == b"FEA1":
        return path, "arrow"
    return path, "csv"


def _other_kind(suffix: str) -> str | None:
    from desktop.recording.arrow_chunks import ARROW_SUFFIXES
    from desktop.recording.tdms import TDMS_SUFFIXES
    from desktop.recording.wav import WAV_SUFFIXES
    from desktop.recording.xlsx import XLSX_SUFFIXES

    for kind, suffixes in (("wav", WAV_SUFFIXES), ("tdms", TDMS_SUFFIXES | {".tdms_index"}),
                           ("xlsx", XLSX_SUFFIXES | {".xls"}), ("arrow", ARROW_SUFFIXES)):
        if suffix in suffixes:
            return kind
    return None


def _table_to_recording(table: pa.Table, meta: dict[str, Any], rate: float | None,
                        path: Path) -> Recording:
    """A table's time axis and channels (see the module doc for foreign files)."""
    notes: list[str] = []
    malformed = MalformedCounter()
    time_name = _time_column(table, meta, path)
    times: np.ndarray | None = None
    start_time = str(meta.get("start_time", ""))
    keep = None
    if time_name is not None:
        times, wall_start, keep = _time_values(table.column(time_name), time_name, path,
                                               malformed)
        if wall_start and not start_time:
            start_time = wall_start
    units = {c.get("name"): str(c.get("unit", "")) for c in meta.get("channels", [])
             if isinstance(c, dict)}
    columns: list[str] = []
    channels: list[ChannelSpec] = []
    index_cols = _pandas_index_columns(table.schema)
    for f in table.schema:
        if f.name == time_name:
            continue
        if not _numeric(f.type):
            notes.append(f"column '{f.name}' ({f.type}) skipped: not numbers")
            continue
        if f.name in index_cols:
            notes.append(f"column '{f.name}' skipped: a pandas index, not a signal")
            continue
        columns.append(f.name)
        if meta:
            channels.append(ChannelSpec(f.name, units.get(f.name, "")))
        else:
            name, unit = split_unit(f.name)
            channels.append(ChannelSpec(name or f.name, unit))
    if not channels:
        raise RecordingError(f"{path} has no numeric columns"
                             + (f" ({'; '.join(notes)})" if notes else ""))
    values = np.empty((table.num_rows, len(channels)), dtype=np.float64)
    for i, name in enumerate(columns):
        values[:, i] = _column_f64(table.column(name))
    infinite = np.isinf(values)
    if infinite.any():
        malformed["non_finite"] += int(np.count_nonzero(infinite))
        values[infinite] = np.nan
    if keep is not None:
        values = values[keep]
    for note in notes:
        log.warning("%s: %s", path, note)
    metadata = dict(meta)
    if malformed:
        metadata["malformed"] = {**dict(metadata.get("malformed") or {}), **malformed}
    if notes:
        metadata["notes"] = notes
    sample_rate = rate or _positive_or_none(meta.get("sample_rate"))
    return Recording(tuple(_unique(channels)), values, sample_rate, times,
                     source=str(meta.get("source", "")) if meta else f"file:{path.name}",
                     start_time=start_time, metadata=metadata)


def _numeric(t: pa.DataType) -> bool:
    return (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_boolean(t)
            or pa.types.is_decimal(t))


def _unique(channels: list[ChannelSpec]) -> list[ChannelSpec]:
    """Names made unique (``I(mA)`` and ``I(A)`` both become ``I``)."""
    seen: dict[str, int] = {}
    out = []
    for ch in channels:
        seen[ch.name] = seen.get(ch.name, 0) + 1
        out.append(ch if seen[ch.name] == 1 else ChannelSpec(f"{ch.name}_{seen[ch.name]}",
                                                             ch.unit))
    return out


def _pandas_index_columns(schema: pa.Schema) -> list[str]:
    raw = (schema.metadata or {}).get(b"pandas")
    if not raw:
        return []
    try:
        index = json.loads(raw).get("index_columns", [])
    except (ValueError, AttributeError):
        return []
    return [c for c in index if isinstance(c, str)]


def _time_column(table: pa.Table, meta: dict[str, Any], path: Path) -> str | None:
    """The column that is the time axis, or None.

    Ours: ``time_s`` (it must hold numbers). Foreign: the pandas index when it holds
    timestamps, else the first ``timestamp[*]`` column, else a numeric column named like
    time (``time``, ``t``, ``Time (ms)``, ``time_us``…).
    """
    schema = table.schema
    if TIME_COLUMN in schema.names:
        t = schema.field(TIME_COLUMN).type
        if not (pa.types.is_floating(t) or pa.types.is_integer(t)
                or pa.types.is_timestamp(t)):
            raise RecordingError(
                f"{path}: column '{TIME_COLUMN}' holds {t} values, not seconds; rewrite it "
                f"as numbers, or rename it so the file is read without a time axis")
        return TIME_COLUMN
    if meta:
        return None
    stamps = [f.name for f in schema if pa.types.is_timestamp(f.type)]
    index = [c for c in _pandas_index_columns(schema) if c in stamps]
    if index or stamps:
        return (index or stamps)[0]
    for f in schema:
        if (pa.types.is_floating(f.type) or pa.types.is_integer(f.type)) and time_unit(
                f.name) is not None:
            return f.name
    return None


def _time_values(column: pa.ChunkedArray, name: str, path: Path,
                 malformed: MalformedCounter) -> tuple[np.ndarray, str, np.ndarray | None]:
    """Seconds of a time column, the wall-clock start (ISO 8601) if it has one, and the
    rows to keep (None: all) after leaving out missing and backwards times."""
    t = column.type
    wall_start = ""
    if pa.types.is_timestamp(t):
        ticks = column.cast(pa.int64()).to_numpy(zero_copy_only=False)
        valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        per_s = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[t.unit]
        first = int(ticks[valid][0]) if valid.any() else 0
        seconds = (ticks - first).astype(np.float64) / per_s
        if valid.any():
            start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                microseconds=first * 1_000_000 // per_s)
            wall_start = start.isoformat()
    else:
        seconds = _column_f64(column)
        valid = np.isfinite(seconds)
        if name != TIME_COLUMN:
            unit = time_unit(name) or "s"
            seconds = np.asarray(to_seconds(seconds, unit), dtype=np.float64)
    keep = valid.copy()
    if (~valid).any():
        malformed["timestamp"] += int(np.count_nonzero(~valid))
    if seconds.size:
        filled = np.where(valid, seconds, -np.inf)
        running = np.maximum.accumulate(filled)
        backwards = valid & (seconds < np.concatenate(([-np.inf], running[:-1])))
        if backwards.any():
            malformed["time_backwards"] += int(np.count_nonzero(backwards))
            keep &= ~backwards
    if keep.all():
        return seconds, wall_start, None
    return seconds[keep], wall_start, keep


def _column_f64(column: pa.ChunkedArray) -> np.ndarray:
    """float64 with nulls as NaN (gaps stay gaps); bools as 0/1."""
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.uint8())
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
    except (pa.ArrowInvalid, OSError) as exc:
        raise RecordingError(f"{path} is not a readable Parquet file: {exc}") from exc
    return _table_to_recording(table, read_meta(table.schema), rate, path)


def read_arrow(path: Path, rate: float | None = None) -> Recording:
    """An Arrow IPC file or stream, or a Feather (v1 or v2) file."""
    import pyarrow.feather as feather

    try:
        try:
            table = feather.read_table(path)
        except (pa.ArrowInvalid, OSError):
            with pa.OSFile(str(path), "rb") as fh:
                table = pa.ipc.open_stream(fh).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise RecordingError(f"{path} is not a readable Arrow/Feather file: {exc}") from exc
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


def read_csv(path: Path, rate: float | None = None, line_format: str = "auto",
             decimal: str | None = None) -> Recording:
    """Parse a delimited text file with the serial port's parser; garbage is counted.

    ``decimal`` (``"."`` or ``","``) fixes the decimal mark; by default it is detected,
    and a file that reads equally well both ways (``21,5`` without a header) is refused
    with a message that says how to choose. Raises RecordingError (one line, naming the
    file) for unreadable files and files without numeric samples.
    """
    options: dict[str, Any] = {"decimal": decimal} if decimal else {}
    try:
        parser = make_parser(line_format, **options)
    except ValueError as exc:
        raise RecordingError(f"{path}: {exc}") from None
    value_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []
    widths: list[int] = []
    try:
        for chunk in _text_chunks(path):
            _collect(parser.feed(chunk), value_parts, time_parts, widths)
        _collect(parser.finish(), value_parts, time_parts, widths)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    ambiguity = getattr(parser, "ambiguity", None)
    if ambiguity:
        raise RecordingError(f"{path}: {ambiguity}")
    names = list(parser.channel_names)
    if not names or not value_parts:
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(parser.malformed.items()))
        raise RecordingError(f"{path} holds no numeric samples "
                             f"(rejected lines: {rejected or 'none'})")
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
    units = list(getattr(parser, "channel_units", [])) + [""] * width
    return Recording(tuple(ChannelSpec(n, u) for n, u in zip(names, units, strict=False)),
                     values, rate, times,
                     source=f"file:{path.name}",
                     metadata={"malformed": dict(malformed), "format": parser.description})


def _text_chunks(path: Path, chunk_bytes: int = _CSV_CHUNK) -> Iterator[bytes]:
    """The file's bytes as UTF-8: UTF-16 (with a BOM, or detected from its NUL bytes) is
    transcoded chunk by chunk; anything else is passed through (a UTF-8 BOM is dropped by
    the parser)."""
    with open(path, "rb") as fh:
        head = fh.read(chunk_bytes)
        encoding = _utf16_of(head)
        if encoding is None:
            chunk = head
            while chunk:
                yield chunk
                chunk = fh.read(chunk_bytes)
            return
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        chunk = head
        while chunk:
            yield decoder.decode(chunk).encode("utf-8")
            chunk = fh.read(chunk_bytes)
        yield decoder.decode(b"", final=True).encode("utf-8")


def _utf16_of(head: bytes) -> str | None:
    """``"utf-16"`` (BOM), ``"utf-16-le"``/``"-be"`` (no BOM, every other byte NUL)."""
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _collect(block: Any, values: list[np.ndarray], times: list[np.ndarray],
             widths: list[int]) -> None:
    if block.values.shape[0] == 0:
        return
    values.append(block.values)
    widths.append(block.values.shape[1])
    if block.timestamps is not None:
        times.append(block.timestamps)


def read_recording(path: Path | str, rate: float | None = None,
                   decimal: str | None = None) -> Recording:
    """Open a recording of any supported kind. ``rate`` overrides the stored rate;
    ``decimal`` fixes the decimal mark of a text file (``"."`` or ``","``)."""
    resolved, kind = _resolve(Path(path))
    if kind == "journal":
        log.warning("%s: reading the crash journal %s", path, resolved)
        return read_journal(resolved, rate)
    if kind == "parquet":
        return read_parquet(resolved, rate)
    if kind == "mat":
        from desktop.recording.mat import read_mat

        return read_mat(resolved, rate)
    if kind == "arrow":
        return read_arrow(resolved, rate)
    if kind in ("wav", "tdms", "xlsx"):
        return _read_other(resolved, kind, rate)
    return read_csv(resolved, rate, decimal=decimal)


def _read_other(path: Path, kind: str, rate: float | None) -> Recording:
    if kind == "wav":
        from desktop.recording.wav import read_wav

        return read_wav(path, rate)
    if kind == "tdms":
        from desktop.recording.tdms import read_tdms

        return read_tdms(path, rate)
    from desktop.recording.xlsx import read_xlsx

    return read_xlsx(path, rate)


def summarize_recording(path: Path | str, decimal: str | None = None) -> RecordingSummary:
    """Channels, rate, duration and sample count; reads only metadata for our Parquet."""
    resolved, kind = _resolve(Path(path))
    if kind == "parquet":
        try:
            pf = pq.ParquetFile(resolved)
        except (pa.ArrowInvalid, OSError) as exc:
            raise RecordingError(f"{resolved} is not a readable Parquet file: {exc}") from exc
        meta = read_meta(pf.schema_arrow)
        schema = pf.schema_arrow
        if (TIME_COLUMN in schema.names and meta
                and pa.types.is_floating(schema.field(TIME_COLUMN).type)):
            channels = tuple(c for c in channels_from(schema, meta))
            samples = pf.metadata.num_rows
            rate = _positive_or_none(meta.get("sample_rate"))
            duration = _duration_from_stats(pf, samples, rate)
            if duration is not None:
                return RecordingSummary(str(resolved), list(channels), rate, duration, samples,
                                        str(meta.get("source", "")),
                                        str(meta.get("start_time", "")))
    rec = read_recording(resolved, decimal=decimal)
    return RecordingSummary(
        str(resolved), list(rec.channels), rec.effective_rate(), rec.duration_s, rec.samples,
        rec.source, rec.start_time, kind == "journal",
        dict(rec.metadata.get("malformed", {})),  # type: ignore[arg-type]
        list(rec.metadata.get("notes", [])),  # type: ignore[call-overload]
    )


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
