"""A recording read piece by piece: what indexing a big file streams through.

The types live in :mod:`desktop.recording.stream`, the dispatch (:func:`open_chunks`, the
streaming twin of ``read_recording``) in :mod:`desktop.recording.registry`; this module is
the stable import for callers.
"""

from __future__ import annotations

from desktop.recording.registry import open_chunks
from desktop.recording.stream import (
    CHUNK_ROWS,
    Chunk,
    ChunkStream,
    Skim,
    collect,
    recording_chunks,
    stream_of,
)

__all__ = ["CHUNK_ROWS", "Chunk", "ChunkStream", "Skim", "collect", "open_chunks",
           "recording_chunks", "stream_of"]
