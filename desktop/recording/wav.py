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
from desktop.recording.format import FileFormat, ReadOptions
from desktop.recording.stream import CHUNK_ROWS, Chunk, ChunkStream

WAV_SUFFIXES = {".wav", ".wave", ".flac"}


def _open(path: Path) -> Any:
    import soundfile as sf

    try:
        return sf.SoundFile(str(path))
    except (RuntimeError, OSError, sf.LibsndfileError) as exc:
        raise RecordingError(f"{path} is not a readable WAV file: "
                             f"{str(exc).splitlines()[0] if str(exc) else exc!r}") from exc


def _describe(f: Any, path: Path, rate: float | None
              ) -> tuple[tuple[ChannelSpec, ...], float, dict[str, object]]:
    channels = tuple(ChannelSpec(f"ch{i + 1}") for i in range(f.channels))
    meta: dict[str, object] = {"format": f"{f.format_info} {f.subtype_info}".strip(),
                               "scale": "full scale = 1.0"}
    return channels, float(rate or f.samplerate), meta


#: Bytes per sample and scale to full scale = 1.0 of the PCM layouts a recorder writes
#: (soundfile's convention, so a repaired read matches a normal one).
_RAW = {"PCM_U8": (1, 128.0), "PCM_16": (2, 32768.0), "PCM_24": (3, 8388608.0),
        "PCM_32": (4, 2147483648.0), "FLOAT": (4, 1.0), "DOUBLE": (8, 1.0)}


def _data_chunk(path: Path) -> tuple[int, int] | None:
    """``(offset of the samples, declared size)`` of a RIFF WAVE file's ``data`` chunk."""
    import struct

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"data":
            return pos + 8, size
        pos += 8 + size + (size & 1)
    return None


def _unfinalised(f: Any, path: Path) -> tuple[int, int] | None:
    """``(offset, frames)`` of the audio a recorder left behind when it crashed before
    writing the header's sizes (``data`` size 0 while samples follow), else None."""
    if f.frames > 0 or f.subtype not in _RAW:
        return None
    found = _data_chunk(path)
    if found is None or found[1] != 0:
        return None
    offset = found[0]
    frame_bytes = _RAW[f.subtype][0] * f.channels
    frames = (path.stat().st_size - offset) // frame_bytes
    return (offset, frames) if frames > 0 else None


def _raw_block(mm: np.ndarray, subtype: str, channels: int, a: int, b: int) -> np.ndarray:
    """Frames ``a:b`` of raw little-endian PCM/float bytes as float64, full scale = 1.0."""
    width, scale = _RAW[subtype]
    raw = np.asarray(mm[a * width * channels:b * width * channels])
    if subtype == "PCM_U8":
        data = (raw.astype(np.float64) - 128.0) / scale
    elif subtype == "PCM_24":
        trio = raw.reshape(-1, 3).astype(np.int32)
        ints = trio[:, 0] | (trio[:, 1] << 8) | (trio[:, 2] << 16)
        data = np.where(ints >= 1 << 23, ints - (1 << 24), ints) / scale
    else:
        kind = {"PCM_16": "<i2", "PCM_32": "<i4", "FLOAT": "<f4", "DOUBLE": "<f8"}[subtype]
        data = raw.view(kind).astype(np.float64) / scale
    return np.ascontiguousarray(data.reshape(-1, channels))


def wav_stream(path: Path, rate: float | None = None, rows: int = CHUNK_ROWS) -> ChunkStream:
    f = _open(path)
    channels, found_rate, meta = _describe(f, path, rate)
    names = tuple(ch.name for ch in channels)
    total = max(1, f.frames)
    repair = _unfinalised(f, path)
    if repair is not None:
        offset, frames = repair
        subtype, width = f.subtype, f.channels
        f.close()
        meta["notes"] = [f"the WAV header was never finalised (its data size is 0, as after a "
                         f"recorder crash): read the {frames:,} frames that follow it"]
        mm = np.memmap(path, dtype=np.uint8, mode="r", offset=offset)

        def repaired() -> Iterator[Chunk]:
            for a in range(0, frames, rows):
                b = min(frames, a + rows)
                yield Chunk(_raw_block(mm, subtype, width, a, b), None, names, b / frames)

        return ChunkStream("wav", channels, found_rate, repaired(), meta, f"file:{path.name}")

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
    """The whole file (``linewatch info``, replay, predict on small files); a header that
    was never finalised is read past (see :func:`_unfinalised`)."""
    stream = wav_stream(path, rate)
    parts = [c.values for c in stream.chunks]
    values = np.concatenate(parts) if parts else np.empty((0, len(stream.channels)))
    if values.shape[0] == 0:
        raise RecordingError(f"{path} holds no samples")
    return Recording(stream.channels, values, stream.sample_rate, source=stream.source,
                     metadata=stream.metadata)


def _read(path: Path, options: ReadOptions) -> Recording:
    return read_wav(path, options.rate)


def _stream(path: Path, options: ReadOptions) -> ChunkStream:
    return wav_stream(path, options.rate)


def _sniff(path: Path, head: bytes) -> bool:
    riff = head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE"
    return riff or head[:4] == b"fLaC"


FORMAT = FileFormat(
    "wav", "Sound (WAV, FLAC)", tuple(sorted(WAV_SUFFIXES)), _read, stream=_stream,
    sniff=_sniff,
    rules="one channel per input at the header's rate, scaled to full scale = 1.0; a "
          "header never finalised (size 0 after a crash) is read to the end of the file, "
          "with a note",
    options=("rate",))
