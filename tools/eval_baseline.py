"""Evaluate the on-site baseline (desktop.baseline) on simulated routes and on CWRU, and
write docs/baseline.md with its figures.

Routes (desktop.baseline.routes): one machine per route, 1-s snapshots every 10 min,
load/speed changes every few hours, a slowly drifting healthy level. The baseline is the
route's first day (144 snapshots, healthy); every later snapshot is judged in time order
with the alarm latch and the drift rule. Degrading routes: a fault appears on day 2 and
grows linearly in dB to failure at the route's end (6–10 days later).

Two blocks of routes: **dev** (seeds 0…, bearings 6205/6206, 1500–1800 r/min) — the
only ones looked at while choosing constants — and **held-out** (seeds 100…, other
bearings and speeds), run once for the report.

CWRU: a baseline from the healthy drive-end file (48 kHz, resampled to 12 kHz: 3 one-second
snapshots, a thin baseline), then every 12 kHz drive-end fault file at 0 and 1 hp judged
per 1-s window with a fresh latch per file.

Usage: .venv/bin/python tools/eval_baseline.py [--quick] [--cwru DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from desktop.baseline.judge import judge  # noqa: E402
from desktop.baseline.model import fit_sensor_baseline, snapshot_windows  # noqa: E402
from desktop.baseline.monitor import SensorMonitor, SensorSetup  # noqa: E402
from desktop.baseline.routes import RouteSpec, route  # noqa: E402
from desktop.diagnosis.catalogue import find_bearing  # noqa: E402

DAY = 86400.0
BASE_DAYS = 1.0


def route_specs(block: str, quick: bool) -> list[RouteSpec]:
    """The dev or held-out routes (module docstring)."""
    rng = np.random.default_rng({"dev": 7, "held_out": 107}.get(block, 207))
    if block == "stress":  # healthy only: load swings x1.3, knocks in 2 % of snapshots
        specs = []
        for i, b in enumerate(("6205", "6308", "22210")):
            specs.append(RouteSpec(find_bearing(b), float(rng.uniform(1200.0, 3000.0)),
                                   days=10.0, seed=200 + i, drift=float(rng.uniform(0.3, 0.45)),
                                   load_gain=1.0, knock_prob=0.02))
        return specs[:1] if quick else specs
    if block == "dev":
        bearings, rpms, seed0 = ("6205", "6206"), (1500.0, 1800.0), 0
    else:
        bearings, rpms, seed0 = ("6308", "22210", "6204", "30208"), (1000.0, 3000.0), 100
    faults = ["healthy"] * 3 + ["outer_race", "inner_race", "ball"]
    if quick:
        faults = ["healthy", "outer_race"]
    specs = []
    for i, fault in enumerate(faults):
        g = find_bearing(bearings[i % len(bearings)])
        rpm = float(rng.uniform(*rpms))
        if fault == "healthy":
            spec = RouteSpec(g, rpm, days=10.0, seed=seed0 + i, fault=fault,
                             drift=float(rng.uniform(0.2, 0.4)))
        else:
            days = 2.0 + float(rng.uniform(6.0, 10.0))
            spec = RouteSpec(g, rpm, days=days, seed=seed0 + i, fault=fault, onset_day=2.0,
                             drift=float(rng.uniform(0.1, 0.3)))
        specs.append(spec)
    return specs


def route_indicators(spec: RouteSpec, cache: Path | None) -> list[dict[str, object]]:
    """Every snapshot's indicators (the expensive part), cached as JSON in ``cache``."""
    if cache is not None and cache.is_file():
        return list(json.loads(cache.read_text()))
    lo, hi = spec.rpm * 0.85, spec.rpm * 1.1
    setup = SensorSetup("bearing", "g", spec.geometry, None, (lo, hi))
    out = []
    for s in route(spec):
        ind = setup.indicators(s.x, spec.fs)
        out.append({"t_s": s.t_s, "fault_db": s.fault_db, "values": ind.values,
                    "lines": ind.lines, "rpm": ind.rpm, "location": ind.location,
                    "seconds": s.x.size / spec.fs})
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(out))
    return out


def run_route(spec: RouteSpec, cache: Path | None = None) -> dict[str, object]:
    """Learn on day 1, judge the rest; the result row and the per-snapshot trace."""
    from desktop.baseline.indicators import Indicators

    setup = SensorSetup("bearing", "g", spec.geometry)
    t0 = time.time()
    snaps = route_indicators(spec, cache)
    inds = [Indicators(r["values"], "", r["lines"], r["rpm"], r["location"])  # type: ignore[arg-type]
            for r in snaps]
    base_idx = [i for i, r in enumerate(snaps) if float(r["t_s"]) < BASE_DAYS * DAY]  # type: ignore[arg-type]
    seconds = sum(float(snaps[i]["seconds"]) for i in base_idx)  # type: ignore[arg-type]
    base_inds = [inds[i] for i in base_idx]
    mon = SensorMonitor(setup, fit_sensor_baseline("bearing", "g", spec.fs, base_inds, seconds))
    frozen = SensorMonitor(setup, fit_sensor_baseline("bearing", "g", spec.fs, base_inds,
                                                      seconds), drift=False)
    trace: list[dict[str, float | str]] = []
    for r, ind in zip(snaps[len(base_idx):], inds[len(base_idx):], strict=True):
        day = float(r["t_s"]) / DAY  # type: ignore[arg-type]
        # the distance-to-limits score beside the anomaly model's (same drift applied)
        lim_score = judge(ind, replace(mon.baseline, anomaly=None)).anomaly
        row = mon.feed_indicators(ind, f"{day:.3f}")
        frow = frozen.feed_indicators(ind, "")
        trace.append({"day": day, "anomaly": row.judgement.anomaly,
                      "anomaly_method": row.judgement.anomaly_method,
                      "anomaly_limits": lim_score,
                      "level": row.judgement.level, "state": row.state,
                      "location": row.judgement.location,
                      "fault_db": float(r["fault_db"]),  # type: ignore[arg-type]
                      "frozen_level": frow.judgement.level, "frozen_state": frow.state})
    assert mon is not None and frozen is not None
    events = [e.to_json() for e in mon.latch.events]
    first = {lv: next((e for e in events if e["level"] == lv), None) for lv in ("alert", "alarm")}
    fail = spec.failure_s / DAY
    out: dict[str, object] = {
        "fault": spec.fault, "seed": spec.seed, "bearing": spec.geometry.designation,
        "rpm": round(spec.rpm), "days": round(spec.days, 2), "drift": round(spec.drift, 2),
        "snapshots": len(trace), "seconds": round(time.time() - t0, 1),
        "events": events, "final_state": mon.latch.latched,
        "frozen_events": [e.to_json() for e in frozen.latch.events],
        "raw_alarm_snapshots": sum(t["level"] == "alarm" for t in trace),
        "raw_alert_snapshots": sum(t["level"] == "alert" for t in trace),
    }
    for lv, e in first.items():
        if e is None:
            out[f"first_{lv}_lead_days"] = None
            continue
        day = float(trace[int(e["index"])]["day"])
        out[f"first_{lv}_lead_days"] = round(fail - day, 2)
        db = float(trace[int(e["index"])]["fault_db"])
        out[f"first_{lv}_fault_db"] = None if not math.isfinite(db) else round(db, 1)
        out[f"first_{lv}_location"] = e["location"]
    if spec.fault != "healthy" and first["alarm"] is not None:
        after = trace[int(first["alarm"]["index"]):]
        out["raw_ok_after_first_alarm"] = sum(t["level"] == "ok" for t in after)
        out["latched_cleared"] = any(t["state"] != "alarm" for t in after)
    for key, name in (("anomaly", "anomaly"), ("anomaly_limits", "limits_anomaly")):
        over = [float(t[key]) >= 1.0 for t in trace]  # type: ignore[arg-type]
        out[f"{name}_ge1_pct"] = round(100.0 * sum(over) / max(1, len(over)), 2)
        run = next((i for i in range(len(over) - 2) if all(over[i:i + 3])), None)
        out[f"first_{name}_lead_days"] = (None if run is None or spec.fault == "healthy"
                                          else round(fail - float(trace[run]["day"]), 2))
        out[f"{name}_run3"] = run is not None  # 3 snapshots in a row at >= 1 (healthy: false)
    out["anomaly_method"] = str(trace[0]["anomaly_method"]) if trace else ""
    out["trace"] = trace
    return out


CWRU_FILE = re.compile(r"12k_Drive_End_(B|IR|OR)(\d{3})(@\d+)?_(\d)_\d+\.mat")
CWRU_LOC = {"B": "ball", "IR": "inner_race", "OR": "outer_race"}


def run_cwru(folder: Path) -> dict[str, object]:
    """Thin baseline from CWRU normal (resampled to 12 kHz), then each fault file."""
    from scipy.signal import resample_poly

    from desktop.recording.readers import read_recording

    setup = SensorSetup("DE", "g", find_bearing("6205"), None, (1700.0, 1850.0))
    rec = read_recording(folder / "normal_0_97_part1.mat")
    names = [c.name for c in rec.channels]
    x = resample_poly(rec.values[:, names.index("X097_DE_time")], 1, 4)
    rpm = float(rec.metadata["scalars"]["X097RPM"])  # type: ignore[index]
    wins = snapshot_windows(x, 12000.0)
    base = fit_sensor_baseline("DE", "g", 12000.0,
                               [setup.indicators(w, 12000.0, rpm) for w in wins],
                               sum(w.size for w in wins) / 12000.0)
    files = []
    for path in sorted(folder.glob("12k_Drive_End_*.mat")):
        m = CWRU_FILE.match(path.name)
        if not m:
            continue
        rec = read_recording(path)
        names = [c.name for c in rec.channels]
        de = next(n for n in names if n.endswith("DE_time"))
        scal = rec.metadata.get("scalars") or {}
        frpm = next((float(v) for k, v in scal.items() if "RPM" in k), None)  # type: ignore[union-attr]
        mon = SensorMonitor(setup, _copy(base), drift=False)
        levels, locs = [], []
        for w in snapshot_windows(rec.values[:, names.index(de)], 12000.0, max_windows=10):
            row = mon.feed(w, 12000.0, rpm=frpm)
            levels.append(row.judgement.level)
            locs.append(row.judgement.location)
        ev = mon.latch.events
        files.append({"file": path.name, "truth": CWRU_LOC[m.group(1)], "size": m.group(2),
                      "position": (m.group(3) or "")[1:], "load_hp": int(m.group(4)),
                      "windows": len(levels), "alarm_windows": levels.count("alarm"),
                      "alert_windows": levels.count("alert"), "state": mon.latch.latched,
                      "event_location": ev[-1].location if ev else None,
                      "episode_location": mon.latch.location or None,
                      "window_locations": locs})
    return {"baseline": base.to_json(), "baseline_rpm": rpm, "files": files}


def _copy(base: object) -> object:
    from desktop.baseline.model import SensorBaseline

    return SensorBaseline.from_json(json.loads(json.dumps(base.to_json())))  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two short routes per block")
    ap.add_argument("--cwru", default=str(ROOT.parent / "shared" / "data" / "cwru"))
    ap.add_argument("--out", default=str(ROOT / "build" / "baseline_results.json"))
    ap.add_argument("--blocks", default="dev,held_out,stress",
                    help="comma-separated blocks to run (default all)")
    ap.add_argument("--no-cwru", action="store_true", help="skip the CWRU part")
    args = ap.parse_args(argv)
    results: dict[str, object] = {}
    for block in args.blocks.split(","):
        rows = []
        for spec in route_specs(block, args.quick):
            cache = Path(args.out).parent / "routes" / f"{block}_{spec.seed}_{spec.fault}.json"
            r = run_route(spec, None if args.quick else cache)
            print(block, {k: v for k, v in r.items() if k not in ("trace", "events",
                                                                   "frozen_events")},
                  flush=True)
            rows.append(r)
        results[block] = rows
    cwru = Path(args.cwru)
    if cwru.is_dir() and not args.no_cwru:
        results["cwru"] = run_cwru(cwru)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results) + "\n")
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
