"""Reading a recording journal, including one cut off by a crash.

A journal is a folder of Arrow IPC stream segments (see ``writer.py``). A segment that was
being written when the process died ends in a partial batch; reading stops there and
keeps everything before it.

A journal that is being written is *live*: its recorder holds an OS lock on ``.lock`` inside
it (:class:`JournalLock`, a :class:`filelock.FileLock`: ``flock`` on POSIX, ``LockFileEx`` on
Windows) for the recording's whole life. The OS drops the lock when the recorder's process
ends, however it ends, so a journal left by a crash is never "locked forever"; while the
lock is held, ``record --overwrite`` and ``recover`` refuse to touch the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from filelock import FileLock, Timeout

from desktop.core.errors import RecordingError
from desktop.recording.schema import TIME_COLUMN

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"


class JournalLock:
    """The OS lock a recorder (or a ``recover``) holds on a journal while it works on it."""

    def __init__(self, journal: Path) -> None:
        self.journal = Path(journal)
        self._lock = FileLock(str(self.journal / LOCK_NAME))

    def acquire(self, doing: str) -> JournalLock:
        """Take the lock at once or raise :class:`RecordingError` saying who has it."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise RecordingError(
                f"{self.journal} belongs to a recording that is running now (another "
                f"Linewatch is writing it); cannot {doing}: stop that recording first"
            ) from None
        except OSError as exc:
            raise RecordingError(f"cannot lock {self.journal} to {doing}: "
                                 f"{exc.strerror or exc}") from None
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    @property
    def held(self) -> bool:
        return self._lock.is_locked


def journal_is_live(journal: Path) -> bool:
    """True while another recorder holds ``journal``'s lock (a journal left by a crash or
    one that is only being read is not live)."""
    if not (Path(journal) / LOCK_NAME).exists():
        return False
    probe = FileLock(str(Path(journal) / LOCK_NAME))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False  # cannot even open the lock file (read-only medium): nobody writes
    probe.release(force=True)
    return False


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


def summarize_journal(journal: Path) -> tuple[pa.Schema, int, float | None, float | None]:
    """(schema, rows, first time, last time) of a journal, read a batch at a time, so a
    journal of gigabytes is summarised in the memory of one batch."""
    schema = journal_schema(journal)
    rows = 0
    first: float | None = None
    last: float | None = None
    for batch in iter_journal_batches(journal):
        n = batch.num_rows
        if not n:
            continue
        times = batch.column(TIME_COLUMN)
        if first is None:
            first = float(times[0].as_py())
        last = float(times[n - 1].as_py())
        rows += n
    return schema, rows, first, last
