"""A size cap on the columnar caches of opened files, and clearing them (File → Clear cache).

Every opened file leaves a cache about as big as its numbers in float64 (a 1 GB CSV of 8
channels: ~0.9 GB) in ``paths.cache_dir()/files``. Without a cap, an engineer opening a few
big logs a week fills the disk. After each new cache is complete, the least recently
opened caches are deleted until the total is under the cap (default 4 GB;
``LINEWATCH_CACHE_GB`` or the ``cache_limit_gb`` setting changes it). Deleting a cache
loses nothing but the time to rebuild it the next time that file is opened.

Never deleted by the cap: the cache just built, caches opened in the last
:data:`RECENT_S` seconds (another window or process may be reading them; a segment not
mapped yet would be gone), and a cache still being built (no ``meta.json`` yet).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from desktop.core import paths
from desktop.core.tasks import TaskState

DEFAULT_CAP_GB = 4.0
ENV_VAR = "LINEWATCH_CACHE_GB"
#: A cache opened this recently is taken to be in use (seconds).
RECENT_S = 600.0
META = "meta.json"


def cache_root() -> Path:
    """The folder holding one sub-folder per cached file."""
    return paths.cache_dir() / "files"


def cap_bytes(cap_gb: float | None = None) -> int:
    """The cap in bytes: ``cap_gb``, else ``$LINEWATCH_CACHE_GB``, else the setting
    ``cache_limit_gb``, else :data:`DEFAULT_CAP_GB`. A negative or unreadable value means
    the default; 0 keeps only what is in use."""
    candidates: list[object] = [cap_gb, os.environ.get(ENV_VAR)]
    with contextlib.suppress(Exception):  # settings unreadable: the default
        from desktop.core.settings import load_settings

        candidates.append(getattr(load_settings(), "cache_limit_gb", None))
    for value in candidates:
        if value in (None, ""):
            continue
        try:
            gb = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if gb >= 0:
            return int(gb * 1e9)
    return int(DEFAULT_CAP_GB * 1e9)


def folder_bytes(folder: Path) -> int:
    """Bytes of the files directly or deeper in ``folder`` (0 if it vanished)."""
    total = 0
    for item in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if item.is_file():
                total += item.stat().st_size
    return total


def usage() -> tuple[int, int]:
    """``(bytes, caches)`` the file caches take now."""
    root = cache_root()
    if not root.is_dir():
        return 0, 0
    folders = [f for f in root.iterdir() if f.is_dir()]
    return sum(folder_bytes(f) for f in folders), len(folders)


def touch(folder: Path) -> None:
    """Mark ``folder``'s cache as just used (its ``meta.json`` mtime orders the LRU)."""
    with contextlib.suppress(OSError):
        os.utime(folder / META)


def prune(keep: Iterable[Path] = (), cap: int | None = None,
          recent_s: float = RECENT_S, now: float | None = None) -> int:
    """Delete whole caches, least recently opened first, until the total is at most
    ``cap`` bytes (None: :func:`cap_bytes`). Returns the bytes freed. ``keep``, caches
    opened within ``recent_s`` seconds and caches being built are never deleted."""
    root = cache_root()
    if not root.is_dir():
        return 0
    limit = cap_bytes() if cap is None else int(cap)
    now = time.time() if now is None else now
    kept = {Path(k).resolve() for k in keep}
    entries = []
    total = 0
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        size = folder_bytes(folder)
        total += size
        try:
            used = (folder / META).stat().st_mtime
        except OSError:
            continue  # being built (or an interrupted build that the next open clears)
        if folder.resolve() in kept or now - used < recent_s:
            continue
        entries.append((used, size, folder))
    freed = 0
    for _used, size, folder in sorted(entries):
        if total - freed <= limit:
            break
        try:
            shutil.rmtree(folder)
        except OSError:  # mapped elsewhere (Windows): left for next time
            continue
        freed += size
    return freed


def clear(keep: Iterable[Path] = (), task: TaskState | None = None) -> int:
    """Delete every file cache but ``keep`` (the file open now) and caches being built,
    whatever their age: File → Clear cache (run as a Job). Returns the bytes freed."""
    if task is not None:
        task.report(0.0, "clearing the file cache")
    return prune(keep, cap=0, recent_s=0.0)
