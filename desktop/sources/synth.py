"""``synth:CHANNELSxRATE``: a deterministic synthetic source for benchmarks and tests.

Sample *i* of channel *k* depends only on (i, k), never on how reads were chunked, so two
runs, or a recording and its replay, can be compared sample for sample.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import numpy as np

from desktop.core.errors import SourceError
from desktop.core.types import Block, ChannelSpec, SourceState
from desktop.sources.base import SampleSource
from desktop.sources.pacing import Pacer

_SPEC = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+(?:\.\d+)?)\s*$")
_NOISE_LEN = 65_521  # prime, so channel strides never line up with the table length


def parse_synth_spec(spec: str) -> tuple[int, float]:
    """``"16x20000"`` → (16, 20000.0), with a clear message for anything else."""
    match = _SPEC.match(spec)
    if not match:
        raise SourceError(f"synth source needs CHANNELSxRATE, e.g. synth:16x20000 (got {spec!r})")
    channels, rate = int(match.group(1)), float(match.group(2))
    if not 1 <= channels <= 256 or not 1 <= rate <= 1_000_000:
        raise SourceError("synth source: 1–256 channels and 1 Hz–1 MHz, please")
    return channels, rate


class SynthSource(SampleSource):
    """Sines of different frequencies plus deterministic noise, paced in real time."""

    def __init__(self, channels: int, rate: float, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.description = f"synth:{channels}x{rate:g}"
        self.channels = tuple(ChannelSpec(f"synth{k + 1}", "V") for k in range(channels))
        self.sample_rate = float(rate)
        self._pacer = Pacer(rate, speed, clock=clock)
        self._freqs = 1.0 + 3.0 * np.arange(channels)  # Hz: slow enough to see on a plot
        self._noise = np.random.default_rng(1234).standard_normal(_NOISE_LEN) * 0.05

    def open(self) -> None:
        self._pacer.start()
        self._set_state(SourceState.CONNECTED)

    def samples(self, start: int, count: int) -> np.ndarray:
        """The deterministic values of samples ``start … start+count`` (all channels)."""
        idx = np.arange(start, start + count, dtype=np.int64)
        t = idx.astype(np.float64) / self.sample_rate
        phase = 2 * np.pi * t[:, None] * self._freqs[None, :]
        k = np.arange(len(self.channels), dtype=np.int64)
        noise = self._noise[(idx[:, None] * (k[None, :] + 1) + 7919 * k[None, :]) % _NOISE_LEN]
        return np.sin(phase) + noise

    def read(self, timeout: float) -> Block:
        start = self._pacer.emitted
        count, skipped = self._pacer.take(timeout)
        self.dropped += skipped
        if not count:
            return Block.empty(self.channels)
        return Block(self.samples(start + skipped, count), self.channels)

    def close(self) -> None:
        self._set_state(SourceState.CLOSED)
