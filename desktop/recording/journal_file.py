"""A crash journal (the folder ``rec.parquet.journal`` a killed recorder leaves) as a
recording: everything up to the last complete flush.

Asking for ``rec.parquet`` when only its journal exists reads the journal (the registry
resolves it), so the user need not know.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa

from desktop.core.types import Recording
from desktop.recording.format import FileFormat, ReadOptions
from desktop.recording.journal import iter_journal_batches, journal_schema, summarize_journal
from desktop.recording.schema import JOURNAL_SUFFIX, TIME_COLUMN, channels_from, read_meta
from desktop.recording.stream import ChunkStream
from desktop.recording.summary import RecordingSummary
from desktop.recording.tables import _positive_or_none, _table_to_recording

log = logging.getLogger(__name__)


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
                            recovered_from_journal=True, format="journal",
                            inferred={"time_column": TIME_COLUMN, "time_unit": "s"})


def _read(path: Path, options: ReadOptions) -> Recording:
    log.warning("reading the crash journal %s", path)
    return read_journal(path, options.rate)


def _stream(path: Path, options: ReadOptions) -> ChunkStream:
    from desktop.recording.arrow_chunks import arrow_stream

    return arrow_stream(path, "journal", options.rate)


def _summarize(path: Path, options: ReadOptions) -> RecordingSummary:
    return _summarize_journal(path)


def _sniff(path: Path, head: bytes) -> bool:
    return path.is_dir() and path.name.endswith(JOURNAL_SUFFIX)


FORMAT = FileFormat(
    "journal", "Crash journal", (), _read, stream=_stream, summarize=_summarize,
    sniff=_sniff, rules="a killed recording's journal folder, read up to its last flush",
    options=("rate",), folder=True)
