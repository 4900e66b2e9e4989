"""ASCII parser throughput on one core: ours (vectorised) vs a naive split/float loop.

Run: .venv/bin/python bench/bench_parse_ascii.py [--lines N] [--json]

Both parse the same bytes: 8-column CSV lines with a counter column and ~1 % garbage of
every kind (binary noise, wrong column count, words, nan/inf), fed in 64 KiB chunks so
lines are torn across chunk edges. Both must produce identical arrays. Target: ours
≥ 2,000,000 values/s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.formats.ascii import AsciiLineParser  # noqa: E402
from tests.support.streams import SensorStream  # noqa: E402

TARGET = 2_000_000
CHUNK = 1 << 16


def ours(data: bytes) -> np.ndarray:
    parser = AsciiLineParser()
    blocks = [parser.feed(data[i:i + CHUNK]) for i in range(0, len(data), CHUNK)]
    blocks.append(parser.finish())
    return np.concatenate([b.values for b in blocks if b.values.size])


def naive(data: bytes) -> np.ndarray:
    """The usual hand-written loop: decode, split per line, float() per field."""
    rows = []
    text = data.decode("utf-8", errors="replace")
    for line in text.splitlines()[1:]:  # skip the header
        parts = line.split(",")
        if len(parts) != 8:
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            continue
        if all(math.isfinite(v) for v in values):
            rows.append(values)
    return np.asarray(rows)


def best_of(fn, data: bytes, repeats: int = 3) -> tuple[float, np.ndarray]:
    best, result = math.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn(data)
        best = min(best, time.perf_counter() - started)
    return best, result  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=500_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    stream = SensorStream(seed=11)
    data = stream.header() + stream.lines(args.lines)
    t_ours, a = best_of(ours, data)
    t_naive, b = best_of(naive, data)
    same = a.shape == b.shape and np.array_equal(a, b)
    n_values = a.size
    result = {
        "lines": args.lines, "megabytes": round(len(data) / 1e6, 1),
        "ours_values_per_s": round(n_values / t_ours),
        "naive_values_per_s": round(b.size / t_naive),
        "speedup": round(t_naive / t_ours, 1), "identical": same,
        "target_met": n_values / t_ours >= TARGET,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"8-column CSV, {args.lines:,} lines ({result['megabytes']} MB), ~1 % garbage, "
          "one core, 64 KiB chunks")
    print(f"  ours  (vectorised):         {result['ours_values_per_s']:>12,} values/s")
    print(f"  naive (split + float loop): {result['naive_values_per_s']:>12,} values/s")
    print(f"  speed-up {result['speedup']}x; identical output: {same}; "
          f"target {TARGET:,} values/s met: {result['target_met']}")


if __name__ == "__main__":
    main()
