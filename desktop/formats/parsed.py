"""What a wire-format parser hands on: :class:`ParsedBlock` rows and the
:class:`FrameParser` protocol every parser (ASCII lines, binary frames) implements.

Kept apart from :mod:`desktop.formats.base` (which builds parsers by name) so the parser
modules import these types without importing the module that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from desktop.core.types import Block, ChannelSpec, MalformedCounter


@dataclass(frozen=True)
class ParsedBlock:
    """The samples decoded from one ``feed``/``finish`` call.

    ``values`` is ``(n, len(channel_names))`` float64, a missing value is NaN.
    ``timestamps`` is ``(n,)`` float64 seconds when the stream carries its own time column,
    else None. ``channel_names`` names the columns of ``values`` *at this moment*: for the
    key-value format it can grow between blocks, so consumers must read it per block rather
    than cache it from the first one.
    """

    values: np.ndarray
    timestamps: np.ndarray | None
    channel_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.channel_names):
            raise ValueError(
                f"parsed values shape {self.values.shape} does not match "
                f"{len(self.channel_names)} channel names"
            )
        if self.timestamps is not None and self.timestamps.shape != (self.values.shape[0],):
            raise ValueError("parsed timestamps must have one entry per row")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @classmethod
    def empty(cls, channel_names: tuple[str, ...] = (), timed: bool = False) -> ParsedBlock:
        """A block with no rows: what a chunk without a complete line produces."""
        return cls(
            np.empty((0, len(channel_names)), dtype=np.float64),
            np.empty(0, dtype=np.float64) if timed else None,
            channel_names,
        )

    def to_block(self) -> Block:
        """The same samples as the :class:`~desktop.core.types.Block` sources hand on.

        Wire formats carry no units, so every channel gets an empty unit; a source that
        knows better (from its settings) builds its own ``ChannelSpec`` tuple instead.
        """
        channels = tuple(ChannelSpec(name) for name in self.channel_names)
        return Block(self.values, channels, self.timestamps)


@runtime_checkable
class FrameParser(Protocol):
    """Turns an arbitrarily chunked byte stream into sample rows.

    Chunks are whatever the transport delivered: a line (or frame) may be torn across any
    number of ``feed`` calls, and the parser must reassemble it. Bad input is never raised;
    it is skipped and counted in :attr:`malformed` so the UI can show how dirty a feed is.
    """

    def feed(self, data: bytes) -> ParsedBlock:
        """Consume the next chunk and return the rows it completed."""
        ...

    def finish(self, trust_tail: bool = True) -> ParsedBlock:
        """End of stream: decode what is still held. A trailing unterminated line/frame is
        decoded if it looks whole and ``trust_tail`` (a file); else counted ``torn``."""
        ...

    def resync(self) -> None:
        """Forget buffered partial input and distrust the next line/frame.

        Called after a port is (re)opened: the first bytes read may start mid-line, and the
        tail of a line can look valid while carrying wrong values.
        """
        ...

    @property
    def channel_names(self) -> list[str]:
        """Names of the channels known so far (may grow for self-describing formats)."""
        ...

    @property
    def channel_units(self) -> list[str]:
        """Units of the channels known so far (``""`` when the format names none)."""
        ...

    @property
    def timestamped(self) -> bool:
        """True when rows carry their own time (a timestamp column or key)."""
        ...

    @property
    def malformed(self) -> MalformedCounter:
        """Cumulative counts of rejected input per kind."""
        ...

    @property
    def description(self) -> str:
        """The detected format in words, for the status bar and recording metadata."""
        ...
