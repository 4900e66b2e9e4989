"""Arrow IPC files and streams, and Feather (v1, v2), as recordings.

Ours stream record batch by record batch from a memory map
(:mod:`desktop.recording.arrow_chunks`); foreign ones go through
:mod:`desktop.recording.tables`, whole.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from desktop.core.errors import RecordingError
from desktop.core.types import Recording
from desktop.recording.format import FileFormat, ReadOptions
from desktop.recording.parquet_file import table_stream
from desktop.recording.schema import read_meta
from desktop.recording.stream import ChunkStream
from desktop.recording.tables import _table_to_recording

ARROW_SUFFIXES = {".feather", ".arrow", ".ipc", ".arrows"}


def read_arrow(path: Path, rate: float | None = None) -> Recording:
    """An Arrow IPC file or stream, or a Feather (v1 or v2) file."""
    import pyarrow.feather as feather

    try:
        try:
            table = feather.read_table(path)
        except (pa.ArrowInvalid, OSError):
            with pa.OSFile(str(path), "rb") as fh:
                table = pa.ipc.open_stream(fh).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise RecordingError(f"{path} is not a readable Arrow/Feather file: {exc}") from exc
    return _table_to_recording(table, read_meta(table.schema), rate, path)


def _read(path: Path, options: ReadOptions) -> Recording:
    return read_arrow(path, options.rate)


def _stream(path: Path, options: ReadOptions) -> ChunkStream:
    return table_stream(path, "arrow", options, read_arrow)


def _sniff(path: Path, head: bytes) -> bool:
    return head[:6] == b"ARROW1" or head[:4] == b"FEA1"


FORMAT = FileFormat(
    "arrow", "Arrow/Feather", tuple(sorted(ARROW_SUFFIXES)), _read, stream=_stream,
    sniff=_sniff, rules="as Parquet (same time-column and channel rules)", options=("rate",))
