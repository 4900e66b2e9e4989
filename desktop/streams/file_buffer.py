"""An opened recording as a ring buffer: what a file session hands the plots.

The plots read every session through the same interface (``RingBuffer.view(t0, t1,
pixels)`` and friends), so an opened file is read once into a buffer sized to hold all of
it, in chunks, with progress and cancel. (A lazy, disk-backed view with a min/max pyramid
for files larger than memory is the offline-analysis work that builds on this seam.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop.core.tasks import TaskState
from desktop.core.types import Block, Recording
from desktop.recording.readers import read_recording
from desktop.streams.ring import RingBuffer

CHUNK = 262_144  # samples per append: progress every few ms, cancel within one chunk


@dataclass
class LoadedFile:
    """A recording and the buffer that holds it for drawing."""

    path: Path
    recording: Recording
    buffer: RingBuffer
    times_from_rate: bool  # True: the file has no time column, times are index / rate

    @property
    def first_time(self) -> float:
        first = self.buffer.sample_at(float("-inf"))
        return float(first[0]) if first is not None else 0.0


def time_axis(rec: Recording) -> tuple[np.ndarray, bool]:
    """Seconds of every sample: the file's own time column, else index / rate.

    Raises :class:`ValueError` when the file has neither (the caller asks for ``--rate``).
    """
    if rec.timestamps is not None:
        return np.asarray(rec.timestamps, dtype=np.float64), False
    rate = rec.effective_rate()
    if not rate:
        raise ValueError("no time column and no sample rate")
    return np.arange(rec.samples, dtype=np.float64) / rate, True


def load_file(path: Path | str, rate: float | None = None, decimal: str | None = None,
              task: TaskState | None = None) -> LoadedFile:
    """Read ``path`` (any format :func:`read_recording` knows) into a whole-file buffer;
    ``decimal`` fixes a text file's decimal mark (None: detected).

    Raises :class:`~desktop.core.errors.LinewatchError` subclasses for unreadable files,
    :class:`~desktop.core.tasks.Cancelled` when ``task`` was cancelled.
    """
    from desktop.core.errors import RecordingError

    task = task or TaskState()
    path = Path(path)
    task.report(0.0, f"reading {path.name}")
    rec = read_recording(path, rate=rate, decimal=decimal)
    if rec.samples == 0:
        raise RecordingError(f"{path} holds no samples")
    try:
        times, from_rate = time_axis(rec)
    except ValueError:
        raise RecordingError(f"{path} has no time column and does not state its sample rate:"
                             " open it with a rate (linewatch FILE --rate HZ)") from None
    buffer = RingBuffer(rec.channels, rec.samples, rec.effective_rate())
    n = rec.samples
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        buffer.append(Block(rec.values[start:stop], rec.channels, times[start:stop]))
        task.report(0.5 + 0.5 * stop / n, f"indexing {path.name}")
    return LoadedFile(path, rec, buffer, from_rate)
