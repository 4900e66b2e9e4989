"""Named numeric arrays on disk (``.npz``), read without ever running code from the file.

Why not pickle, joblib or skops: a pickle (and joblib's) runs code on load, and skops
rebuilds scikit-learn objects from their private attributes, which change between
scikit-learn releases (a model file would be tied to one release). A model here is only
numbers, so it is stored as numbers:

* the file must be a zip of ``.npy`` members (that is all ``.npz`` is); the zip directory
  is read first and the file is refused when it is too big, declares too much uncompressed
  data (a zip bomb), holds members that are not ``.npy``, or lacks/adds names we expect;
* every member's ``.npy`` header is read first and the member is refused when the
  elements it claims (shape × dtype) are not exactly the bytes it holds (a forged shape of
  10¹² elements would otherwise be allocated before the missing data is noticed);
* every member is read with ``numpy.load(..., allow_pickle=False)``: an object array (the
  only way a pickle hides in ``.npy``) raises instead of unpickling;
* dtypes and shapes are then checked against what the caller expects.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np

from desktop.core.atomic import atomic_write_bytes
from desktop.ml.errors import ModelError
from desktop.ml.model_files.files import check_model_file

#: Our tabular models are kilobytes to a few megabytes.
MAX_FILE_BYTES = 64 << 20
MAX_UNCOMPRESSED_BYTES = 256 << 20
_KINDS = "fiub"  # float, signed int, unsigned int, bool: numbers only


#: the zip members' date: fixed, so the same arrays always give the same bytes
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as a compressed ``.npz`` (atomically: a crash leaves the old file).

    The file is what ``numpy.savez_compressed`` writes except that every member carries a
    fixed date, so the same arrays give the same bytes (a retrained model reproduces its
    files bit for bit); ``numpy.load`` reads it as any ``.npz``."""
    for name, a in arrays.items():
        if np.asarray(a).dtype.kind not in _KINDS:
            raise ValueError(f"array {name!r} is not numeric ({np.asarray(a).dtype})")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, a in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, member.getvalue())
    atomic_write_bytes(path, buf.getvalue())


def load_arrays(path: Path, expected: Mapping[str, str] | None = None) -> dict[str, np.ndarray]:
    """Read a ``.npz`` of numeric arrays, refusing anything else with a :class:`ModelError`.

    ``expected`` maps each required name to its dtype kinds (e.g. ``"f"``, ``"iu"``);
    extra names are refused too, so a file cannot smuggle anything past the checks.
    """
    check_model_file(path, MAX_FILE_BYTES, "any tabular model")  # regular, no link, capped
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
                    _check_member_header(path, name, fh, info.file_size)
                    fh.seek(0)
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


def _check_member_header(path: Path, name: str, fh: IO[bytes], member_bytes: int) -> None:
    """Refuse a member whose ``.npy`` header claims more (or fewer) elements than the
    member's bytes hold — e.g. a forged shape of 10¹² elements, which ``numpy.load`` would
    try to allocate (terabytes) before it noticed the data is missing — and any dtype
    that is not a plain number. Only the header is read."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path}: member {name!r} refused (not a .npy header: {exc}); "
                         "replace the model folder with one Linewatch wrote") from None
    if dtype.kind not in _KINDS or dtype.hasobject:
        raise ModelError(f"{path}: member {name!r} refused: not a numeric array ({dtype}); "
                         "replace the model folder with one Linewatch wrote")
    count = math.prod(int(d) for d in shape)
    data_bytes = member_bytes - fh.tell()
    if count * dtype.itemsize != data_bytes:
        raise ModelError(f"{path}: member {name!r} claims {count:,} elements ({dtype} "
                         f"{tuple(shape)}) but holds {max(data_bytes, 0):,} bytes of data: "
                         "refused; replace the model folder with one Linewatch wrote")


def check_shape(path: Path, name: str, arr: np.ndarray, shape: tuple[int | None, ...]) -> None:
    """Refuse an array whose shape differs from ``shape`` (None: any length there)."""
    ok = arr.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, arr.shape,
                                                                           strict=True))
    if not ok:
        raise ModelError(f"{path}: array {name!r} has shape {arr.shape}, expected {shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ModelError(f"{path}: array {name!r} holds NaN or infinite values")
