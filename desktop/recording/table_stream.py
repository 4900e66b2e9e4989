"""A foreign Parquet file (pandas, Polars, a DAQ tool) streamed row group by row group.

Reading such a file whole holds the Arrow table and a float64 copy of it at once: a 5 GB
logger export took 13.7 GB to open (drill ``tests/drills/test_drill_big_parquet.py``).
Here one row group is in memory at a time. Which column is time, its unit and zero, and
which columns are channels are decided as :func:`desktop.recording.tables._table_to_recording`
decides them for the whole table — the time axis on the first row group that holds a
valid time (:func:`~desktop.recording.tables.decide_time_axis`), the channels from the
schema — and then applied to every group alike, with the running maximum of the time
carried from group to group, so rows whose time goes back are left out exactly as in the
whole read. A test checks that the streamed file and the whole read give the same
recording (values, times, start, notes and counts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from desktop.core.types import MalformedCounter
from desktop.recording.stream import CHUNK_ROWS, Chunk, ChunkStream
from desktop.recording.tables import (
    TimeAxis,
    _time_column,
    backwards_note,
    decide_time_axis,
    keep_forward,
    table_layout,
    table_values,
    time_axis_seconds,
)

log = logging.getLogger(__name__)


def _first_time_group(pf: pq.ParquetFile, time_name: str) -> int:
    """The first row group whose time column holds a valid value (0 when none does)."""
    for rg in range(pf.metadata.num_row_groups):
        col = pf.read_row_group(rg, columns=[time_name]).column(0)
        if col.null_count < len(col):
            return rg
    return 0


def foreign_parquet_stream(path: Path, pf: pq.ParquetFile, rate: float | None,
                           rows: int = CHUNK_ROWS) -> ChunkStream:
    """``pf`` (a foreign Parquet file, opened) as a :class:`ChunkStream` of at most
    ``rows`` rows per chunk; ``metadata`` gains ``malformed`` when the chunks are done.

    Raises :class:`~desktop.core.errors.RecordingError` as the whole-file reader does (no
    numeric column, a text time column), and, while streaming, for a date/text time cell
    further into the file that is not a date-time."""
    schema = pf.schema_arrow
    first = pf.read_row_group(0)
    time_name = _time_column(first, {}, path)
    axis: TimeAxis | None = None
    if time_name is not None:
        rg = _first_time_group(pf, time_name)
        column = (first if rg == 0 else pf.read_row_group(rg, columns=[time_name])).column(
            time_name)
        axis = decide_time_axis(column, time_name)
    del first
    columns, channels, notes = table_layout(schema, {}, time_name, path)
    for note in notes:
        log.warning("%s: %s", path, note)
    metadata: dict[str, object] = {}
    if axis is not None:
        metadata["inferred"] = {"time_column": axis.name, "time_unit": axis.described}
    if notes:
        metadata["notes"] = notes
    names = tuple(ch.name for ch in channels)
    total = max(1, pf.metadata.num_rows)
    wanted = columns + ([time_name] if time_name is not None else [])

    def chunks() -> Iterator[Chunk]:
        malformed = MalformedCounter()
        after = -np.inf
        done = 0
        for rg in range(pf.metadata.num_row_groups):
            table = pf.read_row_group(rg, columns=wanted)
            values = table_values(table, columns, malformed)
            times = None
            if axis is not None:
                seconds, valid = time_axis_seconds(axis, table.column(axis.name), path)
                keep, after = keep_forward(seconds, valid, malformed, after)
                times = seconds if keep is None else seconds[keep]
                if keep is not None:
                    values = values[keep]
            before, group = done, table.num_rows
            done += group
            del table
            kept = max(1, len(values))
            for start in range(0, len(values), rows):
                stop = min(len(values), start + rows)
                yield Chunk(values[start:stop], None if times is None else times[start:stop],
                            names, (before + group * stop / kept) / total)
        if malformed:  # in the whole read's key order: inferred, malformed, notes
            kept_notes = list(notes)  # the layout's notes, stored again after "malformed"
            metadata.pop("notes", None)
            metadata["malformed"] = dict(malformed)
            if axis is not None and malformed.get("time_backwards"):
                note = backwards_note(int(malformed["time_backwards"]), axis.name)
                log.warning("%s: %s", path, note)
                kept_notes.append(note)
            if kept_notes:
                metadata["notes"] = kept_notes

    return ChunkStream("parquet", tuple(channels), rate, chunks(), metadata,
                       f"file:{path.name}", axis.wall_start if axis is not None else "")
