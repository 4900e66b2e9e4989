"""What ``linewatch info`` prints about a recording: :class:`RecordingSummary`.

Besides channels, rate and length it carries what the reader *inferred* (the sheet of a
workbook, the TDMS group and the other groups' rates, the time column and its unit, the
units row, a preamble), so a user can check the reading instead of trusting it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.core.types import WALL_CLOCK_MIN_S, ChannelSpec, Recording

#: Metadata keys a reader fills with what it inferred (shown by ``info``).
INFERRED_KEY = "inferred"


@dataclass
class RecordingSummary:
    """What ``linewatch info`` prints: cheap to get even for a large Parquet file.

    ``duration_s`` is None when the rate is unknown (no rate and no time axis): the
    length in seconds cannot be known, and 0.0 would be a wrong answer.
    """

    path: str
    channels: list[ChannelSpec]
    sample_rate: float | None
    duration_s: float | None
    samples: int
    source: str = ""
    start_time: str = ""
    recovered_from_journal: bool = False
    malformed: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    format: str = ""
    inferred: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "channels": [ch.name for ch in self.channels],
            "units": [ch.unit for ch in self.channels],
            "sample_rate": self.sample_rate,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 6),
            "samples": self.samples,
            "source": self.source,
            "start_time": self.start_time,
            "recovered_from_journal": self.recovered_from_journal,
            "malformed": self.malformed,
            "notes": self.notes,
            "path": self.path,
            "format": self.format,
            "inferred": self.inferred,
        }


def summary_of(rec: Recording, path: str, kind: str) -> RecordingSummary:
    """The summary of a recording read whole."""
    rate = rec.effective_rate()
    duration: float | None = rec.duration_s
    if rate is None and rec.samples > 0:
        duration = None  # no rate and no usable time axis: the length is unknown
    malformed = rec.metadata.get("malformed") or {}
    notes = rec.metadata.get("notes") or []
    inferred = rec.metadata.get(INFERRED_KEY) or {}
    return RecordingSummary(
        path, list(rec.channels), rate, duration, rec.samples, rec.source, rec.start_time,
        bool(rec.metadata.get("recovered_from_journal")),
        dict(malformed) if isinstance(malformed, dict) else {},
        [str(n) for n in notes] if isinstance(notes, list) else [],
        kind, dict(inferred) if isinstance(inferred, dict) else {})


def add_note(metadata: dict[str, object], note: str) -> None:
    """Append one user-facing note to a recording's ``metadata["notes"]``."""
    notes = metadata.get("notes")
    if not isinstance(notes, list):
        notes = []
        metadata["notes"] = notes
    notes.append(note)


def infer(metadata: dict[str, object], **found: Any) -> None:
    """Record what a reader inferred (``sheet="Data"``, ``time_column="t"``…)."""
    inferred = metadata.get(INFERRED_KEY)
    if not isinstance(inferred, dict):
        inferred = {}
        metadata[INFERRED_KEY] = inferred
    inferred.update({k: v for k, v in found.items() if v not in (None, "", [], {})})


def wall_clock_start(times: np.ndarray | None) -> str:
    """The first time of a wall-clock axis (Unix-epoch seconds; naive file times were
    taken as UTC, so this is the wall clock as the file wrote it) as ISO 8601, or ""
    when the axis is absent or relative (seconds from the start)."""
    if times is None or not len(times):
        return ""
    first = float(times[0])
    if not np.isfinite(first) or first < WALL_CLOCK_MIN_S:
        return ""
    try:
        return dt.datetime.fromtimestamp(first, dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""
