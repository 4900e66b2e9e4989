"""The streamed shape of a recording: :class:`Chunk` rows, a :class:`ChunkStream` and a
text file's :class:`Skim` (the types every format's stream returns).

:func:`desktop.recording.registry.read_recording` returns a whole :class:`Recording` in
memory, which is right for a model's training slice and wrong for a 10 GB log. Every
format also offers a :class:`ChunkStream`: the channels and rate as far as they are known
up front, then ``chunks`` yielding :class:`Chunk` rows in file order (text is parsed in
byte chunks by the serial port's own parser, Parquet by row groups, Arrow IPC by record
batches, WAV and TDMS by sample ranges), so nothing ever holds the whole file. Formats
whose libraries can only load a file whole (``.mat`` v5, ``.xlsx``) are read whole and
then chunked (:func:`stream_of`); they are small by nature.
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


def collect(stream: ChunkStream, path: Path) -> Recording:
    """A whole :class:`ChunkStream` read into one :class:`Recording` (small files,
    ``read_recording`` of a format whose reader is its stream)."""
    from desktop.core.errors import RecordingError

    parts = list(stream.chunks)
    if not parts:
        raise RecordingError(f"{path} holds no samples")
    names = parts[-1].names
    width = len(names)
    values = np.concatenate([
        c.values if c.values.shape[1] == width
        else np.hstack([c.values, np.full((c.values.shape[0], width - c.values.shape[1]),
                                          np.nan)])
        for c in parts])
    stamps = [c.times for c in parts if c.times is not None]
    times = np.concatenate(stamps) if len(stamps) == len(parts) else None
    channels = stream.channels or tuple(ChannelSpec(n) for n in names)
    return Recording(channels, values, stream.sample_rate, times, stream.source,
                     stream.start_time, stream.metadata)
