"""NI TDMS files (LabVIEW, NI DAQ loggers) as recordings, read with ``npTDMS``.

A TDMS file holds groups of channels, and each group keeps its own time base: two DAQ
tasks write a 10 kHz vibration group and a 10 Hz temperature group into one file. A
group's time base is its waveform properties (``wf_increment`` seconds per sample,
``wf_start_time``) or a time channel (datetime values, or numbers named like ``time``).

Groups sharing one time base (same length and rate) are read together, as before;
otherwise one group is read: the one ``--group NAME`` names, or the one holding the
channel asked for, or the fastest (a known rate before an unknown one, then the longest).
The other groups are listed with their rates in ``inferred["groups"]`` and a note says how
to pick them, so a channel is always judged at its own rate. Within a group, channels
shorter than the group's longest (a setup table, a one-row summary) are skipped and
named. The file is opened in streaming mode: channels are read a sample range at a time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, Recording
from desktop.formats.columns import time_unit, to_seconds
from desktop.recording.format import FileFormat, OptionNeeded, ReadOptions
from desktop.recording.stream import CHUNK_ROWS, Chunk, ChunkStream, collect
from desktop.recording.summary import add_note

TDMS_SUFFIXES = {".tdms"}


@dataclass
class _Base:
    """Channels of one or more groups that share a time base."""

    groups: list[str]
    signals: list[Any]
    time: Any | None = None
    time_unit: str = ""  # "datetime" or a unit of numbers ("s", "ms" …)
    rate: float | None = None
    start: str = ""
    skipped: list[str] = field(default_factory=list)
    short: list[str] = field(default_factory=list)  # channels shorter than the group's

    @property
    def length(self) -> int:
        return len(self.signals[0])

    def describe(self) -> str:
        rate = (f"{self.rate:,.6g} Hz" if self.rate
                else "timed by channel " + self.time.name if self.time is not None
                else "rate unknown")
        return f"{rate}, {self.length:,} samples"


def _open(path: Path) -> Any:
    from nptdms import TdmsFile

    if path.name.lower().endswith(".tdms_index"):
        raise RecordingError(f"{path} is a TDMS index: open the .tdms file beside it")
    try:
        return TdmsFile.open(str(path))
    except (ValueError, OSError, KeyError, EOFError) as exc:
        raise RecordingError(f"{path} is not a readable TDMS file: {exc}") from exc


def _kind(ch: Any) -> str:
    dtype = getattr(ch, "dtype", None)
    try:
        return np.dtype(dtype).kind if dtype is not None else ""
    except TypeError:
        return ""


def _group_base(group: Any) -> _Base | None:
    """The time base of one group: its signals, time channel and rate."""
    chans = [ch for ch in group.channels() if len(ch) > 0 and _kind(ch) in "fiuM"]
    stamps = [ch for ch in chans if _kind(ch) == "M"]
    numeric = [ch for ch in chans if _kind(ch) in "fiu"]
    time = stamps[0] if stamps else next(
        (ch for ch in numeric if time_unit(ch.name) is not None), None)
    signals = [ch for ch in numeric if ch is not time]
    if not signals and time is not None and _kind(time) != "M" \
            and time.properties.get("wf_increment") is not None:
        signals, time = [time], None  # a waveform named "t" (a temperature) is a signal
    if not signals:
        return None
    longest = max(len(ch) for ch in signals)
    base = _Base([group.name], [ch for ch in signals if len(ch) == longest])
    base.skipped = [f"{ch.group_name}/{ch.name}" for ch in signals if len(ch) != longest]
    base.short = [f"'{ch.group_name}/{ch.name}' ({len(ch):,} samples)" for ch in signals
                  if len(ch) != longest]
    if time is not None and len(time) >= longest:
        base.time = time
        base.time_unit = "datetime" if _kind(time) == "M" else (time_unit(time.name) or "s")
    else:
        inc = base.signals[0].properties.get("wf_increment")
        with contextlib.suppress(TypeError, ValueError):
            base.rate = 1.0 / float(inc) if inc and float(inc) > 0 else None
    start = base.signals[0].properties.get("wf_start_time")
    base.start = _start_text(start)
    return base


def _start_text(start: object) -> str:
    """``wf_start_time`` (a numpy datetime64 in UTC, as npTDMS gives it) as ISO 8601 with
    its offset, like every other reader's ``start_time``; "" when absent."""
    if start is None:
        return ""
    try:
        us = np.datetime64(start, "us").astype(np.int64)  # type: ignore[call-overload]
        return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
                + dt.timedelta(microseconds=int(us))).isoformat()
    except (TypeError, ValueError, OverflowError):
        return str(start)


def _adopt_time_groups(tdms: Any, bases: list[_Base]) -> None:
    """A group holding only a time channel (some loggers write ``Time/Time`` beside
    ``Data/…``) times the group of its length that has no time base of its own."""
    for group in tdms.groups():
        chans = [ch for ch in group.channels() if len(ch) > 0]
        if len(chans) != 1 or _kind(chans[0]) not in "fiuM" \
                or chans[0].properties.get("wf_increment") is not None:
            continue
        time = chans[0]
        if _kind(time) != "M" and time_unit(time.name) is None:
            continue
        for base in bases:
            if base.time is None and base.rate is None and base.length == len(time):
                base.time = time
                base.time_unit = "datetime" if _kind(time) == "M" else (
                    time_unit(time.name) or "s")
                break


def _same_base(a: _Base, b: _Base) -> bool:
    if a.length != b.length or (a.time is None) != (b.time is None) or a.time is not None:
        return False
    return a.rate == b.rate or (a.rate is not None and b.rate is not None
                                and abs(a.rate - b.rate) <= 1e-9 * a.rate)


def _choose(tdms: Any, path: Path, options: ReadOptions) -> tuple[_Base, list[_Base]]:
    """(the base to read, every base) following the module doc's rules."""
    bases = [b for b in (_group_base(g) for g in tdms.groups()) if b is not None]
    _adopt_time_groups(tdms, bases)
    if not bases:
        raise RecordingError(f"{path} holds no numeric TDMS channels")
    if len(bases) == 1:
        return bases[0], bases
    if all(_same_base(bases[0], b) for b in bases[1:]):
        merged = _Base([g for b in bases for g in b.groups],
                       [ch for b in bases for ch in b.signals], None, "", bases[0].rate,
                       bases[0].start, [s for b in bases for s in b.skipped],
                       [s for b in bases for s in b.short])
        return merged, bases
    listed = ", ".join(f"'{b.groups[0]}' ({b.describe()})" for b in bases)
    if options.group is not None:
        pick = [b for b in bases if b.groups[0].lower() == options.group.strip().lower()]
        if not pick:
            raise OptionNeeded(f"{path} has no TDMS group '{options.group}' "
                                 f"(groups: {listed}); give --group with one of them")
        return pick[0], bases
    if options.channel is not None:
        want = options.channel.strip().lower()
        pick = [b for b in bases if any(ch.name.lower() == want for ch in b.signals)]
        if pick:
            return pick[0], bases
    return max(bases, key=lambda b: (b.rate is not None, b.rate or 0.0, b.length)), bases


def tdms_stream(path: Path, rate: float | None = None, rows: int = CHUNK_ROWS,
                options: ReadOptions | None = None) -> ChunkStream:
    """The chosen group(s) of a TDMS file, a sample range at a time."""
    options = options or ReadOptions(rate=rate)
    tdms = _open(path)
    try:
        base, bases = _choose(tdms, path, options)
    except Exception:
        tdms.close()
        raise
    several = len(base.groups) > 1
    signals, time = base.signals, base.time
    channels = tuple(
        ChannelSpec(f"{ch.group_name}/{ch.name}" if several else ch.name,
                    str(ch.properties.get("unit_string", "") or ""))
        for ch in signals)
    meta: dict[str, object] = {"format": "NI TDMS"}
    skipped = list(base.skipped)
    others = [b for b in bases if b.groups[0] not in base.groups]
    skipped += [f"{ch.group_name}/{ch.name}" for b in others for ch in b.signals]
    if skipped:
        meta["skipped_channels"] = skipped
    inferred: dict[str, object] = {"group": ", ".join(base.groups)}
    if len(bases) > 1:
        inferred["groups"] = {b.groups[0]: b.describe() for b in bases}
    if time is not None:
        inferred["time_column"] = f"{time.group_name}/{time.name}"
        inferred["time_unit"] = base.time_unit
    elif base.rate:
        inferred["time_unit"] = "wf_increment"
    meta["inferred"] = inferred
    if others:
        meta["notes"] = [
            f"TDMS groups have different time bases: read group '{base.groups[0]}' "
            f"({base.describe()}); also in the file: "
            + ", ".join(f"'{b.groups[0]}' ({b.describe()})" for b in others)
            + "; pick one with --group NAME"]
    if base.short:
        add_note(meta, f"channel(s) {', '.join(base.short)} left out: shorter than the "
                       f"{base.length:,} samples of group '{base.groups[0]}' (a channel "
                       "cannot share its time axis); export them as a group of their own")
    names = tuple(ch.name for ch in channels)
    n = base.length
    start = base.start

    def chunks() -> Iterator[Chunk]:
        try:
            for a in range(0, n, rows):
                b = min(n, a + rows)
                values = np.empty((b - a, len(signals)))
                for j, ch in enumerate(signals):
                    values[:, j] = np.asarray(ch[a:b], dtype=np.float64)
                times = _times(time, base.time_unit, a, b) if time is not None else None
                yield Chunk(values, times, names, b / n)
        finally:
            tdms.close()

    if time is not None and base.time_unit == "datetime" and not start:
        first = np.asarray(time[0:1]).astype("datetime64[us]")
        start = dt.datetime.fromtimestamp(first.astype(np.int64)[0] / 1e6, dt.UTC).isoformat()
    return ChunkStream("tdms", channels, options.rate or base.rate, chunks(), meta,
                       f"file:{path.name}", start)


def _times(time: Any, unit: str, a: int, b: int) -> np.ndarray:
    """Seconds of a time channel's samples ``a:b``: Unix seconds for datetime values (a
    date-time axis), else the numbers in seconds."""
    raw = np.asarray(time[a:b])
    if unit == "datetime":
        return raw.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
    return np.asarray(to_seconds(raw.astype(np.float64), unit), dtype=np.float64)


def read_tdms(path: Path, rate: float | None = None,
              options: ReadOptions | None = None) -> Recording:
    """The whole chosen group (see :func:`tdms_stream`)."""
    return collect(tdms_stream(path, rate, options=options), path)


def _read(path: Path, options: ReadOptions) -> Recording:
    return read_tdms(path, options.rate, options)


def _stream(path: Path, options: ReadOptions) -> ChunkStream:
    return tdms_stream(path, options.rate, options=options)


def _sniff(path: Path, head: bytes) -> bool:
    return head[:4] == b"TDSm"


FORMAT = FileFormat(
    "tdms", "NI TDMS", tuple(sorted(TDMS_SUFFIXES)), _read, stream=_stream, sniff=_sniff,
    rules="numeric channels of one group; each group keeps its own time base "
          "(wf_increment, wf_start_time) or time channel; the fastest group unless "
          "--group or a channel name picks",
    options=("rate", "group", "channel"), refused=(".tdms_index",))
