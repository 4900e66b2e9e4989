"""``linewatch calibrate``: a fault model's batch-norm statistics re-estimated from a
machine's unlabelled running data (one recording, a live source, or route snapshots),
published as a new version (:func:`desktop.ml.training.calibrate.calibrate`)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from desktop.cli.common import promote_and_print_json
from desktop.core.errors import LinewatchError, SourceError, UsageError
from desktop.ml.backend import require_torch


def add_commands(subparsers: Any) -> None:
    """Register ``calibrate``."""
    c = subparsers.add_parser(
        "calibrate", help="adapt a fault model's normalisation to a new machine from "
                          "unlabelled running data (AdaBN); publishes a new version",
        description="Re-estimates the batch-norm statistics of a fault model from unlabelled "
                    "data of the machine it will watch, and publishes the result as a new "
                    "version of NAME (promote/rollback as for fine-tuned models). The data "
                    "should cover the machine's usual conditions (loads, speeds): statistics "
                    "from one condition alone can harm the model (docs/finetune.md).")
    c.add_argument("file", type=Path, nargs="*", default=None, metavar="FILE|DIR|GLOB",
                   help="recording of the machine running (.csv, .parquet, .mat); or route "
                        "snapshots (several files, a folder, a quoted 'GLOB'; each at least "
                        "0.5 s), whose windows count together")
    c.add_argument("--model", default=None, help="model to calibrate (default: fault-cwru)")
    c.add_argument("--source", default=None,
                   help="record from a live source instead of a file (as `linewatch record "
                        "--source`)")
    c.add_argument("--seconds", type=float, default=None,
                   help="with --source: seconds of signal to record (default 30); a FILE is "
                        "used whole")
    c.add_argument("--name", default=None,
                   help="model to publish the version under (default: the model's own name "
                        "for a user model, <model>-calibrated for a shipped one)")
    c.add_argument("--channel", default=None, help="channel name, or part of it")
    c.add_argument("--rate", type=float, default=None, help="sample rate, when not stated")
    c.add_argument("--layers", choices=("all", "first"), default="all",
                   help="batch norms to re-estimate: all (default) or the first only")
    c.add_argument("--promote", action="store_true", help="make the new version active")
    c.add_argument("--force", action="store_true", help="accept a rate outside the domain")
    c.add_argument("--json", action="store_true", help="print one JSON document")
    c.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``linewatch calibrate --model M FILE|--source S --seconds N``."""
    import subprocess
    import tempfile

    from desktop.analysis.channels import pick_channel
    from desktop.core.errors import InputError
    from desktop.ml.inference.open_set import check_rate
    from desktop.ml.model_files.registry import DEFAULT_FAULT_MODEL, resolve
    from desktop.recording.readers import read_recording

    require_torch("linewatch calibrate")
    from desktop.ml.training.calibrate import calibrate

    snapshots = _calibration_snapshots(args)  # several files: route snapshots
    if (args.file is None) == (args.source is None):
        raise InputError("linewatch calibrate needs a recording FILE or --source S (one of them)")
    if args.rate is not None and not args.rate > 0:
        raise InputError(f"--rate must be positive, got {args.rate}")
    if snapshots is None and args.file is not None and args.seconds is not None:
        print(f"linewatch: note: --seconds is for --source; all of {Path(args.file).name} "
              f"is used (cut the file to use less)", file=sys.stderr)
    if args.seconds is None:
        args.seconds = 30.0
    entry = resolve(args.model or DEFAULT_FAULT_MODEL)
    assert entry.card is not None
    card = entry.card
    if snapshots is not None:
        return _calibrate_snapshots(args, entry, snapshots)
    with tempfile.TemporaryDirectory(prefix="linewatch-calibrate-") as tmp:
        path = args.file
        if args.source is not None:
            if not args.seconds > 0:
                raise InputError("--seconds must be positive")
            path = Path(tmp) / "calibration.parquet"
            cmd = [sys.executable, "-m", "desktop", "record", "--source", args.source,
                   "--seconds", str(args.seconds), "--out", str(path), "--speed", "max"
                   if args.source.startswith(("replay:", "demo", "synth:")) else "1"]
            if args.rate is not None:
                cmd += ["--rate", str(args.rate)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0 or not path.exists():
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                last = last.removeprefix("linewatch: ")  # main() prefixes it once
                # record's exit 2 (a bad --source) stays exit 2 here
                error = SourceError if done.returncode == 2 else InputError
                raise error(f"recording from {args.source} failed: {last}")
        rec = read_recording(path, args.rate)
        idx, reason = pick_channel([c.name for c in rec.channels], args.channel,
                                   card.input_channels)
        print(f"linewatch: channel {rec.channels[idx].name}: {reason}", file=sys.stderr)
        rate = rec.effective_rate()
        if not rate:
            raise InputError(f"{path} does not say its sample rate: give --rate HZ")
        refusal = check_rate(card.domain, rate, card.name)
        if refusal and not args.force:
            raise InputError(refusal)
        name = args.name or (entry.name if not entry.shipped else f"{entry.name}-calibrated")
        source = str(args.file) if args.file is not None else f"{args.source} ({args.seconds:g} s)"
        result = calibrate(entry, rec.values[:, idx], rate, name, layers=args.layers,
                           source=source, channel=rec.channels[idx].name,
                           command=shlex.join(["linewatch", "calibrate", *sys.argv[2:]]))
    return _report(args, name, result, f"{result['seconds_of_signal']:.1f} s")


def _calibration_snapshots(args: argparse.Namespace) -> list[Path] | None:
    """``calibrate`` inputs: None for the one-file (or ``--source``) form, with
    ``args.file`` set to that file or None; else the route snapshots' files. A first
    word that is no file but a model name stands for ``--model`` (``calibrate
    fault-cwru a.mat b.mat``)."""
    from desktop.ml.inference.batch import expand_inputs, looks_like_batch
    from desktop.ml.model_files.registry import resolve

    files = list(args.file or [])
    if files and args.model is None and not files[0].exists() and len(files) > 1 \
            and not set("*?[") & set(str(files[0])):
        try:
            resolve(str(files[0]))
        except LinewatchError:
            pass
        else:
            args.model, files = str(files[0]), files[1:]
    if not files or (len(files) == 1 and not looks_like_batch(files)):
        args.file = files[0] if files else None
        return None
    if args.source is not None:
        raise UsageError("give recordings or --source S, not both")
    return expand_inputs(files)


def _calibrate_snapshots(args: argparse.Namespace, entry: Any, files: list[Path]) -> int:
    """``calibrate`` over route snapshots: each file's channel is one snapshot (at least
    0.5 s), all at one rate; their windows count together
    (:func:`desktop.ml.training.calibrate.calibrate`)."""
    import numpy as np

    from desktop.analysis.channels import pick_channel
    from desktop.core.errors import InputError
    from desktop.ml.inference.open_set import check_rate
    from desktop.ml.training.calibrate import calibrate
    from desktop.recording.readers import read_recording

    card = entry.card
    parts: list[Any] = []
    rate = 0.0
    channel = ""
    for path in files:
        rec = read_recording(path, args.rate)
        idx, reason = pick_channel([c.name for c in rec.channels], args.channel,
                                   card.input_channels)
        fs = float(rec.effective_rate() or 0)
        if not fs:
            raise InputError(f"{path} does not say its sample rate: give --rate HZ")
        if rate and abs(fs - rate) > 1e-6 * rate:
            raise InputError(f"{path.name} is at {fs:g} Hz, the other snapshots at {rate:g} "
                             f"Hz: calibrate snapshots of one rate together")
        x = np.asarray(rec.values[:, idx], dtype=np.float64)
        if np.isfinite(x).sum() < 0.5 * fs:
            raise InputError(f"{path.name}: a snapshot needs at least 0.5 s of signal; got "
                             f"{np.isfinite(x).sum() / fs:.2f} s")
        if not parts:
            print(f"linewatch: channel {rec.channels[idx].name}: {reason}", file=sys.stderr)
        rate, channel = fs, rec.channels[idx].name
        parts.append(x)
    refusal = check_rate(card.domain, rate, card.name)
    if refusal and not args.force:
        raise InputError(refusal)
    name = args.name or (entry.name if not entry.shipped else f"{entry.name}-calibrated")
    source = f"{len(files)} snapshots ({files[0].name} … {files[-1].name})"
    result = calibrate(entry, parts, rate, name, layers=args.layers, source=source,
                       channel=channel,
                       command=shlex.join(["linewatch", "calibrate", *sys.argv[2:]]))
    return _report(args, name, result, f"{result['seconds_of_signal']:.1f} s in "
                                       f"{result['snapshots']} snapshots")


def _report(args: Any, name: str, result: dict[str, Any], span: str) -> int:
    """What both calibrations print (or the JSON, and the promotion): the version written,
    the windows it learnt from (``span``: how much signal), its notes, how to use it."""
    if promote_and_print_json(args, name, result["version"], result):
        return 0
    print(f"wrote {result['folder']} ({name} v{result['version']}, parent {result['parent']}): "
          f"batch-norm statistics ({args.layers}) from {result['windows']} windows ({span})")
    for note in result["notes"]:
        print(f"note: {note}")
    print(f"use it: linewatch predict FILE --model {name}@{result['version']}"
          + ("" if args.promote else f"; make it active: linewatch models promote {name} "
             f"--version {result['version']}"))
    return 0
