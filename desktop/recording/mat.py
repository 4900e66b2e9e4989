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

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, Recording

_RATE_NAMES = {"fs", "sample_rate", "samplerate", "sampling_rate", "sr", "rate"}
#: CWRU's own naming: ``12k_Drive_End_…`` files are 12 kHz, ``48k_…`` 48 kHz.
_NAME_RATE = re.compile(r"^(\d+)k_", re.IGNORECASE)
#: CWRU's healthy "normal baseline" files (``normal_<load>_<n>….mat``) carry no rate prefix
#: but were all recorded at 48 kHz; their signals are named ``X<n>_DE_time`` and so on.
_CWRU_NORMAL = re.compile(r"^normal_\d+_\d+", re.IGNORECASE)
_CWRU_SIGNAL = re.compile(r"^X\d+_(DE|FE|BA)_time$")
CWRU_NORMAL_RATE = 48000.0
log = logging.getLogger(__name__)


def read_mat(path: Path, rate: float | None = None) -> Recording:
    """A MATLAB file's numeric vectors as channels ``values (n, channels)`` float64 (see
    :func:`_choose_vectors`: never NaN-padded); raises :class:`RecordingError` for a
    missing, unreadable or signal-less file.

    The rate is, in order: ``rate``; a scalar variable named like ``fs``/``sample_rate``;
    the CWRU file-name prefix (``12k_``); a CWRU normal-baseline file (48 kHz, said in the
    recording's ``rate_note`` metadata); otherwise None and the caller must ask for one.
    """
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    arrays = _load_v5(path)
    if arrays is None:
        arrays = _load_v73(path)
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
    vectors = _choose_vectors(vectors, path)
    n = next(iter(vectors.values())).shape[0]
    values = np.empty((n, len(vectors)))
    for i, v in enumerate(vectors.values()):
        values[:, i] = v
    found_rate = rate or _rate_from(scalars, path)
    metadata: dict[str, object] = {"format": "matlab", "scalars": scalars}  # e.g. X106RPM
    if (found_rate is None and _CWRU_NORMAL.match(path.name)
            and any(_CWRU_SIGNAL.match(k) for k in vectors)):
        found_rate = CWRU_NORMAL_RATE
        metadata["rate_note"] = (f"{path.name}: sample rate taken as 48000 Hz (a CWRU normal "
                                 "baseline file); give --rate HZ if it is not")
    return Recording(tuple(ChannelSpec(k) for k in vectors), values, found_rate,
                     source=f"file:{path.name}", metadata=metadata)


_NUMBERED = re.compile(r"^X(\d+)_(.+)$")
_FILE_NUMBER = re.compile(r"(\d+)")


def _choose_vectors(vectors: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """The channels to keep, all of one length: never pad one array to another's.

    CWRU files may hold a signal twice under different recording numbers (``99.mat``:
    ``X098_DE_time`` and ``X099_DE_time``, of different lengths). For each signal with
    several numbered candidates the one carrying the file's own number wins; without one,
    the file is refused with the candidates listed. Vectors of another length than the
    longest kept are left out (named in the log), not NaN-padded.
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
    return kept


def _rate_from(scalars: dict[str, float], path: Path) -> float | None:
    for name, value in scalars.items():
        if name.lower() in _RATE_NAMES and np.isfinite(value) and value > 0:
            return value
    m = _NAME_RATE.match(path.name)
    return float(m.group(1)) * 1000.0 if m else None


def _load_v5(path: Path) -> dict[str, np.ndarray] | None:
    from scipy.io import loadmat

    try:
        data = loadmat(str(path))
    except NotImplementedError:  # v7.3: HDF5 inside
        return None
    except (ValueError, OSError, TypeError) as exc:
        raise RecordingError(f"{path} is not a readable MATLAB file: {exc}") from exc
    return {k: v for k, v in data.items() if not k.startswith("__")}


def _load_v73(path: Path) -> dict[str, np.ndarray]:
    import h5py

    out: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:
            def visit(name: str, obj: object) -> None:
                if (isinstance(obj, h5py.Dataset) and not name.startswith("#")
                        and obj.dtype.kind in "fiu"):
                    out[name.replace("/", ".")] = obj[()]
            f.visititems(visit)
    except OSError as exc:
        raise RecordingError(f"{path} is not a readable MATLAB file: {exc}") from exc
    return out
