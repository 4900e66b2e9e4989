"""Cut the demo-rig excerpt (resources/demo/) from the CWRU bearing data.

The built-in "demo" source replays real vibration data on a fresh install with no
hardware. This script is the only way that data gets into the tree, so anyone can see and
repeat exactly which samples were taken:

    .venv/bin/python tools/make_demo_excerpt.py --data-dir PATH/TO/cwru

Why it is cut the way it is:

* Every segment comes from the **end** of its source file (the healthy one from as late as
  the 48 kHz -> 12 kHz resampling filter allows). Models are trained and judged on these
  files too; keeping the demo to a documented tail means an evaluation can exclude these
  exact samples, and ``demo.json`` records them per segment.
* All segments are at 0 hp, the load of the only healthy file, so the loop changes the
  bearing condition and nothing else.
* Storage is int16 codes plus one float64 scale per segment and channel in a plain .npz
  (no pickle, so ``np.load(allow_pickle=False)`` is safe on it). The quantisation error is
  measured here and written to ``demo.json``; the script refuses to write an excerpt whose
  error exceeds 0.1 % of the signal RMS.
* The healthy recording is only ~3 s long, shorter than the fault model's default
  Clear-after (5 s), so a loop that played it once would never show an alarm clearing.
  The healthy segment is therefore *played* several times in a row (at least
  ``NORMAL_MIN_PLAY_SECONDS``), like a sampler's sustain loop: ``demo.json`` records a
  ``repeat`` with two loop points picked here, where the signal just after ``loop_start``
  best continues the signal just before ``loop_end`` (both channels), so the jump back
  is one ordinary sample-to-sample step, not a click. No sample is stored twice and none
  is altered; the repetition is only in how the demo source plays the segment.
* The .npz is written with fixed zip timestamps so that re-running the script with the same
  numpy/scipy gives a byte-identical file (its SHA-256 is in ``demo.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from scipy.signal import resample_poly

RATE = 12_000
FAULT_SECONDS = 4.0
NORMAL_SECONDS = 3.0
# The healthy file is 48 kHz and only ~3.05 s long. Resampling by 1/4 with scipy's
# default Kaiser filter looks 40 input samples (10 output samples) either side, so the
# last few output samples are computed against zero padding: stop 91 output samples
# before the end and take the 3 s before that.
NORMAL_STOP_12K = 36_500
MAX_REL_ERROR = 1e-3
# The healthy stretch at the start of the loop must outlast the default Clear-after (5 s)
# with room for the model's windows, hence the repeats (see find_loop_points).
NORMAL_MIN_PLAY_SECONDS = 8.0
# Loop points are searched in the first and last tenth of the segment, matching this many
# samples either side of the join.
LOOP_SEARCH_FRACTION = 0.1
LOOP_MATCH_HALF_WIDTH = 3
CHANNELS = (
    {
        "name": "DE accel",
        "unit": "g",
        "cwru_key": "DE_time",
        "description": "drive-end accelerometer (motor housing, 12 o'clock)",
    },
    {
        "name": "FE accel",
        "unit": "g",
        "cwru_key": "FE_time",
        "description": "fan-end accelerometer (motor housing, 12 o'clock)",
    },
)
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SegmentSpec:
    """One segment of the loop: which CWRU file, under which class label."""

    label: str
    file: str
    cwru_number: int
    load_hp: int
    description: str
    source_rate: int = RATE


# Loop order: healthy, then three 0.007 in faults at different locations, then a larger
# (0.021 in) outer-race fault; the source loops back to healthy after it.
SEGMENTS = (
    SegmentSpec("normal", "normal_0_97_part1.mat", 97, 0, "healthy bearing", 48_000),
    SegmentSpec("inner_007", "12k_Drive_End_IR007_0_105.mat", 105, 0, "inner race fault, 0.007 in"),
    SegmentSpec("ball_007", "12k_Drive_End_B007_0_118.mat", 118, 0, "ball fault, 0.007 in"),
    SegmentSpec(
        "outer_007",
        "12k_Drive_End_OR007@6_0_130.mat",
        130,
        0,
        "outer race fault at 6 o'clock, 0.007 in",
    ),
    SegmentSpec(
        "outer_021",
        "12k_Drive_End_OR021@6_0_234.mat",
        234,
        0,
        "outer race fault at 6 o'clock, 0.021 in",
    ),
)


def _channel(mat: dict[str, np.ndarray], number: int, key: str) -> np.ndarray:
    """The 1-D float64 signal ``X<number>_<key>`` from a loaded CWRU file."""
    name = f"X{number:03d}_{key}"
    if name not in mat:
        raise SystemExit(f"{name} not in file (keys: {sorted(k for k in mat if k[0] != '_')})")
    return np.asarray(mat[name], dtype=np.float64).ravel()


def cut_segment(spec: SegmentSpec, data_dir: Path) -> tuple[np.ndarray, dict[str, object]]:
    """Return the excerpt (n, channels) at 12 kHz and its provenance record."""
    mat = scipy.io.loadmat(str(data_dir / spec.file))
    signals = [_channel(mat, spec.cwru_number, ch["cwru_key"]) for ch in CHANNELS]
    rpm = int(np.asarray(mat[f"X{spec.cwru_number:03d}RPM"]).ravel()[0])
    file_samples = len(signals[0])
    factor = spec.source_rate // RATE
    if factor == 1:
        count = round(FAULT_SECONDS * RATE)
        start, stop = file_samples - count, file_samples
        excerpt = np.column_stack([s[start:stop] for s in signals])
        note = "last samples of the file, taken as they are"
    else:
        count = round(NORMAL_SECONDS * RATE)
        stop12 = NORMAL_STOP_12K
        start12 = stop12 - count
        resampled = [resample_poly(s, 1, factor) for s in signals]
        if len(resampled[0]) < stop12 + 10:
            raise SystemExit(f"{spec.file} is shorter than expected")
        excerpt = np.column_stack([r[start12:stop12] for r in resampled])
        start, stop = start12 * factor, stop12 * factor
        note = (
            f"whole file resampled {spec.source_rate} -> {RATE} Hz with "
            f"scipy.signal.resample_poly(x, 1, {factor}) (default Kaiser window, reads "
            f"{10 * factor} source samples either side), then output samples "
            f"{start12}..{stop12} kept"
        )
    record: dict[str, object] = {
        "label": spec.label,
        "description": spec.description,
        "file": spec.file,
        "cwru_number": spec.cwru_number,
        "load_hp": spec.load_hp,
        "rpm": rpm,
        "source_rate": spec.source_rate,
        "source_samples_in_file": file_samples,
        # Half-open range [source_start, source_stop) in the file's own sample numbering.
        "source_start": start,
        "source_stop": stop,
        "how": note,
        "samples": int(excerpt.shape[0]),
    }
    return excerpt, record


def find_loop_points(x: np.ndarray) -> tuple[int, int, float]:
    """Loop points ``(loop_start, loop_end)`` in ``x`` (samples, channels) for seamless
    repeats, and the match cost.

    Playing ``x[loop_end - 1]`` and then ``x[loop_start]`` is seamless when the samples
    around ``loop_start`` look like those around ``loop_end``: the cost is the squared
    difference of ``x[loop_start + j]`` and ``x[loop_end + j]`` for ``j`` in
    ``[-LOOP_MATCH_HALF_WIDTH, LOOP_MATCH_HALF_WIDTH)``, each channel in units of its own
    typical sample-to-sample step, summed over channels. The lowest cost wins (ties: the
    earliest pair), searched over the first and last ``LOOP_SEARCH_FRACTION`` of ``x``.
    """
    n = len(x)
    k = LOOP_MATCH_HALF_WIDTH
    xn = x / np.diff(x, axis=0).std(axis=0)
    edge = int(n * LOOP_SEARCH_FRACTION)
    starts = np.arange(k, edge)
    best = (np.inf, 0, 0)
    for end in range(n - edge, n - k + 1):
        cost = np.zeros(len(starts))
        for j in range(-k, k):
            cost += ((xn[starts + j] - xn[end + j]) ** 2).sum(axis=1)
        i = int(cost.argmin())
        if cost[i] < best[0]:
            best = (float(cost[i]), int(starts[i]), end)
    return best[1], best[2], best[0]


def repeat_record(codes: np.ndarray, scale: np.ndarray) -> dict[str, object]:
    """How the healthy segment is replayed: loop points found on the values as stored
    (codes times scale), and enough plays to last ``NORMAL_MIN_PLAY_SECONDS``."""
    x = codes.astype(np.float64) * scale
    loop_start, loop_end, cost = find_loop_points(x)
    need = round(NORMAL_MIN_PLAY_SECONDS * RATE)
    plays = 1 + max(0, -(-(need - len(x)) // (loop_end - loop_start)))
    return {
        "plays": plays,
        "loop_start": loop_start,
        "loop_end": loop_end,
        "played_samples": len(x) + (plays - 1) * (loop_end - loop_start),
        "match_cost": cost,
        "how": "played as samples [0, loop_end), then [loop_start, loop_end) again until "
        "the last play, which runs [loop_start, samples); loop points chosen by "
        "tools/make_demo_excerpt.py find_loop_points so the jump back is an ordinary "
        "sample-to-sample step",
    }


def quantise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """int16 codes, per-channel scale and per-channel RMS error relative to signal RMS."""
    peak = np.abs(x).max(axis=0)
    scale = np.where(peak > 0, peak / 32767.0, 1.0)
    codes = np.clip(np.rint(x / scale), -32767, 32767).astype(np.int16)
    err = codes.astype(np.float64) * scale - x
    rms = np.sqrt(np.mean(x**2, axis=0))
    rel = np.sqrt(np.mean(err**2, axis=0)) / np.where(rms > 0, rms, 1.0)
    return codes, scale, [float(v) for v in rel]


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a deflated .npz with fixed timestamps so reruns are byte-identical.

    ``np.savez_compressed`` stamps each member with the current time; the result is the
    same format (``np.load`` reads it) without that.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="folder holding the CWRU .mat files (e.g. ../shared/data/cwru)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "resources" / "demo",
        help="output folder (demo.npz, demo.json)",
    )
    args = parser.parse_args(argv)

    codes_parts: list[np.ndarray] = []
    scales: list[np.ndarray] = []
    records: list[dict[str, object]] = []
    offset = 0
    for spec in SEGMENTS:
        excerpt, record = cut_segment(spec, args.data_dir)
        codes, scale, rel = quantise(excerpt)
        if max(rel) > MAX_REL_ERROR:
            raise SystemExit(f"{spec.label}: quantisation error {max(rel):.2e} of RMS is too big")
        # Row of the segment's first sample in demo.npz (where it is stored; repeats make
        # its place in the played loop later than this for the segments after it).
        record["offset"] = offset
        record["quantisation_rel_rms_error"] = rel
        if spec.label == "normal":
            record["repeat"] = repeat_record(codes, scale)
        offset += len(codes)
        codes_parts.append(codes)
        scales.append(scale)
        records.append(record)
        print(
            f"{spec.label:10s} {spec.file:34s} [{record['source_start']}, "
            f"{record['source_stop']}) @ {spec.source_rate} Hz  -> {len(codes)} samples, "
            f"quantisation error {max(rel) * 100:.4f} % of RMS"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    npz_path = args.out / "demo.npz"
    write_npz(
        npz_path,
        {
            "codes": np.concatenate(codes_parts),  # (total samples, channels) int16
            "scale": np.stack(scales),  # (segments, channels) float64: value = code * scale
        },
    )
    meta = {
        "format": "linewatch-demo-excerpt",
        "version": 1,
        "data_file": npz_path.name,
        "data_sha256": hashlib.sha256(npz_path.read_bytes()).hexdigest(),
        "encoding": "codes int16 (samples, channels) for all segments back to back; "
        "scale float64 (segments, channels); value = codes * scale[segment]",
        "sample_rate": RATE,
        "channels": list(CHANNELS),
        "origin": {
            "dataset": "Case Western Reserve University Bearing Data Center",
            "url": "https://engineering.case.edu/bearingdatacenter",
            "terms": "free download; cite the Bearing Data Center; no formal licence stated",
            "cut_by": "tools/make_demo_excerpt.py",
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "segments": records,
    }
    (args.out / "demo.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    played = sum(int(r.get("repeat", {}).get("played_samples", r["samples"])) for r in records)
    print(
        f"wrote {args.out} ({total} bytes, {offset} samples stored, {played} played = "
        f"{played / RATE:.1f} s loop)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
