"""MATLAB ``.mat`` files as recordings (read only).

``.mat`` is how published vibration data sets (CWRU and most others) are distributed, so
``linewatch info``, ``replay:FILE`` and ``linewatch predict`` read it through
:func:`desktop.recording.readers.read_recording`; the app never writes it. Channels are the
numeric vector variables of the file (``X105_DE_time``); scalars such as ``X105RPM`` are
metadata, not channels. v5 files are read with :func:`scipy.io.loadmat`, v7.3 (HDF5) with
h5py; neither unpickles anything.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from desktop.core.errors import MissingFileError, RecordingError
from desktop.core.types import ChannelSpec, Recording
from desktop.recording.format import FileFormat, ReadOptions

#: Names of a rate variable, most specific first: a struct holding both ``sr`` and ``rate``
#: (a shaft rate, a logging rate) means ``sr``.
_RATE_NAMES = ("fs", "sr", "sample_rate", "samplerate", "sampling_rate",
               "sampling_frequency", "samplingrate", "rate")
#: CWRU's own naming: ``12k_Drive_End_…`` files are 12 kHz, ``48k_…`` 48 kHz.
_NAME_RATE = re.compile(r"^(\d+)k_", re.IGNORECASE)
#: CWRU's healthy "normal baseline" files (``normal_<load>_<n>….mat``) carry no rate prefix
#: but were all recorded at 48 kHz; their signals are named ``X<n>_DE_time`` and so on.
_CWRU_NORMAL = re.compile(r"^normal_\d+_\d+", re.IGNORECASE)
_CWRU_SIGNAL = re.compile(r"^X\d+_(DE|FE|BA)_time$")
CWRU_NORMAL_RATE = 48000.0
log = logging.getLogger(__name__)
#: Bigger .mat files (or contents, once decompressed) are refused before scipy/h5py read
#: them: both load a file whole into memory.
MAX_MAT_BYTES = 1 << 30


def read_mat(path: Path, rate: float | None = None) -> Recording:
    """A MATLAB file's numeric vectors as channels ``values (n, channels)`` float64 (see
    :func:`_choose_vectors`: never NaN-padded); raises :class:`RecordingError` for a
    missing, unreadable or signal-less file.

    The rate is, in order: ``rate``; a scalar variable named like ``fs``/``sample_rate``;
    the CWRU file-name prefix (``12k_``); a CWRU normal-baseline file (48 kHz, said in the
    recording's ``rate_note`` metadata); otherwise None and the caller must ask for one.
    """
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise RecordingError(f"{path} is empty (0 bytes): not a MATLAB file; was it copied "
                             "completely?")
    if size > MAX_MAT_BYTES:
        raise RecordingError(f"{path} is {size / 2**30:.1f} GiB; .mat files over "
                             f"{MAX_MAT_BYTES / 2**30:.0f} GiB are not read (convert it to "
                             "Parquet)")
    _check_v5_unpacked_size(path)
    loaded = _load_v5(path)
    arrays = _flatten(dict(loaded if loaded is not None else _load_v73(path)))
    vectors: dict[str, np.ndarray] = {}
    scalars: dict[str, float] = {}
    for name, value in arrays.items():
        a = np.asarray(value)
        if a.dtype.kind not in "fiu" or a.size == 0:
            continue
        if a.size == 1:
            scalars[name] = float(a.ravel()[0])
        elif a.ndim == 1 or (a.ndim == 2 and min(a.shape) == 1):
            vectors[name] = a.astype(np.float64).ravel()
        elif a.ndim == 2:  # a matrix: one channel per column of the long axis
            m = a if a.shape[0] >= a.shape[1] else a.T
            for i in range(m.shape[1]):
                vectors[f"{name}[{i}]"] = m[:, i].astype(np.float64)
    if not vectors:
        raise RecordingError(f"{path} holds no numeric signal arrays")
    notes: list[str] = []
    vectors = _choose_vectors(vectors, path, notes)
    n = next(iter(vectors.values())).shape[0]
    values = np.empty((n, len(vectors)))
    for i, v in enumerate(vectors.values()):
        values[:, i] = v
    found_rate = rate or _rate_from(scalars, path)
    metadata: dict[str, object] = {"format": "matlab", "scalars": scalars}  # e.g. X106RPM
    if notes:
        metadata["notes"] = notes
    if rate is None and found_rate is not None:
        source = next((k for k, v in scalars.items() if v == found_rate
                       and k.rpartition(".")[2].lower() in _RATE_NAMES), None)
        metadata["inferred"] = {"rate_from": source or "the file name"}
    if (found_rate is None and _CWRU_NORMAL.match(path.name)
            and any(_CWRU_SIGNAL.match(k) for k in vectors)):
        found_rate = CWRU_NORMAL_RATE
        metadata["rate_note"] = (f"{path.name}: sample rate taken as 48000 Hz (a CWRU normal "
                                 "baseline file); give --rate HZ if it is not")
    return Recording(tuple(ChannelSpec(k) for k in vectors), values, found_rate,
                     source=f"file:{path.name}", metadata=metadata)


_NUMBERED = re.compile(r"^X(\d+)_(.+)$")
_FILE_NUMBER = re.compile(r"(\d+)")


def _choose_vectors(vectors: dict[str, np.ndarray], path: Path, notes: list[str]
                    ) -> dict[str, np.ndarray]:
    """The channels to keep, all of one length: never pad one array to another's.

    CWRU files may hold a signal twice under different recording numbers (``99.mat``:
    ``X098_DE_time`` and ``X099_DE_time``, of different lengths). For each signal with
    several numbered candidates the one carrying the file's own number wins; without one,
    the file is refused with the candidates listed. Vectors of another length than the
    longest kept are left out (named in ``notes``), not NaN-padded.
    """
    groups: dict[str, list[str]] = {}
    for name in vectors:
        m = _NUMBERED.match(name)
        groups.setdefault(m.group(2) if m else name, []).append(name)
    numbers = [int(n) for n in _FILE_NUMBER.findall(path.stem)]
    chosen: dict[str, np.ndarray] = {}
    for signal, names in groups.items():
        if len(names) == 1:
            chosen[names[0]] = vectors[names[0]]
            continue
        own = [n for n in names if int(_NUMBERED.match(n).group(1)) in numbers]  # type: ignore[union-attr]
        if len(own) != 1:
            listed = ", ".join(f"{n} ({vectors[n].shape[0]:,} samples)" for n in names)
            raise RecordingError(
                f"{path}: several variables hold {signal} ({listed}) and none carries the "
                f"file's own number; rename the file after the one to use (e.g. "
                f"{int(_NUMBERED.match(names[0]).group(1))}.mat) or save only that variable")  # type: ignore[union-attr]
        chosen[own[0]] = vectors[own[0]]
    n = max(v.shape[0] for v in chosen.values())
    kept = {k: v for k, v in chosen.items() if v.shape[0] == n}
    left = [f"{k} ({v.shape[0]:,} samples)" for k, v in chosen.items() if v.shape[0] != n]
    if left:
        log.warning("%s: left out variables shorter than %d samples: %s", path, n,
                    ", ".join(left))
        notes.append(f"left out (shorter than the {n:,} samples of the channels read): "
                     + ", ".join(left))
    return kept


def _flatten(arrays: dict[str, object], prefix: str = "", depth: int = 0
             ) -> dict[str, object]:
    """Struct fields as variables of their own (``bearing.gs``, ``bearing.sr``): a data
    set that keeps its signal and its rate in one struct reads like flat variables. A
    struct array (1×N records) opens as ``data(1).x``, ``data(2).x``; a cell array as
    ``signals{1}``, ``signals{2}`` (MATLAB's own notation, 1-based), up to
    :data:`_MAX_ELEMENTS` elements; four levels deep at most."""
    out: dict[str, object] = {}
    for name, value in arrays.items():
        full = f"{prefix}{name}"
        a = value if isinstance(value, np.ndarray) else None
        if a is None or depth >= 4 or (not a.dtype.names and a.dtype.kind != "O"):
            out[full] = value
        elif a.size == 1 and a.dtype.names:
            record = a.reshape(-1)[0]
            fields = {f: record[f] for f in a.dtype.names}
            out.update(_flatten(fields, f"{full}.", depth + 1))
        elif a.size == 1:
            out.update(_flatten({name: a.reshape(-1)[0]}, prefix, depth + 1))
        elif 1 < a.size <= _MAX_ELEMENTS and min(a.shape) == 1 and a.dtype.names:
            for i, record in enumerate(a.reshape(-1)):
                fields = {f: record[f] for f in a.dtype.names}
                out.update(_flatten(fields, f"{full}({i + 1}).", depth + 1))
        elif 1 < a.size <= _MAX_ELEMENTS and min(a.shape) == 1:
            for i, item in enumerate(a.reshape(-1)):
                out.update(_flatten({f"{name}{{{i + 1}}}": item}, prefix, depth + 1))
        else:
            out[full] = value
    return out


#: Elements of a struct or cell array opened as channels (more: a table, not signals).
_MAX_ELEMENTS = 64


def _rate_from(scalars: dict[str, float], path: Path) -> float | None:
    """The rate variable of the most specific name (:data:`_RATE_NAMES`), a struct's
    field (``bearing.sr``) as well as a plain variable; then the CWRU file-name prefix."""
    found: dict[str, float] = {}
    for name, value in scalars.items():
        leaf = name.rpartition(".")[2].lower()
        if leaf in _RATE_NAMES and np.isfinite(value) and value > 0:
            found.setdefault(leaf, value)
    for leaf in _RATE_NAMES:
        if leaf in found:
            return found[leaf]
    m = _NAME_RATE.match(path.name)
    return float(m.group(1)) * 1000.0 if m else None


def _check_v5_unpacked_size(path: Path) -> None:
    """Refuse a v5 file whose variables unpack to more than :data:`MAX_MAT_BYTES`.

    A ``miCOMPRESSED`` element is zlib data; a few kilobytes can unpack to gigabytes, which
    ``loadmat`` would allocate. The variable inside declares its size in its first 8 bytes:
    a size over the limit is refused at once, and the element is then unpacked in bounded
    pieces and only counted, so one that unpacks to more than it declared is refused as soon
    as it does. Files that are not v5 (v7.3 is HDF5) are left to their reader.
    """
    import struct
    import zlib

    def damaged(exc: Exception) -> RecordingError:
        return RecordingError(f"{path} is not a readable MATLAB file (damaged compressed "
                              f"variable: {exc})")

    too_big = RecordingError(f"{path}: its variables unpack to more than "
                             f"{MAX_MAT_BYTES / 2**30:.0f} GiB; not read")
    with open(path, "rb") as fh:
        header = fh.read(128)
        if len(header) < 128 or header[126:128] not in (b"IM", b"MI"):
            return
        order = "<" if header[126:128] == b"IM" else ">"
        total = 0
        while True:
            tag = fh.read(8)
            if len(tag) < 8:
                return
            kind, nbytes = struct.unpack(order + "II", tag)
            if kind >> 16:  # small data element: the data sits inside the tag
                continue
            if kind != 15:  # not miCOMPRESSED: its size is what the file holds
                total += nbytes
                fh.seek(nbytes + (-nbytes % 8), 1)
                if total > MAX_MAT_BYTES:
                    raise too_big
                continue
            unpack = zlib.decompressobj()
            left, unpacked, allowed = nbytes, 0, MAX_MAT_BYTES
            while left > 0:
                piece = fh.read(min(left, 1 << 16))
                if not piece:
                    break
                left -= len(piece)
                while piece:
                    try:
                        data = unpack.decompress(piece, 1 << 20)
                    except zlib.error as exc:
                        raise damaged(exc) from None
                    if unpacked == 0 and len(data) >= 8:
                        declared = struct.unpack(order + "II", data[:8])[1] + 8
                        if total + declared > MAX_MAT_BYTES:
                            raise too_big
                        allowed = declared + 8  # the inner tag's own size, and padding
                    unpacked += len(data)
                    if unpacked > allowed or total + unpacked > MAX_MAT_BYTES:
                        raise too_big if unpacked > MAX_MAT_BYTES else RecordingError(
                            f"{path} is not a readable MATLAB file (a compressed variable "
                            "unpacks to more than it declares)")
                    piece = unpack.unconsumed_tail
            total += unpacked


def _load_v5(path: Path) -> dict[str, np.ndarray] | None:
    from scipy.io import loadmat

    try:
        data = loadmat(str(path))
    except NotImplementedError:  # v7.3: HDF5 inside
        return None
    except MemoryError:
        raise RecordingError(f"{path} declares more data than fits in memory: not a "
                             "readable MATLAB file") from None
    except Exception as exc:  # a damaged file fails in many ways inside scipy
        # (MatReadError for a truncated file, ValueError, struct.error, zlib.error, ...):
        # each is the file's problem, said in one line.
        raise RecordingError(f"{path} is not a readable MATLAB file "
                             f"({type(exc).__name__}: {exc})") from None
    return {k: v for k, v in data.items() if not k.startswith("__")}


def _load_v73(path: Path) -> dict[str, np.ndarray]:
    import h5py

    out: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:
            def visit(name: str, obj: object) -> None:
                if (isinstance(obj, h5py.Dataset) and not name.startswith("#")
                        and obj.dtype.kind in "fiu"):
                    declared = int(obj.size) * obj.dtype.itemsize
                    if declared > MAX_MAT_BYTES:  # a compressed dataset can claim anything
                        raise RecordingError(f"{path}: variable {name} declares "
                                             f"{declared / 2**30:.1f} GiB; not read")
                    out[name.replace("/", ".")] = obj[()]
            f.visititems(visit)
    except RecordingError:
        raise
    except Exception as exc:  # OSError, KeyError, ValueError … from h5py
        raise RecordingError(f"{path} is not a readable MATLAB file "
                             f"({type(exc).__name__}: {exc})") from None
    return out


MAT_SUFFIXES = {".mat"}


def _read(path: Path, options: ReadOptions) -> Recording:
    return read_mat(path, options.rate)


def _sniff(path: Path, head: bytes) -> bool:
    return head.startswith(b"MATLAB")


FORMAT = FileFormat(
    "mat", "MATLAB", tuple(sorted(MAT_SUFFIXES)), _read, sniff=_sniff,
    rules="numeric vectors (and struct fields, as struct.field; struct arrays as "
          "data(1).x; cell arrays as c{1}) are channels; a scalar "
          "fs/sr/sample_rate/rate (in the file or the struct) is the rate",
    options=("rate",))
