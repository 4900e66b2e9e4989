"""The SampleSource interface every feed implements (serial, replay, demo, synth).

A source is small on purpose: it declares its channels and rate and hands over blocks of
new samples when asked. It owns no thread; the acquisition loop in ``streams/`` calls
:meth:`SampleSource.read` in a loop, so the same source runs in the CLI, in a Qt worker
and in tests without change.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

from desktop.core.types import Block, ChannelSpec, MalformedCounter, SourceState

StateListener = Callable[[SourceState, str], None]


class SampleSource(abc.ABC):
    """A feed of multichannel samples.

    Subclasses set ``description`` (shown to the user and stored in recordings), keep
    ``channels`` and ``sample_rate`` up to date, and call :meth:`_set_state` on every
    connection change so listeners (CLI, status bar) hear about it.
    """

    description: str = ""

    def __init__(self) -> None:
        self.channels: tuple[ChannelSpec, ...] = ()
        self.sample_rate: float | None = None
        self.malformed = MalformedCounter()
        # Samples the source itself lost (a device FIFO that overflowed because we read
        # too late); buffer overruns further down are counted by the ring buffer.
        self.dropped = 0
        self.state = SourceState.CLOSED
        self.state_detail = ""
        self._listeners: list[StateListener] = []

    def add_state_listener(self, listener: StateListener) -> None:
        """Call ``listener(state, detail)`` on every state change (from the reading thread)."""
        self._listeners.append(listener)

    def _set_state(self, state: SourceState, detail: str = "") -> None:
        if state is self.state and detail == self.state_detail:
            return
        self.state = state
        self.state_detail = detail
        for listener in list(self._listeners):
            listener(state, detail)

    @property
    def total_samples(self) -> int | None:
        """How many samples a finite source (a file) holds; None for a live feed."""
        return None

    @property
    def finished(self) -> bool:
        """True once a finite source (a replay) has delivered everything it has."""
        return self.state is SourceState.FINISHED

    @abc.abstractmethod
    def open(self) -> None:
        """Connect. Raises :class:`~desktop.core.errors.SourceError` if that is impossible
        now and retrying makes no sense (bad spec, missing file)."""

    @abc.abstractmethod
    def read(self, timeout: float) -> Block:
        """Return the samples that arrived since the last call, waiting at most
        ``timeout`` seconds for some. Never raises for device trouble: a lost device is
        a state change, and the source keeps trying to come back."""

    def drain(self) -> Block:
        """Samples still held inside the source (a parser's pending lines), taken once just
        before :meth:`close`; nothing for most sources."""
        return Block.empty(self.channels)

    @abc.abstractmethod
    def close(self) -> None:
        """Disconnect and release the device; safe to call twice."""

    def __enter__(self) -> SampleSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
