"""Writing a file so that a crash or power cut leaves the old or the new one, never half.

The one helper every writer of small files uses (settings, model cards, label exports,
the active-model pointer, weights): write a temp file in the same folder, ``fsync`` it,
``os.replace`` it over the target, then ``fsync`` the folder so the rename itself is on
disk (POSIX; on Windows directories cannot be opened and the rename is already durable
once ``MoveFileEx`` returns).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows, or a folder we may not open: nothing more we can do
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on a clean exit it replaces ``path`` durably.

    ``mode`` is ``"w"`` (text; ``encoding`` defaults to UTF-8) or ``"wb"``. On an exception
    the temp file is removed and ``path`` is untouched. Raises ``OSError`` (disk full,
    permission) from the write, the fsync or the replace.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes only ('w' or 'wb'), not {mode!r}")
    path = Path(path)
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); give it what open() would have (0666 less
        # the umask), so exports and tables on a shared store are readable as usual.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically and durably."""
    with atomic_open(path, "w", encoding=encoding, newline="") as handle:
        handle.write(text)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def replace_durably(tmp: Path, path: Path) -> None:
    """``os.replace(tmp, path)`` then fsync the folder: for writers that stream a big file
    (Parquet) to ``tmp`` themselves and have fsync'ed it."""
    os.replace(tmp, path)
    fsync_dir(Path(path).parent)
