"""Files per second of ``predict DIR --out`` on Dask: 1 worker vs 2 workers, same run.

For each worker count a fresh LocalCluster (processes, 1 thread each) is started, the model
is loaded on every worker (start-up, timed apart), then the same files are judged and timed
from the first submit to the last answer. The naive baseline is the loop ``predict FILE``
would be: one process, one predictor, the files one after another (model load apart too).

Run: ``.venv/bin/python bench/bench_fleet.py [--data DIR] [--files 8] [--workers 1 2]``.
On a shared or small machine the figures say more about the machine than about Dask: run it
where nothing else competes for the cores, and compare within one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cwru"


def main() -> int:
    from desktop.ml.inference.batch import (
        JudgeOptions,
        _run_on_cluster,
        cached_predictor,
        check_workers,
        dask_client,
        judge_file,
        warm_worker,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", default="fault-cwru")
    args = ap.parse_args()
    files = sorted(str(p) for p in args.data.glob("*.mat"))[: args.files]
    if not files:
        print(f"no .mat files in {args.data}", file=sys.stderr)
        return 2
    options = JudgeOptions(model=args.model, device="cpu", threads=1)
    report: dict[str, object] = {"files": len(files), "cpu_count": os.cpu_count(),
                                 "load_average": os.getloadavg()}

    t0 = time.perf_counter()
    _, fingerprint = cached_predictor(options)
    warm_worker(options)  # the same warm-up the workers get
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    for f in files:
        r = judge_file(f, options)
        assert "error" not in r, r
    naive = time.perf_counter() - t0
    report["naive_in_process"] = {"startup_s": round(load, 2), "judge_s": round(naive, 2),
                                  "files_per_s": round(len(files) / naive, 3)}
    for n in args.workers:
        t0 = time.perf_counter()
        with dask_client(n, None) as (client, _where):
            got = check_workers(client, options, fingerprint)
            started = time.perf_counter()
            answers: list[dict] = []
            _run_on_cluster(client, files, options, answers.append)
            judged = time.perf_counter() - started
        assert all("error" not in a for a in answers), answers
        report[f"dask_{got}_workers"] = {"startup_s": round(started - t0, 2),
                                         "judge_s": round(judged, 2),
                                         "files_per_s": round(len(files) / judged, 3)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
