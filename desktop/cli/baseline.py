"""``linewatch baseline NAME FILES…`` and ``linewatch trend FILES --machine NAME``: learn
a machine's healthy baseline from its own snapshots, then judge a route's snapshots
against it.

The work is :func:`desktop.baseline.learn.learn_baseline` and
:func:`desktop.baseline.learn.route_trend` (shared with the window's Learn baseline… and
Route trend…): files through :func:`desktop.recording.readers.read_recording`, the
sensors, their bearings, unit, speed and ISO class from the machine profile
(:mod:`desktop.diagnosis.profiles`). A problem the user can fix is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from desktop.analysis.errors import AnalysisError
from desktop.cli.common import EXIT_OK, guard, note, positive

#: Windows judged per trend file (evenly spread) and learnt per baseline file.
TREND_WINDOWS = 10
BASELINE_WINDOWS = 600


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
    from desktop.baseline.learn import expand_inputs, learn_baseline
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
    adabn = _adabn(args)  # an unknown or non-fault model: refused before any work
    try:  # the one learning path, shared with the window's "Learn baseline…"
        result = learn_baseline(prof.name, files, rate=args.rate, channels=args.channel,
                                resample=args.resample, max_windows=BASELINE_WINDOWS,
                                adabn=adabn)
    finally:
        if args.source is not None:
            files[0].unlink(missing_ok=True)  # the temporary recording has served
    for text in result.notes:
        note(text)
    machine, path = result, result.path
    doc = result.to_json()
    if args.json:
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    print(f"machine:  {prof.name}   baseline: {path}")
    for name, sb in machine.sensors.items():
        print(f"sensor {name}: {sb.snapshots} snapshots, {sb.seconds:.1f} s at {sb.rate:g} Hz"
              + ("  (THIN)" if sb.thin else ""))
        for text in sb.notes:
            print(f"  note: {text}")
        print(f"  {'indicator':14s} {'centre':>10} {'alert':>10} {'alarm':>10} {'spread':>7}")
        for k, lim in sb.limits.items():
            print(f"  {k:14s} {lim.centre:10.4g} {lim.alert:10.4g} {lim.alarm:10.4g} "
                  f"{lim.spread:7.3f}")
        if args.adabn:
            print(f"  {adabn_line(args.adabn, sb.adabn, sb.notes)}")
    return EXIT_OK


def _adabn(args: argparse.Namespace) -> Any:
    """``--adabn MODEL``: :func:`~desktop.ml.training.machine_adabn.machine_statistics`
    bound to the model and ``--adabn-layers`` (torch loads only when it runs), or None.
    An unknown model or one that is not a fault classifier: :class:`AnalysisError`."""
    if not args.adabn:
        return None
    import functools

    from desktop.core.errors import LinewatchError
    from desktop.ml.backend import require_torch
    from desktop.ml.model_files.registry import resolve

    try:
        entry = resolve(args.adabn)
    except LinewatchError as exc:
        raise AnalysisError(f"--adabn: {exc}") from None
    if entry.card is None or entry.card.kind != "fault":
        raise AnalysisError(f"--adabn {args.adabn}: not a fault classifier (only those have "
                            "batch-norm statistics); name a fault model, e.g. fault-cwru")
    require_torch("baseline --adabn")
    from desktop.ml.training.machine_adabn import machine_statistics

    return functools.partial(machine_statistics, args.adabn, layers=args.adabn_layers)


def adabn_line(model: str, learnt: dict[str, dict[str, Any]], notes: list[str]) -> str:
    """One line on what ``baseline --adabn`` left for a sensor: stored and used, stored but
    refused (its healthy check), or not learnt (the note says why)."""
    for name, entry in learnt.items():
        if entry.get("usable") is False:
            return f"AdaBN {name}: stored, not used ({entry.get('note')})"
        return (f"AdaBN {name}: stored, used with --machine ({entry.get('windows')} windows "
                f"from {entry.get('snapshots')} snapshots, layers {entry.get('layers')})")
    why = next((n for n in notes if n.startswith("no AdaBN statistics")), "not learnt")
    return f"AdaBN {model}: refused ({why})"


# ---------------------------------------------------------------------------- trend
def machine_trend(args: argparse.Namespace) -> int:
    """``trend FILES --machine NAME``: one row per file per sensor (module docstring)."""
    from desktop.baseline.learn import expand_inputs, route_trend
    from desktop.cli.rules_option import (
        events_key,
        log_events,
        print_events,
        read_rules_option,
        run_rules,
    )

    rules = read_rules_option(args)
    channels = [args.channel] if isinstance(args.channel, str) else args.channel
    # the one trend path, shared with the window's "Route trend…"
    result = route_trend(args.machine, expand_inputs(args.file), rate=args.rate,
                         channels=channels, max_windows=TREND_WINDOWS)
    rows, files, monitors = result.rows, result.files, result.sensors
    # each row's sensor is its channel; the rows of several files go to the log as one
    check = run_rules(rules, rows, "") if rules is not None else None
    if args.out:
        _write_parquet(Path(args.out).expanduser(), rows)
    if check is not None:
        log_events(args, check, f"trend --machine {result.machine}", "trend")
    if args.json:
        doc: dict[str, Any] = {"machine": result.machine, "rows": rows}
        if check is not None:
            doc[events_key()] = check.events_json()
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    print(f"machine: {result.machine}   {len(files)} files, {len(monitors)} sensor(s)")
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
    if check is not None:
        print_events(check, len(rules or ()), bool(args.write_log))
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


def add_commands(subparsers: Any) -> None:
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
    b.add_argument("--minutes", type=positive, default=None, metavar="M",
                   help="with --source: minutes of signal to learn from")
    b.add_argument("--rate", type=positive, default=None,
                   help="sample rate in Hz, when the files (or the source's lines) do not say")
    b.add_argument("--resample", type=positive, default=None, metavar="HZ",
                   help="resample faster files down to HZ first (the rate you will judge at)")
    b.add_argument("--channel", action="append", default=None, metavar="C",
                   help="a sensor channel (repeat; default: the profile's sensors)")
    b.add_argument("--adabn", default=None, metavar="MODEL",
                   help="also learn fault model MODEL's batch-norm statistics (AdaBN) and "
                        "open-set thresholds on these snapshots; predict --machine NAME uses "
                        "them when they pass a check on the healthy windows (needs torch)")
    b.add_argument("--adabn-layers", choices=("all", "first"), default="all",
                   help="with --adabn: re-estimate every batch norm (default) or the first "
                        "only")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=guard(cmd_baseline))
    t = subparsers.choices.get("trend")
    if t is not None:
        t.set_defaults(machine_trend=guard(machine_trend))
