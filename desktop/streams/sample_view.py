"""The read interface a session's ``buffer`` offers the window and the analysis code.

Live, ``buffer`` is a :class:`~desktop.streams.ring.RingBuffer`; for an opened file it is a
:class:`~desktop.streams.file_view.FileView` (docs/architecture.md, "Sessions"). Plots,
cursors, the analysis and diagnosis docks read either through this protocol only, so they
never ask which one they have. What only one of them offers stays outside it: a ring
buffer's ``since`` cursor (live alarm rules) and ``arrival_time``; a file view's
``complete``, ``rows``, ``first_time`` and ``channel``.

All times are the signal's own seconds (float64); indices are absolute sample indices
(a ring buffer's count since it started, a file's row number).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from desktop.core.types import ChannelSpec
from desktop.streams.ring import Snapshot


@runtime_checkable
class SampleView(Protocol):
    """Samples to draw and measure. ``isinstance`` checks only that the members exist;
    mypy checks their signatures."""

    @property
    def channels(self) -> tuple[ChannelSpec, ...]:
        """The channels, in column order of every :class:`Snapshot` returned."""
        ...

    @property
    def sample_rate(self) -> float | None:
        """Samples per second: nominal, or estimated from the times; None when unknown."""
        ...

    @property
    def written(self) -> int:
        """How many samples can be read (live: ever appended, also the next index)."""
        ...

    def latest(self, count: int | None = None) -> Snapshot:
        """The newest ``count`` samples (a default cap when None)."""
        ...

    def between(self, first_index: int, end_index: int) -> Snapshot:
        """Raw samples ``[first_index, end_index)`` that are still held, clipped."""
        ...

    def index_at_time(self, t: float, side: str = "left") -> int:
        """The absolute index where time ``t`` falls (``numpy.searchsorted`` ``side``)."""
        ...

    def sample_at(self, t: float) -> tuple[float, np.ndarray] | None:
        """(time, values (channels,) float64) of the sample nearest ``t``; None if empty."""
        ...

    def view(self, t_start: float, t_end: float, columns: int) -> Snapshot:
        """What a lane ``columns`` pixels wide shows of ``[t_start, t_end]``: at most about
        ``2 * columns`` points, min/max per pixel so spikes are kept."""
        ...
