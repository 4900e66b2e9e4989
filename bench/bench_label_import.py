"""``linewatch labels import`` of a large label file: wall time and peak memory.

Run: ``python bench/bench_label_import.py [--rows N] [--format csv|json] [--root TREE]
[--timeout S] [--json]``

Writes a realistic label file (20 recordings, 6 classes, 3 channels, notes with commas,
quotes and the odd formula-like text, ~5 % rows that repeat an earlier row so the
duplicate check has work to do), then imports it into a fresh store with the real command
in a subprocess and samples the child's peak resident memory (``VmHWM``). ``--root`` runs
another source tree (e.g. an unpacked ``git archive`` of an older commit) on the same file,
which is how the "before" figures are made: the same data, the same machine, one after the
other. A run past ``--timeout`` is killed and reported as not finished. CPU seconds are
reported beside wall seconds: on a shared machine the wall time says as much about the
neighbours as about the import.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("normal", "unbalance", "misalignment", "inner_race", "outer_race", "ball")
NOTES = ("", "", "", "bearing hot, checked by J.", 'said "loud", see log', "=1+1 looks odd",
         "Lager läuft unrund", "line 1\nline 2")


def make_rows(n: int, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    rows: list[list[str]] = []
    for i in range(n):
        if rows and rng.random() < 0.05:
            rows.append(list(rng.choice(rows)))
            continue
        start = i * 0.5 + rng.random() * 0.25
        rows.append([f"runs/run{i % 20:02d}.parquet", repr(start), repr(start + 0.4),
                     rng.choice(CLASSES), rng.choice(("", "DE_time", "FE_time")),
                     rng.choice(NOTES)])
    return rows


def write_file(path: Path, rows: list[list[str]]) -> None:
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["recording", "start_s", "end_s", "label", "channel", "note"])
            writer.writerows(rows)
        return
    keys = ("recording", "start_s", "end_s", "label", "channel", "note")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[\n")
        for i, row in enumerate(rows):
            item = dict(zip(keys, row, strict=True))
            item["start_s"], item["end_s"] = float(row[1]), float(row[2])
            fh.write(("  " if i == 0 else ", ") + json.dumps(item, ensure_ascii=False) + "\n")
        fh.write("]\n")


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_import(tree: Path, label_file: Path, store: Path, timeout: float) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(tree), LINEWATCH_HOME=str(store.parent / "home"))
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "labels", "--store", str(store),
                             "import", str(label_file)], env=env, cwd=tree,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    finished = True
    while proc.poll() is None:
        peak = max(peak, peak_rss_mb(proc.pid) or 0.0)
        if time.perf_counter() - started > timeout:
            proc.kill()
            finished = False
            break
        time.sleep(0.05)
    out, err = proc.communicate()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return {"finished": finished, "seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(cpu, 2),
            "peak_rss_mb": round(peak, 1), "returncode": proc.returncode,
            "stdout": out.strip()[-200:], "stderr": err.strip()[-300:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("csv", "json"), default="csv")
    ap.add_argument("--root", type=Path, default=ROOT, help="source tree to run")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        label_file = folder / f"labels.{args.format}"
        write_file(label_file, make_rows(args.rows))
        size_mb = label_file.stat().st_size / 1e6
        result = run_import(args.root.resolve(), label_file, folder / "labels.sqlite3",
                            args.timeout)
    result.update(rows=args.rows, format=args.format, file_mb=round(size_mb, 1),
                  tree=str(args.root))
    if args.json:
        print(json.dumps(result))
    else:
        state = "finished" if result["finished"] else f"NOT finished in {args.timeout:g} s"
        print(f"{args.rows:,} rows ({args.format}, {size_mb:.1f} MB) from {args.root}: "
              f"{state} after {result['seconds']} s ({result['cpu_seconds']} s CPU), "
              f"peak RSS {result['peak_rss_mb']} MB; "
              f"{result['stdout'] or result['stderr']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
