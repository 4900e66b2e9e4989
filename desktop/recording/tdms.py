"""NI TDMS files (LabVIEW, NI DAQ loggers) as recordings, read with ``npTDMS``.

A TDMS file holds groups of channels. The channels of a recording are the numeric
channels of the longest length (a DAQ task writes all its channels the same length);
shorter ones (a setup table, a one-row summary) are skipped and named in the metadata.
The rate comes from the waveform property ``wf_increment`` (seconds per sample); a
channel named like ``time`` becomes the time axis instead. The file is opened in
streaming mode, so channels are read a sample range at a time, never whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, Recording
from desktop.recording.chunks import CHUNK_ROWS, Chunk, ChunkStream

TDMS_SUFFIXES = {".tdms"}
_TIME_NAMES = {"time", "time_s", "t", "timestamp", "seconds"}


def _open(path: Path) -> Any:
    from nptdms import TdmsFile

    if path.name.lower().endswith(".tdms_index"):
        raise RecordingError(f"{path} is a TDMS index: open the .tdms file beside it")
    try:
        return TdmsFile.open(str(path))
    except (ValueError, OSError, KeyError, EOFError) as exc:
        raise RecordingError(f"{path} is not a readable TDMS file: {exc}") from exc


def _pick(tdms: Any, path: Path) -> tuple[list[Any], Any | None, list[str]]:
    """(signal channels, time channel or None, skipped channel names)."""
    numeric = []
    for group in tdms.groups():
        for ch in group.channels():
            dtype = getattr(ch, "dtype", None)
            if dtype is not None and np.dtype(dtype).kind in "fiu" and len(ch) > 0:
                numeric.append(ch)
    if not numeric:
        raise RecordingError(f"{path} holds no numeric TDMS channels")
    longest = max(len(ch) for ch in numeric)
    keep = [ch for ch in numeric if len(ch) == longest]
    skipped = [f"{ch.group_name}/{ch.name}" for ch in numeric if len(ch) != longest]
    time = next((ch for ch in keep if ch.name.lower() in _TIME_NAMES), None)
    signals = [ch for ch in keep if ch is not time]
    if not signals:
        raise RecordingError(f"{path} holds a time channel but no signals")
    return signals, time, skipped


def tdms_stream(path: Path, rate: float | None = None, rows: int = CHUNK_ROWS) -> ChunkStream:
    tdms = _open(path)
    signals, time, skipped = _pick(tdms, path)
    groups = {ch.group_name for ch in signals}
    channels = tuple(
        ChannelSpec(ch.name if len(groups) == 1 else f"{ch.group_name}/{ch.name}",
                    str(ch.properties.get("unit_string", "") or ""))
        for ch in signals)
    found_rate = rate
    if found_rate is None and time is None:
        inc = signals[0].properties.get("wf_increment")
        with contextlib.suppress(TypeError, ValueError):
            found_rate = 1.0 / float(inc) if inc and float(inc) > 0 else None
    start = signals[0].properties.get("wf_start_time")
    meta: dict[str, object] = {"format": "NI TDMS"}
    if skipped:
        meta["skipped_channels"] = skipped
    names = tuple(ch.name for ch in channels)
    n = len(signals[0])

    def chunks() -> Iterator[Chunk]:
        try:
            for a in range(0, n, rows):
                b = min(n, a + rows)
                values = np.empty((b - a, len(signals)))
                for j, ch in enumerate(signals):
                    values[:, j] = np.asarray(ch[a:b], dtype=np.float64)
                times = np.asarray(time[a:b], dtype=np.float64) if time is not None else None
                yield Chunk(values, times, names, b / n)
        finally:
            tdms.close()

    return ChunkStream("tdms", channels, found_rate, chunks(), meta, f"file:{path.name}",
                       str(start) if start is not None else "")


def read_tdms(path: Path, rate: float | None = None) -> Recording:
    stream = tdms_stream(path, rate)
    parts = list(stream.chunks)
    values = np.concatenate([c.values for c in parts])
    times = (np.concatenate([c.times for c in parts])  # type: ignore[misc]
             if parts[0].times is not None else None)
    return Recording(stream.channels, values, stream.sample_rate, times, stream.source,
                     stream.start_time, stream.metadata)
