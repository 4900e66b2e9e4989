"""What a machine's AdaBN statistics (desktop.ml.training.machine_adabn) change for the
shipped fault model on simulated machines it never saw: per route, the share of 1-s
snapshots' windows the model calls ``normal``, a fault, or ``unknown`` (open set), on
healthy snapshots after the baseline day and on the last day of a degrading route, with
the model as shipped and with the statistics from the route's first day (every batch
norm, and the first only), and whether the check on the first day's windows
(``MIN_NORMAL_SHARE``) lets them be used.

Routes: the held-out block of tools/eval_baseline.py (seeds 100–105). Run once for
docs/baseline.md; nothing was tuned on it.

Usage: nice -n 10 .venv/bin/python tools/eval_baseline_adabn.py [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from eval_baseline import DAY, route_specs  # noqa: E402

from desktop.baseline.routes import route  # noqa: E402
from desktop.ml.inference.machine_stats import with_machine_statistics  # noqa: E402
from desktop.ml.inference.predictors import load_predictor  # noqa: E402
from desktop.ml.training.machine_adabn import machine_statistics  # noqa: E402

MODEL = "fault-cwru"


def shares(pred, snaps, fs) -> dict[str, float]:  # type: ignore[no-untyped-def]
    c: Counter[str] = Counter()
    for x in snaps:
        for v in pred.predict_signal(x, fs):
            c["unknown" if v.label == "unknown" else
              "normal" if v.location == "normal" else "fault"] += 1
    n = sum(c.values()) or 1
    return {k: round(100.0 * c[k] / n, 1) for k in ("normal", "fault", "unknown")}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "build" / "baseline_adabn.json"))
    args = ap.parse_args()
    base = load_predictor(MODEL, backend="numpy")
    rows = []
    for spec in route_specs("held_out", False):
        snaps = list(route(spec, step=4))
        first = [s.x for s in snaps if s.t_s < DAY]
        if spec.fault == "healthy":
            test = [s.x for s in snaps if s.t_s >= 5 * DAY][::6]
        else:
            test = [s.x for s in snaps if s.t_s >= spec.failure_s - DAY][::2]
        row: dict[str, object] = {"fault": spec.fault, "seed": spec.seed,
                                  "bearing": spec.geometry.designation,
                                  "rpm": round(spec.rpm), "baseline_snapshots": len(first),
                                  "test_snapshots": len(test),
                                  "shipped": shares(base, test, spec.fs)}
        for layers in ("all", "first"):
            entry = machine_statistics(MODEL, first, spec.fs, layers=layers)
            row[f"usable_{layers}"] = entry["usable"]
            row[f"healthy_normal_share_{layers}"] = entry["healthy_normal_share"]
            # measured as if used (the check may refuse them: that is the point)
            pred, why = with_machine_statistics(base, {**entry, "usable": True})
            assert not why, why
            row[f"adabn_{layers}"] = shares(pred, test, spec.fs)
            row[f"raised_{layers}"] = entry["ood"]["raised"]
        print(row, flush=True)
        rows.append(row)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
