"""WAV (and FLAC) files as recordings, read with ``soundfile`` (libsndfile).

Sound cards and handheld vibration recorders save WAV: one channel per input, a fixed
sample rate in the header, PCM integers or floats. Samples are read as float64 scaled to
full scale = 1.0 (soundfile's convention for integer PCM; the recording's metadata says
so), block by block so a long recording never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, Recording
from desktop.recording.chunks import CHUNK_ROWS, Chunk, ChunkStream

WAV_SUFFIXES = {".wav", ".wave", ".flac"}


def _open(path: Path) -> Any:
    import soundfile as sf

    try:
        return sf.SoundFile(str(path))
    except (RuntimeError, OSError, sf.LibsndfileError) as exc:  # type: ignore[attr-defined]
        raise RecordingError(f"{path} is not a readable WAV file: "
                             f"{str(exc).splitlines()[0] if str(exc) else exc!r}") from exc


def _describe(f: Any, path: Path, rate: float | None
              ) -> tuple[tuple[ChannelSpec, ...], float, dict[str, object]]:
    channels = tuple(ChannelSpec(f"ch{i + 1}") for i in range(f.channels))
    meta: dict[str, object] = {"format": f"{f.format_info} {f.subtype_info}".strip(),
                               "scale": "full scale = 1.0"}
    return channels, float(rate or f.samplerate), meta


def wav_stream(path: Path, rate: float | None = None, rows: int = CHUNK_ROWS) -> ChunkStream:
    f = _open(path)
    channels, found_rate, meta = _describe(f, path, rate)
    names = tuple(ch.name for ch in channels)
    total = max(1, f.frames)

    def chunks() -> Iterator[Chunk]:
        done = 0
        with f:
            while True:
                block = f.read(rows, dtype="float64", always_2d=True)
                if block.shape[0] == 0:
                    return
                done += block.shape[0]
                yield Chunk(np.ascontiguousarray(block), None, names, min(1.0, done / total))

    return ChunkStream("wav", channels, found_rate, chunks(), meta, f"file:{path.name}")


def read_wav(path: Path, rate: float | None = None) -> Recording:
    """The whole file (``linewatch info``, replay, predict on small files)."""
    stream = wav_stream(path, rate)
    parts = [c.values for c in stream.chunks]
    values = np.concatenate(parts) if parts else np.empty((0, len(stream.channels)))
    if values.shape[0] == 0:
        raise RecordingError(f"{path} holds no samples")
    return Recording(stream.channels, values, stream.sample_rate, source=stream.source,
                     metadata=stream.metadata)
