"""``linewatch baseline NAME FILES…`` and ``linewatch trend FILES --machine NAME``: learn
a machine's healthy baseline from its own snapshots, then judge a route's snapshots
against it.

Files go through :func:`desktop.recording.readers.read_recording` (via
:func:`desktop.cli_analysis._read_file`); the sensors, their bearings, unit, speed and ISO
class come from the machine profile (:mod:`desktop.diagnosis.profiles`); everything else
is :mod:`desktop.baseline`. A problem the user can fix is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.cli_analysis import _guard, _pick_channel, _positive, _read_file

EXIT_OK = 0
#: Windows judged per trend file (evenly spread) and learnt per baseline file.
TREND_WINDOWS = 10
BASELINE_WINDOWS = 600
_SPEEDY = ("rpm", "speed", "tacho", "tach", "keyphasor")


def expand_inputs(items: list[str]) -> list[Path]:
    """Files named by ``items`` (files, folders — their files, not recursing —, glob
    patterns), in the order given, each once. :class:`AnalysisError` when one matches
    nothing."""
    out: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
        elif p.is_file():
            found = [p]
        else:
            found = sorted(Path(q) for q in glob.glob(str(p)) if Path(q).is_file())
        if not found:
            raise AnalysisError(f"no file matches '{item}'")
        out.extend(q for q in found if q not in out)
    return out


def _setups(prof: Any, channels: list[str] | None, names: list[str], units: list[str]
            ) -> list[tuple[int, Any]]:
    """``(column index, SensorSetup)`` per sensor to learn or judge in one file: the
    ``--channel`` names, else the profile's sensors, else the first vibration channel."""
    from desktop.baseline.hooks import setup_for
    from desktop.diagnosis.profiles import ANY_CHANNEL

    wanted = list(channels or [])
    if not wanted:
        wanted = [s.channel for s in prof.sensors if s.channel != ANY_CHANNEL]
    if not wanted:
        cands = [n for n, u in zip(names, units, strict=True)
                 if not (u.lower() in ("rpm", "r/min") or any(s in n.lower() for s in _SPEEDY))]
        if not cands:
            raise AnalysisError("no vibration channel in the file; give --channel")
        wanted = cands[:1]
    return [(_pick_channel(names, w), setup_for(prof, w)) for w in wanted]


def _file_rpm(rec: Any, scalars: dict[str, float], prof: Any) -> float | None:
    """A speed the file itself gives: its RPM variable or the median of the profile's
    speed channel (or a channel named like rpm/speed); None otherwise."""
    for name, value in scalars.items():
        if "rpm" in name.lower() and math.isfinite(value) and value > 0:
            return float(value)
    names = [c.name for c in rec.channels]
    chan = prof.speed.channel if prof.speed.kind == "rpm_channel" else None
    for j, c in enumerate(rec.channels):
        if (chan and names[j] == chan) or (not chan and ("rpm" in c.name.lower()
                                                         or c.unit.lower() in ("rpm", "r/min"))):
            v = np.asarray(rec.values[:, j], dtype=np.float64)
            v = v[np.isfinite(v)]
            if v.size and np.median(v) > 0:
                return float(np.median(v))
    return None


def _resampled(x: np.ndarray, fs: float, target: float | None) -> tuple[np.ndarray, float]:
    """``x`` at ``target`` Hz when the file is faster (polyphase, scipy ``resample_poly``:
    anti-alias FIR), else as it is."""
    if target is None or fs <= target * 1.001:
        return x, fs
    from scipy.signal import resample_poly

    r = Fraction(target / fs).limit_denominator(1000)
    return resample_poly(x, r.numerator, r.denominator), fs * r.numerator / r.denominator


def _channel(rec: Any, idx: int) -> np.ndarray:
    x = np.asarray(rec.values[:, idx], dtype=np.float64)
    return x[np.isfinite(x)]


def record_minutes(spec: str, minutes: float, rate: float | None) -> Path:
    """Record ``minutes`` of signal time from source ``spec`` (as ``linewatch record
    --source``) into a Parquet file in the cache folder; returns its path. Raises the
    source's :class:`~desktop.core.errors.LinewatchError` when it cannot be opened."""
    import time

    from desktop.app import SourceOptions, create_source
    from desktop.core.paths import cache_dir
    from desktop.core.types import SourceState
    from desktop.streams.acquisition import Acquisition

    out = cache_dir() / f"baseline-{int(time.time())}.parquet"
    flat_out = spec.startswith("replay:")  # a file played back: no need to wait for it
    source = create_source(spec, SourceOptions(rate=rate,
                                               speed=float("inf") if flat_out else 1.0))
    acq = Acquisition(source, history_s=60.0)
    acq.open()
    try:
        acq.start_recording(out, span_s=minutes * 60.0)
        while not acq.recording_full and acq.recording is not None:
            acq.step()
            if source.state is SourceState.FINISHED:
                break
    finally:
        acq.close()
    if not out.is_file():
        raise AnalysisError(f"nothing was recorded from {spec}")
    return out


# ---------------------------------------------------------------------------- baseline
def cmd_baseline(args: argparse.Namespace) -> int:
    from desktop.baseline.model import MachineBaseline, fit_sensor_baseline, snapshot_windows
    from desktop.baseline.store import BaselineStore
    from desktop.diagnosis.profiles import ProfileStore

    prof = ProfileStore().load(args.name)
    if args.source is not None and args.files:
        raise AnalysisError("give FILES or --source S --minutes M, not both")
    if args.source is not None:
        if args.minutes is None:
            raise AnalysisError("--source needs --minutes M (how long to learn)")
        files = [record_minutes(args.source, args.minutes, args.rate)]
    elif not args.files:
        raise AnalysisError("give the healthy snapshots: FILE, DIR or GLOB (or --source S "
                            "--minutes M)")
    else:
        files = expand_inputs(args.files)
    per_sensor: dict[str, tuple[Any, list[Any], float, float]] = {}
    for path in files:
        rec, scalars = _read_file(path, args.rate)
        fs = rec.effective_rate()
        if not fs:
            raise AnalysisError(f"{path.name} does not say its sample rate: give --rate HZ")
        rpm = _file_rpm(rec, scalars, prof)
        for idx, setup in _setups(prof, args.channel, [c.name for c in rec.channels],
                                  [c.unit for c in rec.channels]):
            x, f = _resampled(_channel(rec, idx), fs, args.resample)
            windows = snapshot_windows(x, f, max_windows=BASELINE_WINDOWS)
            setup0, inds, f0, seconds = per_sensor.get(setup.sensor, (setup, [], f, 0.0))
            if abs(f0 - f) > 1e-6 * f:
                raise AnalysisError(f"{path.name} is at {f:g} Hz, the other files at "
                                    f"{f0:g} Hz: give --resample HZ")
            inds.extend(setup.indicators(w, f, rpm) for w in windows)
            seconds += sum(w.shape[0] for w in windows) / f
            per_sensor[setup.sensor] = (setup0, inds, f0, seconds)
    machine = MachineBaseline(prof.name, {})
    for name, (setup, inds, f, seconds) in per_sensor.items():
        machine.sensors[name] = fit_sensor_baseline(name, setup.unit, f, inds, seconds)
    if args.source is not None:
        files[0].unlink(missing_ok=True)  # the temporary recording has served
    store = BaselineStore()
    old = store.load(prof.name) if store.exists(prof.name) else MachineBaseline(prof.name, {})
    old.sensors.update(machine.sensors)
    path = store.save(old)
    doc = {"machine": prof.name, "path": str(path), "files": len(files),
           "sensors": {k: v.to_json() for k, v in machine.sensors.items()}}
    if args.json:
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    print(f"machine:  {prof.name}   baseline: {path}")
    for name, sb in machine.sensors.items():
        print(f"sensor {name}: {sb.snapshots} snapshots, {sb.seconds:.1f} s at {sb.rate:g} Hz"
              + ("  (THIN)" if sb.thin else ""))
        for note in sb.notes:
            print(f"  note: {note}")
        print(f"  {'indicator':14s} {'centre':>10} {'alert':>10} {'alarm':>10} {'spread':>7}")
        for k, lim in sb.limits.items():
            print(f"  {k:14s} {lim.centre:10.4g} {lim.alert:10.4g} {lim.alarm:10.4g} "
                  f"{lim.spread:7.3f}")
    return EXIT_OK


# ---------------------------------------------------------------------------- trend
def _median_indicators(inds: list[Any]) -> Any:
    """One file's indicators: per name the median over its windows; the lines, rpm and
    location of the window with the largest envelope level."""
    from desktop.baseline.indicators import Indicators

    if len(inds) == 1:
        return inds[0]
    names = set.intersection(*(set(i.values) for i in inds))
    values = {k: float(np.median([i.values[k] for i in inds])) for k in sorted(names)}
    best = max(inds, key=lambda i: max((v for k, v in i.values.items()
                                        if k.startswith("env_")), default=0.0))
    return Indicators(values, best.zone, best.lines, best.rpm, best.location)


def machine_trend(args: argparse.Namespace) -> int:
    """``trend FILES --machine NAME``: one row per file per sensor (module docstring)."""
    from desktop.baseline.model import snapshot_windows
    from desktop.baseline.monitor import SensorMonitor
    from desktop.baseline.snapshots import order_snapshots, snapshot_time
    from desktop.baseline.store import BaselineStore
    from desktop.diagnosis.profiles import ProfileStore

    prof = ProfileStore().load(args.machine)
    base = BaselineStore().load(args.machine)
    files = expand_inputs(args.file)
    recs = {}
    times = []
    for path in files:
        rec, scalars = _read_file(path, args.rate)
        recs[path] = (rec, scalars)
        times.append(snapshot_time(path, rec.start_time))
    monitors: dict[str, SensorMonitor] = {}
    rows: list[dict[str, Any]] = []
    channels = [args.channel] if isinstance(args.channel, str) else args.channel
    for st in order_snapshots(times):
        rec, scalars = recs.pop(st.path)
        fs = rec.effective_rate()
        if not fs:
            raise AnalysisError(f"{st.path.name} does not say its sample rate: give --rate HZ")
        rpm = _file_rpm(rec, scalars, prof)
        for idx, setup in _setups(prof, channels, [c.name for c in rec.channels],
                                  [c.unit for c in rec.channels]):
            sb = base.sensors.get(setup.sensor)
            if sb is None:
                raise AnalysisError(f"machine '{prof.name}' has no baseline for sensor "
                                    f"{setup.sensor}; learn it with linewatch baseline")
            mon = monitors.setdefault(setup.sensor, SensorMonitor(setup, sb))
            x, f = _resampled(_channel(rec, idx), fs, sb.rate)
            inds = [setup.indicators(w, f, rpm)
                    for w in snapshot_windows(x, f, max_windows=TREND_WINDOWS)]
            row = mon.feed_indicators(_median_indicators(inds), st.label())
            j = row.judgement
            rows.append({"file": str(st.path), "time": st.label(), "time_source": st.source,
                         "sensor": setup.sensor, "level": j.level, "state": row.state,
                         "state_location": mon.latch.location or None,
                         "location": j.location, "anomaly": round(j.anomaly, 4),
                         "zone": j.zone, "indicators": j.indicators, "evidence": j.evidence,
                         "event": row.event.to_json() if row.event else None})
    if args.out:
        _write_parquet(Path(args.out).expanduser(), rows)
    if args.json:
        print(json.dumps({"machine": prof.name, "rows": rows}), flush=True)
        return EXIT_OK
    print(f"machine: {prof.name}   {len(files)} files, {len(monitors)} sensor(s)")
    print(f"  {'time':19s} {'file':24s} {'sensor':12s} {'level':6s} {'state':6s} "
          f"{'location':11s} {'anomaly':>7}  worst")
    for r in rows:
        worst = max(r["indicators"].items(), key=lambda kv: kv[1]["value"] / kv[1]["alert"],
                    default=("-", {}))[0]
        print(f"  {r['time']:19s} {Path(r['file']).name[-24:]:24s} {r['sensor'][:12]:12s} "
              f"{r['level']:6s} {r['state']:6s} {r['location']:11s} {r['anomaly']:7.2f}  "
              f"{worst}")
    for r in rows:
        if r["event"]:
            e = r["event"]
            print(f"{e['level'].upper()} {e['time']} sensor {e['sensor']}: {e['indicator']} "
                  f"over its limit; location {e['location']}")
    return EXIT_OK


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    """The trend rows as a flat Parquet table: one column per indicator value and its
    ``_alert``/``_alarm`` limits; evidence and event as JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = sorted({k for r in rows for k in r["indicators"]})
    cols: dict[str, list[Any]] = {k: [r[k] for r in rows] for k in
                                  ("file", "time", "time_source", "sensor", "level", "state",
                                   "location", "anomaly", "zone")}
    for n in names:
        for part in ("value", "alert", "alarm"):
            key = n if part == "value" else f"{n}_{part}"
            cols[key] = [r["indicators"].get(n, {}).get(part) for r in rows]
    cols["evidence"] = [json.dumps(r["evidence"]) for r in rows]
    cols["event"] = [json.dumps(r["event"]) if r["event"] else None for r in rows]
    try:
        pq.write_table(pa.table(cols), path)
    except OSError as exc:
        raise AnalysisError(f"cannot write {path}: {exc}") from None


def add_baseline_commands(subparsers: Any) -> None:
    """Register ``baseline`` and give ``trend`` its ``--machine`` mode."""
    b = subparsers.add_parser(
        "baseline", help="learn a machine's healthy baseline and alert/alarm limits",
        description="Condition indicators (acceleration and velocity RMS, peak, crest "
                    "factor, kurtosis, band RMS, envelope level at each bearing fault "
                    "frequency) of healthy snapshots (each file, or each second of a longer "
                    "one; at least 3) and their alert/alarm limits, stored with the machine "
                    "profile. Fewer than 30 snapshots make a thin baseline.")
    b.add_argument("name", metavar="NAME", help="the machine profile (linewatch machine add)")
    b.add_argument("files", nargs="*", metavar="FILE|DIR|GLOB",
                   help="healthy snapshots (files, folders, glob patterns)")
    b.add_argument("--source", default=None, metavar="S",
                   help="learn from a live source instead (serial:PORT, replay:FILE, demo, "
                        "synth:...; as linewatch record)")
    b.add_argument("--minutes", type=_positive, default=None, metavar="M",
                   help="with --source: minutes of signal to learn from")
    b.add_argument("--rate", type=_positive, default=None,
                   help="sample rate in Hz, when the files (or the source's lines) do not say")
    b.add_argument("--resample", type=_positive, default=None, metavar="HZ",
                   help="resample faster files down to HZ first (the rate you will judge at)")
    b.add_argument("--channel", action="append", default=None, metavar="C",
                   help="a sensor channel (repeat; default: the profile's sensors)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=_guard(cmd_baseline))
    t = subparsers.choices.get("trend")
    if t is not None:
        t.set_defaults(machine_trend=_guard(machine_trend))
