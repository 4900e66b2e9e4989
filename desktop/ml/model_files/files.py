"""Which files a model folder may hold: its own regular files, of a bounded size.

A model folder is read by name (``card.json``, ``weights.safetensors``, ``trees.npz`` …).
A symbolic link under such a name can point at ``/dev/zero`` (a reader that trusts the
size, or a zip reader looking for the directory at "the end", reads forever) or at any
file outside the folder; a named pipe or a device blocks or never ends. So every file of
a model folder is looked at with ``lstat`` (the link itself, not where it points) before a
byte of it is read: it must be a regular file (not a link, folder, device or pipe) and
no larger than its kind's cap. Copy a file into the folder instead of linking it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from desktop.ml.errors import ModelError


def check_model_file(path: Path, max_bytes: int, what: str | None = None) -> int:
    """The size of ``path``, a regular file in its model folder of at most ``max_bytes``;
    a one-line :class:`ModelError` otherwise (missing, a link, not a regular file, too
    large; ``what`` names the limit: "any tabular model"). Nothing of the file is read."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ModelError(f"{path.parent} has no {path.name}") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        raise ModelError(f"{path} is a symbolic link (to {target}): a model folder holds its "
                         "own regular files only; copy the file into the folder instead")
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ModelError(f"{path} is {what}: a model folder holds regular files only; "
                         "replace it with the file Linewatch wrote")
    if info.st_size > max_bytes:
        limit = (f"{what} ({max_bytes:,} bytes)" if what
                 else f"the {max_bytes:,} bytes such a model file may have")
        raise ModelError(f"{path} is {info.st_size:,} bytes, more than {limit}: refused")
    return int(info.st_size)


__all__ = ["check_model_file"]
