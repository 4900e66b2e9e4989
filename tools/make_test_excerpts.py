"""Cut the small real-data excerpts that the tests read, so any clone runs them.

The tests under ``tests/`` that check Linewatch against real recordings read
``tests/fixtures/`` — a few seconds of each CWRU file they need and the demo rig's reference
slices — instead of the full data set, which lives outside the repository. This tool
writes those excerpts from a local copy of the CWRU Bearing Data Center files
(engineering.case.edu/bearingdatacenter; free download, cite the Bearing Data Center).
The full files stay the input of the larger runs (``tools/``, ``bench/``).

Usage::

    python tools/make_test_excerpts.py CWRU_DIR [--out tests/fixtures]

Each excerpt keeps its file name and MATLAB variable names (``X105_DE_time``,
``X105RPM``), the first ``SECONDS`` of the drive-end channel as float32 (the sensors'
own resolution is coarser than float32's 1e-7), and is stored zlib-compressed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.io import loadmat, savemat
from scipy.signal import resample_poly

# name -> seconds kept. Envelope checks want >= 3 s (0.33 Hz lines); predict a few windows.
CWRU_EXCERPTS: dict[str, float] = {
    "12k_Drive_End_IR007_1_106.mat": 3.0,
    "12k_Drive_End_IR021_1_210.mat": 3.0,
    "12k_Drive_End_OR007@6_1_131.mat": 3.0,
    "12k_Drive_End_OR021@6_0_234.mat": 3.0,
    "12k_Drive_End_IR007_0_105.mat": 3.0,
    "12k_Drive_End_B007_0_118.mat": 2.0,
    "12k_Drive_End_OR007@6_0_130.mat": 2.0,
}
RATE = 12_000
DEMO_HEAD = 2048  # samples of each demo segment's reference kept


def cut_cwru(src: Path, out: Path) -> None:
    """Write the excerpts of :data:`CWRU_EXCERPTS` from ``src`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, seconds in CWRU_EXCERPTS.items():
        mat = loadmat(str(src / name))
        keep: dict[str, np.ndarray] = {}
        for key, value in mat.items():
            if key.endswith("_DE_time"):
                keep[key] = np.asarray(value[: int(seconds * RATE)], dtype=np.float32)
            elif key.endswith("RPM"):
                keep[key] = np.asarray(value, dtype=np.float64)
        savemat(str(out / name), keep, do_compression=True)


def cut_demo_reference(src: Path, demo_dir: Path, out: Path) -> None:
    """The first :data:`DEMO_HEAD` samples of each demo segment as the source files give
    them (resampled as ``demo.json`` says), with each source's length: what
    ``tests/unit/sources/test_demo_source.py`` compares the stored excerpt with."""
    meta = json.loads((demo_dir / "demo.json").read_text(encoding="utf-8"))
    arrays: dict[str, np.ndarray] = {}
    for i, seg in enumerate(meta["segments"]):
        mat = loadmat(str(src / seg["file"]))
        for ch in meta["channels"]:
            x = mat[f"X{seg['cwru_number']:03d}_{ch['cwru_key']}"].ravel()
            factor = seg["source_rate"] // RATE
            if factor == 1:
                ref = x[seg["source_start"]: seg["source_stop"]]
            else:
                ref = resample_poly(x, 1, factor)
                ref = ref[seg["source_start"] // factor: seg["source_stop"] // factor]
            arrays[f"seg{i}_{ch['cwru_key']}"] = ref[:DEMO_HEAD].astype(np.float64)
            arrays[f"seg{i}_{ch['cwru_key']}_len"] = np.array(len(x))
    np.savez_compressed(out / "demo_reference.npz", **arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cwru_dir", type=Path, help="folder of the CWRU .mat files")
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures"))
    args = parser.parse_args()
    cut_cwru(args.cwru_dir, args.out / "cwru")
    repo = Path(__file__).resolve().parents[1]
    cut_demo_reference(args.cwru_dir, repo / "resources" / "demo", args.out)


if __name__ == "__main__":
    main()
