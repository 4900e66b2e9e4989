"""Plain data types shared by every layer.

They hold numpy arrays and strings only, so sources, streams, recording and the UI can
exchange them without importing each other (the layer rules in ARCHITECTURE.md).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ChannelSpec:
    """One signal column: its name as the engineer sees it and its physical unit."""

    name: str
    unit: str = ""


class SourceState(enum.Enum):
    """Connection states a source reports; the UI and CLI show them as they change.

    A serial device that is unplugged goes CONNECTED → LOST → RECONNECTING → CONNECTED;
    a replay that reaches the end of its file goes to FINISHED.
    """

    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    RECONNECTING = "reconnecting"
    FINISHED = "finished"
    CLOSED = "closed"


@dataclass
class Block:
    """A run of consecutive samples from one source.

    ``values`` is ``(n, len(channels))`` float64; a missing value is NaN (a gap, never 0).
    ``timestamps`` is ``(n,)`` float64 seconds when the source carries its own time axis
    (a timestamp column), else None and time follows from the sample rate.
    ``channels`` names the columns of ``values``; it may grow during a session (Arduino
    plotter ``name:value`` lines add channels as new names appear), never shrink or reorder.
    """

    values: np.ndarray
    channels: tuple[ChannelSpec, ...]
    timestamps: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.channels):
            raise ValueError(
                f"block values shape {self.values.shape} does not match "
                f"{len(self.channels)} channels"
            )
        if self.timestamps is not None and self.timestamps.shape != (self.values.shape[0],):
            raise ValueError("block timestamps must have one entry per sample")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @classmethod
    def empty(cls, channels: tuple[ChannelSpec, ...] = (), timed: bool = False) -> Block:
        """A block with no samples, for sources that had nothing new to say."""
        return cls(
            np.empty((0, len(channels)), dtype=np.float64),
            channels,
            np.empty(0, dtype=np.float64) if timed else None,
        )


class MalformedCounter(Counter[str]):
    """Counts of rejected input per kind (``columns``, ``non_numeric``, ``non_finite``, …).

    Kinds are open-ended strings so a later binary-frame parser can add its own
    (``crc``, ``sync``) without touching the ASCII one.
    """

    @property
    def total(self) -> int:  # type: ignore[override]
        return int(sum(self.values()))


def describe_malformed(counts: Mapping[str, int]) -> str:
    """``time_backwards 4, columns 2`` (most first): counts as one readable line, never a
    Python dict; "" for none."""
    items = sorted(((k, int(v)) for k, v in counts.items() if v), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{k} {v}" for k, v in items)


#: Times at or above this many seconds are Unix epoch (wall-clock) times, 1973-03-03 on:
#: recordings keep them as they are and the window draws a date-time axis for them.
WALL_CLOCK_MIN_S = 1e8


@dataclass
class Recording:
    """A recording in memory: what every reader returns and what replay plays back.

    Readers for CSV, Parquet and the crash journal all produce this one type, so the
    rest of the program never cares which file format a recording came from.
    """

    channels: tuple[ChannelSpec, ...]
    values: np.ndarray  # (n, channels) float64
    sample_rate: float | None = None  # Hz; None when only timestamps define time
    timestamps: np.ndarray | None = None  # (n,) float64 seconds, or None
    source: str = ""
    start_time: str = ""  # ISO 8601, UTC
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration_s(self) -> float:
        """Length in seconds: from timestamps when present, else samples / rate."""
        n = self.samples
        if n == 0:
            return 0.0
        if self.timestamps is not None and n > 1:
            span = float(self.timestamps[-1] - self.timestamps[0])
            # n samples cover n intervals of the mean step, like samples / rate does.
            return span * n / (n - 1)
        if self.sample_rate:
            return n / float(self.sample_rate)
        return 0.0

    def effective_rate(self) -> float | None:
        """The nominal rate, or the mean rate implied by the timestamps."""
        if self.sample_rate:
            return float(self.sample_rate)
        d = self.duration_s
        return self.samples / d if d > 0 else None
