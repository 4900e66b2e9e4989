"""Recording size on disk: ours (row groups + per-column BYTE_STREAM_SPLIT or dictionary,
zstd) vs before (zstd, one row group per journal flush) vs raw float64.

Run: ``python bench/bench_recording_size.py --before TREE [--demo-seconds S]
[--synth SPEC --synth-seconds S] [--json]``

Takes the demo rig (real CWRU vibration excerpts) and a synth source (sines plus
full-precision noise), recorded once with ``linewatch record --speed max``, and writes the
very same samples through each tree's own ``RecordingWriter`` (this one, and ``--before``:
an unpacked ``git archive`` of the commit before the change) in blocks of 0.5 s of signal,
one flush each, as a real-time recording flushes. Each writer then finalises its journal
its own way. Raw is rows x columns x 8 bytes (float64, time column included). Both files
are read back and compared value for value with the samples, so the smaller one is not
smaller by losing bits.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def record(source: str, seconds: float, out: Path, tree: Path = ROOT, speed: str = "max"
           ) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree), LINEWATCH_HOME=str(out.parent / "home"))
    done = subprocess.run([sys.executable, "-m", "desktop", "record", "--source", source,
                           "--speed", speed, "--seconds", str(seconds), "--out", str(out),
                           "--json"], capture_output=True, text=True, env=env, cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"record {source} failed: {done.stderr.strip()}")


WRITE = """
import sys, numpy as np, pyarrow.parquet as pq
from pathlib import Path
from desktop.core.types import ChannelSpec
from desktop.recording.writer import RecordingWriter
table = pq.read_table(sys.argv[1])
rate, out = float(sys.argv[3]), Path(sys.argv[2])
names = [n for n in table.column_names if n != "time_s"]
t = table.column("time_s").to_numpy()
v = np.column_stack([table.column(n).to_numpy() for n in names])
w = RecordingWriter(out, tuple(ChannelSpec(n) for n in names), rate, "bench",
                    flush_interval_s=0.0, fsync=False)
block = max(1, int(rate * 0.5))
for i in range(0, len(t), block):
    w.write(t[i:i + block], v[i:i + block])
w.close()
"""


def write_with(tree: Path, source: Path, out: Path, rate: float) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", WRITE, str(source), str(out), repr(rate)],
                   check=True, env=env, cwd=tree)
    return time.perf_counter() - started


def measure(name: str, source: str, seconds: float, folder: Path, before_tree: Path
            ) -> dict[str, object]:
    data = folder / f"{name}-samples.parquet"
    record(source, seconds, data, speed="max")
    table = pq.read_table(data)
    rate = table.num_rows / seconds
    ours, before = folder / f"{name}-ours.parquet", folder / f"{name}-before.parquet"
    ours_s = write_with(ROOT, data, ours, rate)
    before_s = write_with(before_tree, data, before, rate)
    for path in (ours, before):
        back = pq.read_table(path)
        for column in table.column_names:
            assert back.column(column).equals(table.column(column)), (path, column)
    raw = table.num_rows * table.num_columns * 8
    size_ours, size_before = ours.stat().st_size, before.stat().st_size
    meta = pq.ParquetFile(ours).metadata
    encodings = sorted({enc for rg in range(meta.num_row_groups)
                        for c in range(meta.num_columns)
                        for enc in meta.row_group(rg).column(c).encodings} - {"RLE"})
    return {"name": name, "source": source, "rows": table.num_rows,
            "columns": table.num_columns, "raw_mb": round(raw / 1e6, 2),
            "before_mb": round(size_before / 1e6, 2), "ours_mb": round(size_ours / 1e6, 2),
            "before_vs_raw": round(size_before / raw, 3), "ours_vs_raw": round(size_ours / raw, 3),
            "smaller_by": round(size_before / size_ours, 2), "encodings": encodings,
            "row_groups_before": pq.ParquetFile(before).metadata.num_row_groups,
            "row_groups_ours": meta.num_row_groups,
            "write_s_before": round(before_s, 1), "write_s_ours": round(ours_s, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo-seconds", type=float, default=60.0)
    ap.add_argument("--synth", default="16x20000")
    ap.add_argument("--synth-seconds", type=float, default=10.0)
    ap.add_argument("--before", type=Path, required=True,
                    help="source tree of the writer before the change")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure("demo", "demo", args.demo_seconds, Path(tmp), args.before),
                   measure("synth", f"synth:{args.synth}", args.synth_seconds, Path(tmp),
                           args.before)]
    for r in results:
        if args.json:
            print(json.dumps(r))
        else:
            print(f"{r['name']:<6} {r['rows']:>10,} rows x {r['columns']} cols: raw "
                  f"{r['raw_mb']} MB; before {r['before_mb']} MB ({r['before_vs_raw']:.0%} of "
                  f"raw, {r['row_groups_before']} row groups); ours {r['ours_mb']} MB "
                  f"({r['ours_vs_raw']:.0%} of raw, {r['row_groups_ours']} row groups, "
                  f"{'+'.join(r['encodings'])}): {r['smaller_by']}x smaller; write "
                  f"{r['write_s_before']} s vs {r['write_s_ours']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
