"""Reading a recording journal, including one cut off by a crash.

A journal is a folder of Arrow IPC stream segments (see ``writer.py``). A segment that was
being written when the process died ends in a partial batch; reading stops there and
keeps everything before it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from desktop.core.errors import RecordingError

log = logging.getLogger(__name__)


def journal_segments(journal: Path) -> list[Path]:
    """Segment files in write order."""
    if not journal.is_dir():
        raise RecordingError(f"{journal} is not a recording journal")
    return sorted(journal.glob("segment-*.arrows"))


def _iter_segment(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_stream(source)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, OSError) as exc:
                    log.warning("journal %s ends in a partial batch (%s); kept what came "
                                "before", path.name, exc)
                    return
                yield batch
    except (pa.ArrowInvalid, OSError) as exc:
        # Killed before even the schema reached the disk: nothing to keep here.
        log.warning("journal segment %s is unreadable (%s); skipped", path.name, exc)


def _segment_schema(path: Path) -> pa.Schema | None:
    try:
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_stream(source).schema
    except (pa.ArrowInvalid, OSError):
        return None


def journal_schema(journal: Path) -> pa.Schema:
    """The schema of the newest readable segment: it has every channel seen."""
    for path in reversed(journal_segments(journal)):
        schema = _segment_schema(path)
        if schema is not None:
            return schema
    raise RecordingError(f"{journal} holds no readable data")


def iter_journal_batches(journal: Path) -> Iterator[pa.RecordBatch]:
    """Every complete batch of every segment, in order."""
    for path in journal_segments(journal):
        yield from _iter_segment(path)
