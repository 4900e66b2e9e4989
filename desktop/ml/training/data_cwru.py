"""The CWRU bearing data set as the fault model sees it.

Class labels come from the file names (``12k_Drive_End_IR007_1_106.mat`` → ``inner_007``,
load 1 hp); the 0.028 in and ``@3``/``@12`` outer-race files are outside the 10-class
vocabulary and are skipped. Every file is split **by time** into disjoint regions before
any windowing, so overlapping windows can never put the same samples in training and test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop.analysis.windows import resample
from desktop.core.errors import InputError

RATE = 12000.0
CLASSES: tuple[str, ...] = ("normal", "ball_007", "ball_014", "ball_021", "inner_007",
                            "inner_014", "inner_021", "outer_007", "outer_014", "outer_021")
LOCATIONS: dict[str, str] = {c: ("normal" if c == "normal" else
                                 {"ball": "ball", "inner": "inner_race",
                                  "outer": "outer_race"}[c.split("_")[0]])
                             for c in CLASSES}
LOCATION_NAMES: tuple[str, ...] = ("normal", "ball", "inner_race", "outer_race")

_FAULT_RE = re.compile(r"^(?P<rate>\d+)k_Drive_End_(?P<kind>B|IR|OR)(?P<size>\d{3})"
                       r"(?:@(?P<pos>\d+))?_(?P<load>\d)_(?P<num>\d+)\.mat$")
_NORMAL_RE = re.compile(r"^normal_(?P<load>\d)_(?P<num>\d+)(?:_part\d+)?\.mat$")
_KIND_NAMES = {"B": "ball", "IR": "inner", "OR": "outer"}
#: CWRU's healthy baseline recordings were made at 48 kHz (data README).
_NORMAL_RATE = 48000.0


@dataclass(frozen=True)
class CwruFile:
    """One CWRU file and what its name says about it."""

    path: Path
    label: str | None  # one of CLASSES, or None when outside the 10-class vocabulary
    load_hp: int
    number: int
    rate: float

    @property
    def location(self) -> str | None:
        return LOCATIONS.get(self.label) if self.label else None


def parse_name(path: Path) -> CwruFile | None:
    """What a CWRU file name says (class, load, rate), or None for a name we do not know."""
    name = path.name
    if m := _NORMAL_RE.match(name):
        return CwruFile(path, "normal", int(m["load"]), int(m["num"]), _NORMAL_RATE)
    if m := _FAULT_RE.match(name):
        label = f"{_KIND_NAMES[m['kind']]}_{m['size']}"
        if label not in CLASSES or (m["kind"] == "OR" and m["pos"] != "6"):
            label = None  # 0.028 in, or outer race at 3/12 o'clock: extra material
        return CwruFile(path, label, int(m["load"]), int(m["num"]), float(m["rate"]) * 1000)
    return None


def list_files(data_dir: Path, loads: tuple[int, ...] | None = None) -> list[CwruFile]:
    """The 10-class files in ``data_dir`` (optionally only some loads), sorted by name."""
    if not data_dir.is_dir():
        raise InputError(f"{data_dir} is not a folder of CWRU .mat files")
    found = [f for p in sorted(data_dir.glob("*.mat")) if (f := parse_name(p)) and f.label]
    if loads is not None:
        found = [f for f in found if f.load_hp in loads]
    if not found:
        raise InputError(f"no CWRU files of the 10-class vocabulary in {data_dir}"
                         + (f" for loads {loads}" if loads else ""))
    return found


def load_signal(f: CwruFile, channel: str = "DE_time") -> np.ndarray:
    """One channel of a CWRU file at 12 kHz, float64, 1-D.

    The 48 kHz healthy file is resampled with ``resample_poly(x, 1, 4)`` so that every
    class reaches the model through the same 12 kHz anti-aliasing path.
    """
    from scipy.io import loadmat

    data = loadmat(str(f.path))
    keys = [k for k in data if not k.startswith("__") and k.endswith(channel)]
    if not keys:
        raise InputError(f"{f.path.name} has no *{channel} channel")
    x = np.asarray(data[keys[0]], dtype=np.float64).ravel()
    return resample(x, f.rate, RATE)


def split_region(x: np.ndarray, start: float, stop: float) -> np.ndarray:
    """Samples between fractions ``start`` and ``stop`` of the signal's length."""
    n = x.shape[0]
    return x[round(start * n):round(stop * n)]


@dataclass
class Segment:
    """A stretch of one file's signal with its class index: training draws windows from it."""

    x: np.ndarray
    label: int
    file: str
    load_hp: int


def load_segments(files: list[CwruFile], start: float = 0.0, stop: float = 1.0,
                  channel: str = "DE_time") -> list[Segment]:
    """The ``[start, stop)`` time region of every file, as labelled segments."""
    out = []
    for f in files:
        assert f.label is not None
        x = split_region(load_signal(f, channel), start, stop)
        out.append(Segment(x, CLASSES.index(f.label), f.path.name, f.load_hp))
    return out
