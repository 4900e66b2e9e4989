"""Tables (Parquet, Arrow/Feather, journals) as recordings: which column is time, which
are channels, in what units.

Ours: ``time_s`` then float channels, described in the schema metadata. Files written by
other tools (pandas, Polars, DAQ software) are read by their types: a ``timestamp[*]``
column (or a pandas datetime index) is the time axis, as seconds from the first sample
with the wall-clock start in ``start_time``; a plain integer column named like time
(``timestamp``, ``time_ms``, ``epoch_us``) is epoch time in the unit its name gives, or,
without one, the unit its magnitude shows (stated in ``inferred``), kept exact as int64
until the first sample is subtracted; integer, bool and float columns are channels; other
columns (text, dates, lists) are skipped with a notice in ``metadata["notes"]``. ``±inf``
samples become NaN (gaps) counted under ``non_finite``; rows whose time goes backwards are
left out, counted ``time_backwards``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from desktop.core.errors import RecordingError
from desktop.core.jsonfile import loads as json_limited
from desktop.core.types import ChannelSpec, MalformedCounter, Recording
from desktop.formats.columns import split_unit, time_unit, to_seconds
from desktop.recording.schema import TIME_COLUMN
from desktop.recording.summary import wall_clock_start

log = logging.getLogger(__name__)


def _table_to_recording(table: pa.Table, meta: dict[str, Any], rate: float | None,
                        path: Path) -> Recording:
    """A table's time axis and channels (see the module doc for foreign files)."""
    malformed = MalformedCounter()
    time_name = _time_column(table, meta, path)
    times: np.ndarray | None = None
    start_time = str(meta.get("start_time", ""))
    keep = None
    inferred: dict[str, str] = {}
    if time_name is not None:
        times, wall_start, keep, unit_text = _time_values(table.column(time_name), time_name,
                                                          path, malformed)
        if wall_start and not start_time:
            start_time = wall_start
        inferred = {"time_column": time_name, "time_unit": unit_text}
    columns, channels, notes = table_layout(table.schema, meta, time_name, path)
    values = table_values(table, columns, malformed)
    if keep is not None:
        values = values[keep]
    if time_name is not None and malformed.get("time_backwards"):
        notes.append(backwards_note(int(malformed["time_backwards"]), time_name))
    for note in notes:
        log.warning("%s: %s", path, note)
    metadata = dict(meta)
    if inferred and not meta:
        metadata["inferred"] = inferred
    if malformed:
        metadata["malformed"] = {**dict(metadata.get("malformed") or {}), **malformed}
    if notes:
        metadata["notes"] = notes
    sample_rate = rate or _positive_or_none(meta.get("sample_rate"))
    return Recording(tuple(channels), values, sample_rate, times,
                     source=str(meta.get("source", "")) if meta else f"file:{path.name}",
                     start_time=start_time, metadata=metadata)


def backwards_note(rows: int, time_name: str) -> str:
    """The note for rows left out because their time went back (a file not sorted by time,
    row groups written out of order)."""
    return (f"{rows:,} rows whose time in column '{time_name}' goes back were left out; "
            "sort the file by time to keep them")


def table_layout(schema: pa.Schema, meta: dict[str, Any], time_name: str | None, path: Path
                 ) -> tuple[list[str], list[ChannelSpec], list[str]]:
    """``(columns, channels, notes)``: the columns that are channels (numbers, not the time
    axis nor a pandas index), their names and units, and a note per column left out.

    Raises :class:`RecordingError` when no column holds numbers."""
    notes: list[str] = []
    units = {c.get("name"): str(c.get("unit", "")) for c in meta.get("channels", [])
             if isinstance(c, dict)}
    columns: list[str] = []
    channels: list[ChannelSpec] = []
    index_cols = _pandas_index_columns(schema)
    for f in schema:
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
    return columns, _unique(channels), notes


def table_values(table: pa.Table | pa.RecordBatch, columns: list[str],
                 malformed: MalformedCounter) -> np.ndarray:
    """``columns`` of ``table`` as float64, shape ``(rows, len(columns))``; nulls NaN,
    ``±inf`` NaN too (gaps), counted under ``non_finite``."""
    values = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for i, name in enumerate(columns):
        values[:, i] = _column_f64(table.column(name))
    infinite = np.isinf(values)
    if infinite.any():
        malformed["non_finite"] += int(np.count_nonzero(infinite))
        values[infinite] = np.nan
    return values


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
        index = json_limited(raw).get("index_columns", [])  # nesting capped: hostile files
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
        check_time_column(schema, TIME_COLUMN, path)  # one refusal, naming the column
        return TIME_COLUMN
    if meta:
        return None
    stamps = [f.name for f in schema if pa.types.is_timestamp(f.type)]
    index = [c for c in _pandas_index_columns(schema) if c in stamps]
    if index or stamps:
        return (index or stamps)[0]
    for f in schema:  # dates, or date-times written as text, under a time/date name
        if (pa.types.is_date(f.type) or _is_text(f.type)) and _DATE_NAME.search(f.name) \
                and _as_timestamps(table.column(f.name)) is not None:
            return f.name
    for f in schema:
        if (pa.types.is_floating(f.type) or pa.types.is_integer(f.type)) and time_unit(
                f.name) is not None:
            return f.name
    return None


@dataclass(frozen=True)
class TimeAxis:
    """How a time column's values become seconds: decided once (on the whole table, or on
    the first row group of a big file that is read group by group) and applied to every
    row group the same way, so a file streamed in parts gets the seconds it gets whole.

    ``ticks_per_s``: timestamps and integer epoch time, as int64 ticks minus
    ``first_tick`` (exact: epoch nanoseconds exceed float64's 2**53 integers); otherwise
    float values minus ``offset``, divided by ``divisor`` (epoch ms/us/ns held as floats
    under a bare name) or converted from ``unit`` (:func:`to_seconds`), or kept as they
    are (``time_s``). ``as_timestamps``: a date or ISO-text column converted first.
    """

    name: str
    described: str
    wall_start: str = ""
    ticks_per_s: int | None = None
    first_tick: int = 0
    offset: float = 0.0
    divisor: float | None = None
    unit: str | None = None
    as_timestamps: bool = False


def decide_time_axis(column: pa.ChunkedArray, name: str) -> TimeAxis:
    """The :class:`TimeAxis` of time column ``name`` from its values (the first valid
    value decides epoch units by magnitude and is the zero of epoch axes)."""
    converted = pa.types.is_date(column.type) or _is_text(column.type)
    written = "ISO 8601 text" if _is_text(column.type) else str(column.type)
    if converted:
        column = _as_timestamps(column) or column
    t = column.type
    valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    epoch_unit = _epoch_unit(column, name, valid) if pa.types.is_integer(t) else None
    if pa.types.is_timestamp(t) or epoch_unit is not None:
        unit = t.unit if pa.types.is_timestamp(t) else epoch_unit[0]  # type: ignore[index]
        described = (f"{unit} ({t})" if pa.types.is_timestamp(t)
                     else f"{unit} since 1970 ({epoch_unit[1]})")  # type: ignore[index]
        per_s = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
        first = 0
        wall_start = ""
        if valid.any():
            first = int(column.filter(pa.array(valid)).slice(0, 1).cast(pa.int64())[0].as_py())
            start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                microseconds=first * 1_000_000 // per_s)
            wall_start = start.isoformat()
        axis = TimeAxis(name, described, wall_start, ticks_per_s=per_s, first_tick=first)
    else:
        seconds = _column_f64(column)
        valid &= np.isfinite(seconds)
        big = _float_epoch_unit(seconds, valid, name)
        if big is not None:  # epoch ms/us/ns stored as floats under a bare name
            per = {"ms": 1e3, "us": 1e6, "ns": 1e9}[big]
            first_value = float(seconds[valid][0])
            wall_start = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                seconds=first_value / per)).isoformat()
            axis = TimeAxis(name, f"{big} since 1970 (unit from the magnitude)", wall_start,
                            offset=first_value, divisor=per)
        elif name != TIME_COLUMN:
            unit = time_unit(name) or "s"
            first_value = float(seconds[valid][0]) if valid.any() else 0.0
            lower = dict(_EPOCH_RANGES).get(unit)
            if unit != "s" and lower is not None and abs(first_value) >= lower:  # time_ms
                wall_start = wall_clock_start(np.asarray(
                    [float(to_seconds(first_value, unit))]))  # type: ignore[arg-type]
                axis = TimeAxis(name, f"{unit} since 1970 (unit from the name)", wall_start,
                                offset=first_value, unit=unit)
            else:  # epoch seconds are kept as they are (a date axis), start named
                axis = TimeAxis(name, f"{unit} (from the name)", unit=unit)
                first_s = np.asarray(to_seconds(seconds[valid][:1], unit), dtype=np.float64)
                axis = replace(axis, wall_start=wall_clock_start(first_s))
        else:
            axis = TimeAxis(name, "s")
    if converted:
        axis = replace(axis, described=f"wall-clock date-time ({written})", as_timestamps=True)
    return axis


def time_axis_seconds(axis: TimeAxis, column: pa.ChunkedArray | pa.Array, path: Path
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(seconds, valid)`` of ``column`` on ``axis``: shape ``(rows,)`` each; ``valid``
    is False for missing (and non-finite float) times.

    Raises :class:`RecordingError` when a date/text column holds a value that is not a
    date-time (a part of a big file the first part did not show)."""
    if axis.as_timestamps:
        converted = _as_timestamps(column)
        if converted is None:
            raise RecordingError(f"{path}: column '{axis.name}' holds text that is not a "
                                 "date-time further into the file; fix those cells or read "
                                 "the file with that column renamed")
        column = converted
    valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if axis.ticks_per_s is not None:
        ticks = column.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        # int64 arithmetic first: epoch nanoseconds exceed float64's 2**53 exact integers.
        seconds = (ticks - np.int64(axis.first_tick)).astype(np.float64) / axis.ticks_per_s
        return seconds, valid
    seconds = _column_f64(column)
    valid &= np.isfinite(seconds)
    if axis.divisor is not None:
        seconds = (seconds - axis.offset) / axis.divisor
    elif axis.unit is not None:
        seconds = np.asarray(to_seconds(seconds - axis.offset, axis.unit), dtype=np.float64)
    return seconds, valid


def keep_forward(seconds: np.ndarray, valid: np.ndarray, malformed: MalformedCounter,
                 after: float = -math.inf) -> tuple[np.ndarray | None, float]:
    """Rows to keep (None: all) leaving out missing times and times that go back (below
    the running maximum, which starts at ``after``: the previous part's), counted under
    ``timestamp`` and ``time_backwards``; and the running maximum to carry on."""
    keep = valid.copy()
    if (~valid).any():
        malformed["timestamp"] += int(np.count_nonzero(~valid))
    carry = after
    if seconds.size:
        filled = np.where(valid, seconds, -np.inf)
        running = np.maximum.accumulate(np.concatenate(([after], filled)))
        backwards = valid & (seconds < running[:-1])
        if backwards.any():
            malformed["time_backwards"] += int(np.count_nonzero(backwards))
            keep &= ~backwards
        carry = float(running[-1])
    return (None if keep.all() else keep), carry


def _time_values(column: pa.ChunkedArray, name: str, path: Path, malformed: MalformedCounter
                 ) -> tuple[np.ndarray, str, np.ndarray | None, str]:
    """Seconds of a time column, the wall-clock start (ISO 8601) if it has one, the rows to
    keep (None: all) after leaving out missing and backwards times, and the unit in words
    (what ``info`` shows)."""
    axis = decide_time_axis(column, name)
    seconds, valid = time_axis_seconds(axis, column, path)
    keep, _ = keep_forward(seconds, valid, malformed)
    if keep is None:
        return seconds, axis.wall_start, None, axis.described
    return seconds[keep], axis.wall_start, keep, axis.described


#: Epoch magnitudes (now ± decades): seconds ~1.7e9, ms ~1.7e12, us ~1.7e15, ns ~1.7e18.
_EPOCH_RANGES = (("ns", 1e17), ("us", 1e14), ("ms", 1e11), ("s", 1e8))


def _epoch_unit(column: pa.ChunkedArray, name: str, valid: np.ndarray
                ) -> tuple[str, str] | None:
    """``(unit, how it was found)`` of an integer time column holding Unix epoch time, or
    None when it is not epoch time (a relative counter: ``time_ms`` 0, 10, 20 …).

    The name's unit (``time_ms``, ``epoch_us``, ``Time (ns)``) decides when it gives one;
    a bare name (``timestamp``, ``time``) is decided by the magnitude of the first value.
    """
    if not valid.any() or name == TIME_COLUMN:
        return None
    first = abs(int(column.filter(pa.array(valid)).slice(0, 1).cast(pa.int64())[0].as_py()))
    named = _named_time_unit(name)
    if named is not None:
        lower = dict(_EPOCH_RANGES).get(named, None)
        return (named, "unit from the name") if lower and first >= lower else None
    for unit, lower in _EPOCH_RANGES:
        if first >= lower:
            return unit, "unit from the magnitude"
    return None


def _float_epoch_unit(values: np.ndarray, valid: np.ndarray, name: str) -> str | None:
    """``"ms"``/``"us"``/``"ns"`` for a float time column under a bare name
    (``timestamp``) whose first value is epoch time in that unit, else None (epoch
    *seconds* are kept as they are: the window draws them on a date axis)."""
    if name == TIME_COLUMN or _named_time_unit(name) is not None or not valid.any():
        return None
    first = abs(float(values[valid][0]))
    for unit, lower in _EPOCH_RANGES[:3]:
        if first >= lower:
            return unit
    return None


def _named_time_unit(name: str) -> str | None:
    """The unit a time column's name states (``time_ms``, ``Time (s)``, ``millis``), or
    None for a bare name (``time``, ``timestamp``) that only defaults to seconds."""
    unit = time_unit(name)
    if unit is None:
        return None
    low = name.strip().lower()
    if unit != "s" or split_unit(name)[1] or low in ("time_s", "t_s", "seconds", "sec", "s",
                                                      "epoch_s", "timestamp_s"):
        return unit
    return None


#: Names of a date or date-time column held as dates or text.
_DATE_NAME = re.compile(r"(date|datum|time|zeit|stamp)", re.IGNORECASE)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _as_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A date or ISO 8601 text column as ``timestamp[ns]`` (naive: read as UTC), or
    None when it does not convert (text that is not date-times)."""
    try:
        if pa.types.is_date(column.type):
            return column.cast(pa.timestamp("ns"))
        return column.cast(pa.timestamp("ns"))  # ISO 8601, "T" or a blank between
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


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
    """float64 with nulls as NaN (gaps stay gaps); bools as 0/1."""
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.uint8())
    # safe=False: an int64 above 2**53 is rounded to the nearest float, not refused.
    return column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(
        np.float64, copy=False)


def _positive_or_none(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None

