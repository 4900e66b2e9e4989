"""A recording read piece by piece: what indexing a big file streams through.

:func:`desktop.recording.readers.read_recording` returns a whole :class:`Recording` in
memory, which is right for a model's training slice and wrong for a 10 GB log. Every
format also offers a :class:`ChunkStream`: the channels and rate as far as they are known
up front, then ``chunks`` yielding :class:`Chunk` rows in file order (text is parsed in
byte chunks by the serial port's own parser, Parquet by row groups, Arrow IPC by record
batches, WAV and TDMS by sample ranges), so nothing ever holds the whole file. Formats
whose libraries can only load a file whole (``.mat`` v5, ``.xlsx``) are read whole and
then chunked; they are small by nature.

:func:`open_chunks` is the dispatch, the streaming twin of ``read_recording``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.types import ChannelSpec, Recording

CHUNK_ROWS = 65_536


@dataclass
class Chunk:
    """Consecutive rows: ``values (n, len(names))`` float64 (NaN = missing), ``times``
    (n,) seconds or None (times follow from the rate), ``done`` the fraction of the
    input read so far (for progress)."""

    values: np.ndarray
    times: np.ndarray | None
    names: tuple[str, ...]
    done: float


@dataclass
class Skim:
    """A coarse look at a whole text file from a few hundred places (not every row):
    enough to draw its shape while the real index is being built. ``times`` are the
    rows' own times, or estimated row indices / rate for a file without a time column."""

    times: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]
    timed: bool
    estimated_rows: int
    first_rows: np.ndarray  # (k, channels) exact first rows (the head of the file)


@dataclass
class ChunkStream:
    """An opened recording, streamed. ``channels`` may be empty until the first chunk
    (a text file names its channels in its header, a key-value log as it goes);
    ``metadata`` is completed when ``chunks`` is exhausted (malformed-line counts)."""

    kind: str
    channels: tuple[ChannelSpec, ...]
    sample_rate: float | None
    chunks: Iterator[Chunk]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    start_time: str = ""
    skim: Callable[[], Skim | None] | None = None


def recording_chunks(rec: Recording, done_from: float = 0.0,
                     rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """A recording already in memory, as chunks (formats read whole)."""
    names = tuple(ch.name for ch in rec.channels)
    n = rec.samples
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        times = rec.timestamps[start:stop] if rec.timestamps is not None else None
        yield Chunk(rec.values[start:stop], times, names,
                    done_from + (1.0 - done_from) * stop / max(1, n))


def stream_of(rec: Recording, kind: str) -> ChunkStream:
    """A whole recording as a :class:`ChunkStream`."""
    return ChunkStream(kind, rec.channels, rec.sample_rate, recording_chunks(rec),
                       dict(rec.metadata), rec.source, rec.start_time)


def open_chunks(path: Path | str, rate: float | None = None,
                decimal: str | None = None) -> ChunkStream:
    """Stream any recording :func:`~desktop.recording.readers.read_recording` reads, with the
    same values: text through the same parser and byte source (UTF-16, decimal mark,
    ambiguity refusal), our own Parquet/Arrow recordings and journals batch by batch.
    Parquet/Arrow files written by other tools (timestamp columns, pandas indexes, text
    columns) go through the one reader that knows their rules, whole, then as chunks."""
    from desktop.recording import readers

    resolved, kind = readers._resolve(Path(path))
    if kind in ("csv",):
        from desktop.recording.text_chunks import text_stream

        return text_stream(resolved, rate, decimal=decimal)
    if kind == "journal" or (kind in ("parquet", "arrow") and _ours(resolved, kind)):
        from desktop.recording.arrow_chunks import arrow_stream

        return arrow_stream(resolved, kind, rate)
    if kind == "wav":
        from desktop.recording.wav import wav_stream

        return wav_stream(resolved, rate)
    if kind == "tdms":
        from desktop.recording.tdms import tdms_stream

        return tdms_stream(resolved, rate)
    return stream_of(readers.read_recording(resolved, rate, decimal=decimal), kind)


def _ours(path: Path, kind: str) -> bool:
    """True for a Parquet/Arrow file that Linewatch wrote (its metadata key is present and
    ``time_s`` is a float column): those stream batch by batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from desktop.recording.schema import TIME_COLUMN, read_meta

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
