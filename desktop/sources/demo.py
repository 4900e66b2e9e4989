"""The built-in demo rig: real bearing vibration replayed in real time, forever.

A fresh install has no hardware attached, yet every screen (live plot, spectrum, fault
model, labelling) needs a feed to be worth looking at. Synthetic sines would make the
fault model look either useless or magical, so the demo replays short excerpts of the
CWRU bearing data bundled in ``resources/demo`` (see ``resources/README.md`` and
``tools/make_demo_excerpt.py``): a healthy machine, then inner-race, ball and outer-race
faults, then healthy again, in an endless loop paced by the wall clock.

The only healthy recording is ~3 s long, shorter than the default Clear-after of the
fault alarm, so ``demo.json`` gives that segment a ``repeat``: it is played several times
in a row (over 8 s in all), jumping back between two loop points chosen where the signal
continues seamlessly (see ``tools/make_demo_excerpt.py``). The stored samples are never
altered or duplicated; only the order they are played in.

It behaves like a real device as far as the rest of the program can tell: samples become
due as time passes, a reader that comes back very late finds that the oldest ones were
lost (counted in :attr:`SampleSource.dropped`), and the stream is seamless across segment
boundaries and across the wrap-around.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop.core.errors import SourceError
from desktop.core.types import Block, ChannelSpec, SourceState
from desktop.sources.base import SampleSource

META_FILE = "demo.json"
_FORMAT = "linewatch-demo-excerpt"
# How the fault-model class labels read in the one-line description.
_LOCATION_NAMES = {"normal": "normal", "inner": "inner race", "ball": "ball", "outer": "outer race"}


def _demo_dir_candidates() -> list[Path]:
    """Where the demo excerpt may live, most specific first.

    A PyInstaller bundle unpacks data files under ``sys._MEIPASS``; from a source checkout
    the folder sits next to the ``desktop`` package (``parents[2]`` of this file is
    ``Path(desktop.__file__).resolve().parent.parent`` without importing the package root).
    """
    candidates: list[Path] = []
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        candidates.append(Path(meipass) / "resources" / "demo")
    candidates.append(Path(__file__).resolve().parents[2] / "resources" / "demo")
    return candidates


def default_demo_dir() -> Path:
    """The bundled demo folder: the first candidate that holds the excerpt, else the first
    candidate (so the error message names where a frozen app expected it)."""
    candidates = _demo_dir_candidates()
    for candidate in candidates:
        if (candidate / META_FILE).is_file():
            return candidate
    return candidates[0]


@dataclass(frozen=True)
class DemoSegment:
    """One excerpt in the loop, placed on the loop's own sample axis ``[start, stop)``
    (all its plays, when it repeats)."""

    label: str
    description: str
    source_file: str
    start: int
    stop: int
    plays: int = 1


def _play_ranges(seg: dict, offset: int, n: int) -> list[tuple[int, int]]:
    """Rows of demo.npz ``[a, b)``, in play order, for a segment stored at
    ``[offset, offset + n)``: once through, or with a ``repeat`` ``{"plays", "loop_start",
    "loop_end"}`` through ``[0, loop_end)``, ``[loop_start, loop_end)`` for the middle
    plays and ``[loop_start, n)`` last (positions within the segment)."""
    repeat = seg.get("repeat")
    plays = 1 if repeat is None else int(repeat["plays"])
    if plays < 1:
        raise ValueError(f"segment {seg.get('label')!r} has {plays} plays")
    if plays == 1:
        return [(offset, offset + n)]
    a, b = int(repeat["loop_start"]), int(repeat["loop_end"])
    if not 0 <= a < b <= n:
        raise ValueError(f"segment {seg.get('label')!r} has bad loop points {a}, {b}")
    return (
        [(offset, offset + b)]
        + [(offset + a, offset + b)] * (plays - 2)
        + [(offset + a, offset + n)]
    )


def _load_meta(directory: Path) -> dict[str, object]:
    path = directory / META_FILE
    if not path.is_file():
        raise SourceError(
            f"demo rig data not found: {path} is missing. The demo needs resources/demo "
            "(demo.json and demo.npz) from the installation; from a checkout, regenerate it "
            "with tools/make_demo_excerpt.py."
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"demo rig data is unreadable: {path}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise SourceError(f"{path} is not a Linewatch demo excerpt description")
    return meta


class DemoRigSource(SampleSource):
    """Replays the bundled CWRU excerpts at ``speed`` times real time, looping forever.

    ``clock`` is injectable so tests can move time by hand; ``block_seconds`` is how much
    a :meth:`read` with a timeout waits to accumulate before returning, so the acquisition
    loop wakes about 50 times a second rather than once per sample. ``speed=inf`` drops
    the pacing altogether (benchmarks, batch runs) and hands out fixed-size blocks.

    Positions on the loop's timeline count every sample the rig has produced, including
    those a late reader lost; :attr:`samples_emitted` is that count, so the sample just
    delivered is ``samples_emitted - 1`` and :meth:`segment_at` says what it was.
    """

    FIFO_SECONDS = 2.0  # a reader later than this loses the oldest samples, like a device
    FAST_BLOCK_SECONDS = 0.25  # block size when speed is infinite

    def __init__(
        self,
        resource_dir: Path | None = None,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        block_seconds: float = 0.02,
    ) -> None:
        super().__init__()
        if not speed > 0:  # also rejects NaN
            raise SourceError(f"demo rig speed must be positive, got {speed}")
        if not 0 < block_seconds < math.inf:
            raise SourceError(f"demo rig block_seconds must be positive, got {block_seconds}")
        self._dir = Path(resource_dir) if resource_dir is not None else default_demo_dir()
        self._speed = float(speed)
        self._clock = clock
        meta = _load_meta(self._dir)
        try:
            self._data_file = str(meta["data_file"])
            self._data_sha256 = str(meta.get("data_sha256", ""))
            rate = float(meta["sample_rate"])
            channels = tuple(
                ChannelSpec(str(c["name"]), str(c.get("unit", ""))) for c in meta["channels"]
            )
            segments: list[DemoSegment] = []
            play_ranges: list[tuple[int, int]] = []
            stored = 0  # row in demo.npz: segments are stored back to back, once each
            position = 0  # place on the loop's timeline, repeats included
            for seg in meta["segments"]:
                n = int(seg["samples"])
                if n <= 0 or int(seg["offset"]) != stored:
                    raise ValueError(f"segment {seg.get('label')!r} is misplaced")
                ranges = _play_ranges(seg, stored, n)
                played = sum(b - a for a, b in ranges)
                segments.append(
                    DemoSegment(
                        str(seg["label"]),
                        str(seg.get("description", "")),
                        str(seg.get("file", "")),
                        position,
                        position + played,
                        len(ranges),
                    )
                )
                play_ranges += ranges
                stored += n
                position += played
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(f"{self._dir / META_FILE} is malformed: {exc}") from exc
        if not segments or not channels or not rate > 0:
            raise SourceError(f"{self._dir / META_FILE} describes no playable data")

        self.channels = channels
        self.sample_rate = rate
        self._segments = tuple(segments)
        self._stored_lengths = [int(seg["samples"]) for seg in meta["segments"]]
        self._stored_samples = stored
        self._play_ranges = tuple(play_ranges)
        self._starts = np.array([s.start for s in segments], dtype=np.int64)
        self._loop_samples = position
        self._block_samples = max(1, round(block_seconds * rate))
        self._fifo_samples = max(1, round(self.FIFO_SECONDS * rate))
        self._fast_samples = max(1, round(self.FAST_BLOCK_SECONDS * rate))
        locations: list[str] = []
        for seg in segments:
            name = _LOCATION_NAMES.get(seg.label.split("_")[0], seg.label)
            if not locations or locations[-1] != name:
                locations.append(name)
        self.description = f"demo rig (CWRU bearing excerpts: {' → '.join(locations)})"

        self._values: np.ndarray | None = None
        self._t0 = 0.0
        self._position = 0

    # -- what is playing -------------------------------------------------------------

    @property
    def segments(self) -> tuple[DemoSegment, ...]:
        """The excerpts in loop order, on the loop's sample axis."""
        return self._segments

    @property
    def loop_samples(self) -> int:
        """Length of one pass through all segments, in samples."""
        return self._loop_samples

    @property
    def samples_emitted(self) -> int:
        """Samples the rig has produced since :meth:`open`, delivered or lost to a late read."""
        return self._position

    def segment_at(self, sample_index: int) -> str:
        """Class label (``"normal"``, ``"inner_007"``, …) of the segment playing at
        ``sample_index`` on the rig's timeline (0 = first sample after :meth:`open`)."""
        if sample_index < 0:
            raise ValueError(f"sample index must not be negative, got {sample_index}")
        where = sample_index % self._loop_samples
        return self._segments[int(np.searchsorted(self._starts, where, side="right")) - 1].label

    # -- SampleSource ----------------------------------------------------------------

    def open(self) -> None:
        """Load and dequantise the excerpt, and start the rig's clock."""
        self._set_state(SourceState.CONNECTING, str(self._dir))
        path = self._dir / self._data_file
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self._set_state(SourceState.CLOSED, "")
            raise SourceError(f"demo rig data not found: {path}: {exc.strerror}") from exc
        if self._data_sha256 and hashlib.sha256(raw).hexdigest() != self._data_sha256:
            self._set_state(SourceState.CLOSED, "")
            raise SourceError(
                f"demo rig data {path} does not match {META_FILE} (checksum differs); "
                "regenerate both with tools/make_demo_excerpt.py"
            )
        try:
            values = self._dequantise(path)
        except (OSError, KeyError, ValueError) as exc:
            self._set_state(SourceState.CLOSED, "")
            raise SourceError(f"demo rig data {path} is unusable: {exc}") from exc
        self._values = values
        self._position = 0
        self._t0 = self._clock()
        loop_s = self._loop_samples / float(self.sample_rate or 1.0)
        self._set_state(
            SourceState.CONNECTED,
            f"{len(self._segments)} segments, {loop_s:.1f} s loop, {self._speed:g}x speed",
        )

    def _dequantise(self, path: Path) -> np.ndarray:
        """Float64 values (loop samples, channels) from the int16 codes and their scales,
        in play order (repeated segments repeated)."""
        with np.load(path, allow_pickle=False) as npz:
            codes = npz["codes"]
            scale = npz["scale"]
        n_seg, n_ch = len(self._segments), len(self.channels)
        if codes.dtype != np.int16 or codes.shape != (self._stored_samples, n_ch):
            raise ValueError(
                f"codes are {codes.dtype} {codes.shape}, expected int16 "
                f"({self._stored_samples}, {n_ch})"
            )
        if scale.shape != (n_seg, n_ch) or not np.all(np.isfinite(scale)):
            raise ValueError(f"scale is {scale.shape}, expected finite ({n_seg}, {n_ch})")
        values = codes.astype(np.float64) * np.repeat(
            scale.astype(np.float64), self._stored_lengths, axis=0
        )
        if all(s.plays == 1 for s in self._segments):
            return values
        rows = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in self._play_ranges])
        return values[rows]

    def read(self, timeout: float) -> Block:
        """Samples due since the last call (``speed`` times wall time), waiting up to ``timeout``
        for at least ``block_seconds`` of them. With infinite speed, a fixed block at once."""
        if self._values is None:
            raise RuntimeError("DemoRigSource.read() called before open() or after close()")
        if math.isinf(self._speed):
            return self._emit(self._fast_samples)
        per_second = float(self.sample_rate or 0.0) * self._speed
        deadline = self._clock() + max(0.0, timeout)
        while True:
            now = self._clock()
            due = self._due(now, per_second)
            remaining = deadline - now
            if due >= self._block_samples or remaining <= 0:
                break
            time.sleep(min(remaining, (self._block_samples - due) / per_second))
            if self._clock() == now:
                # An injected clock that does not follow real time: waiting cannot help.
                break
        due = self._due(self._clock(), per_second)
        if due > self._fifo_samples:
            # The reader was away too long (suspended process, stalled UI): keep the newest
            # FIFO_SECONDS as a device buffer would and count the rest as lost.
            skipped = due - self._fifo_samples
            self._position += skipped
            self.dropped += skipped
            due = self._fifo_samples
        return self._emit(due)

    def _due(self, now: float, per_second: float) -> int:
        # The tiny epsilon keeps exact multiples (0.1 s at 12 kHz) from flooring one short.
        produced = math.floor((now - self._t0) * per_second + 1e-6)
        return max(0, produced - self._position)

    def _emit(self, n: int) -> Block:
        values = self._values
        if n <= 0 or values is None:
            return Block.empty(self.channels)
        index = (self._position + np.arange(n, dtype=np.int64)) % self._loop_samples
        self._position += n
        return Block(np.take(values, index, axis=0), self.channels)

    def close(self) -> None:
        """Release the data; the rig can be opened again and starts from the top."""
        self._values = None
        self._set_state(SourceState.CLOSED, "")
