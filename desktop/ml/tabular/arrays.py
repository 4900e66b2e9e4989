"""Named numeric arrays on disk (``.npz``), read without ever running code from the file.

Why not pickle, joblib or skops: a pickle (and joblib's) runs code on load, and skops
rebuilds scikit-learn objects from their private attributes, which change between
scikit-learn releases (a model file would be tied to one release). A model here is only
numbers, so it is stored as numbers:

* the file must be a zip of ``.npy`` members (that is all ``.npz`` is); the zip directory
  is read first and the file is refused when it is too big, declares too much uncompressed
  data (a zip bomb), holds members that are not ``.npy``, or lacks/adds names we expect;
* every member is read with ``numpy.load(..., allow_pickle=False)``: an object array (the
  only way a pickle hides in ``.npy``) raises instead of unpickling;
* dtypes and shapes are then checked against what the caller expects.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from desktop.core.atomic import atomic_write_bytes
from desktop.ml.errors import ModelError

#: Our tabular models are kilobytes to a few megabytes.
MAX_FILE_BYTES = 64 << 20
MAX_UNCOMPRESSED_BYTES = 256 << 20
_KINDS = "fiub"  # float, signed int, unsigned int, bool: numbers only


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as a compressed ``.npz`` (atomically: a crash leaves the old file)."""
    for name, a in arrays.items():
        if np.asarray(a).dtype.kind not in _KINDS:
            raise ValueError(f"array {name!r} is not numeric ({np.asarray(a).dtype})")
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buf.getvalue())


def load_arrays(path: Path, expected: Mapping[str, str] | None = None) -> dict[str, np.ndarray]:
    """Read a ``.npz`` of numeric arrays, refusing anything else with a :class:`ModelError`.

    ``expected`` maps each required name to its dtype kinds (e.g. ``"f"``, ``"iu"``);
    extra names are refused too, so a file cannot smuggle anything past the checks.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelError(f"{path.parent} has no {path.name}") from None
    if size > MAX_FILE_BYTES:
        raise ModelError(f"{path} is {size} bytes, more than any tabular model "
                         f"({MAX_FILE_BYTES} bytes): refused")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{path} is not a numeric array file (.npz): {exc}") from None
    out: dict[str, np.ndarray] = {}
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ModelError(f"{path} declares {total} uncompressed bytes: refused")
        for info in infos:
            if not info.filename.endswith(".npy") or "/" in info.filename:
                raise ModelError(f"{path} holds {info.filename!r}, which is not a numeric "
                                 f"array: refused")
            name = info.filename[:-4]
            try:
                with zf.open(info) as fh:
                    arr = np.load(io.BytesIO(fh.read()), allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                # allow_pickle=False: an object array lands here instead of unpickling.
                raise ModelError(f"{path}: member {name!r} refused ({exc})") from None
            if not isinstance(arr, np.ndarray) or arr.dtype.kind not in _KINDS:
                raise ModelError(f"{path}: member {name!r} is not a numeric array")
            out[name] = arr
    if expected is not None:
        missing = sorted(set(expected) - set(out))
        extra = sorted(set(out) - set(expected))
        if missing or extra:
            raise ModelError(f"{path}: arrays do not match the model "
                             f"(missing: {missing or 'none'}; unexpected: {extra or 'none'})")
        for name, kinds in expected.items():
            if out[name].dtype.kind not in kinds:
                raise ModelError(f"{path}: array {name!r} has dtype {out[name].dtype}, "
                                 f"expected kind {kinds!r}")
    return out


def check_shape(path: Path, name: str, arr: np.ndarray, shape: tuple[int | None, ...]) -> None:
    """Refuse an array whose shape differs from ``shape`` (None: any length there)."""
    ok = arr.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, arr.shape,
                                                                           strict=True))
    if not ok:
        raise ModelError(f"{path}: array {name!r} has shape {arr.shape}, expected {shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ModelError(f"{path}: array {name!r} holds NaN or infinite values")
