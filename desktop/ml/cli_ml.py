"""``linewatch predict``, ``linewatch train`` and ``linewatch models list|promote|rollback|remove``.

``linewatch train`` has two forms: ``--recipe`` reproduces a shipped model from the CWRU
data; ``--base NAME --labels labels.csv --name NEW`` fine-tunes a model on the user's own
labelled events (:func:`desktop.ml.training.finetune.finetune`) and publishes a new version
of NEW.

:func:`add_ml_commands` adds the subcommands to the main parser in ``desktop/cli.py``.
Nothing here imports torch at module level: ``linewatch --help`` and the other commands
must start quickly, so torch (and the rest of the model layer) loads inside the commands.
User problems are raised as :class:`~desktop.core.errors.LinewatchError` subclasses; the
main CLI prints them as one line.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.errors import LinewatchError, UsageError
from desktop.ml.backend import require_torch
from desktop.ml.constants import (
    DEFAULT_EPOCHS,
    DEFAULT_MODE,
    DEFAULT_REPLAY,
    MODES,
    UNCHECKED_NOTE,
)
from desktop.ml.inference.batch import add_batch_arguments

if TYPE_CHECKING:
    from desktop.core.tasks import TaskState

RECIPES = ("fault-cwru", "anomaly-cwru")


def add_ml_commands(subparsers: Any) -> None:
    """Register ``predict``, ``train`` and ``models`` on an argparse subparsers object."""
    p = subparsers.add_parser("predict", help="run a model over recordings or a table",
                              description="Per-window verdicts of a model for one channel of "
                                          "a CSV, Parquet or MATLAB .mat file; for a folder, "
                                          "a quoted 'GLOB' or several files, one --out table "
                                          "judged on Dask workers. For a table model "
                                          "(quality-steel, process-tep): one verdict per row "
                                          "of a CSV whose columns are the model's.")
    p.add_argument("file", type=Path, nargs="+", metavar="FILE",
                   help="recording: .csv, .parquet or .mat (v5 or v7.3); or a folder, a "
                        "quoted 'GLOB', several files (with --out); a table for a table model")
    p.add_argument("--model", default=None,
                   help="model name (see `linewatch models list`) or folder "
                        "(default: fault-cwru)")
    p.add_argument("--channel", default=None,
                   help="channel name, or part of it (DE_time matches X105_DE_time); default: "
                        "the model's channel hint, else the first channel")
    p.add_argument("--rate", type=float, default=None,
                   help="sample rate of the file in Hz, when the file does not say")
    p.add_argument("--decimal", choices=(".", ","), default=None,
                   help="decimal mark of a text file: '.' or ',' (default: detected)")
    p.add_argument("--hop", type=int, default=None,
                   help="samples (at the model's rate) between window starts "
                        "(default: the model's hop)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for the model (torch and BLAS/OpenMP) per process or "
                        "worker; default 1: the models are small, and on a busy PC more "
                        "threads fight each other and other programs (torch's default, a "
                        "thread per core, ran 3-8x slower on a loaded 2-core PC); raise it on "
                        "an idle machine with cores to spare")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    add_batch_arguments(p)
    p.add_argument("--force", action="store_true",
                   help="judge input outside the model's domain (a sample rate too low for "
                        "the band it uses) instead of refusing it")
    p.add_argument("--explain", action="store_true",
                   help="fault models: add where in each window (saliency_peak_s) and in "
                        "which frequency bands (top_bands_hz) the verdict came from")
    p.add_argument("--machine", default=None, metavar="NAME",
                   help="the machine profile: with a learnt baseline (`linewatch baseline "
                        "NAME FILES`) each row also gets level, evidence_location and "
                        "indicators against its limits (docs/baseline.md); for --model "
                        "diagnosis it also gives the bearing (and "
                        "the speed, else the file's RPM or the spectrum): `linewatch machine "
                        "add NAME --bearing B`")
    p.add_argument("--target-accuracy", type=float, default=None, metavar="P",
                   help="quality models: accuracy wanted on accepted parts (0-1); the reject "
                        "threshold is re-chosen for it (default: the model's own, 0.95)")
    p.set_defaults(func=cmd_predict)

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

    t = subparsers.add_parser("train", help="fine-tune a model on labels, or reproduce a "
                                            "shipped model",
                              description="Fine-tune: `--base fault-cwru --labels labels.csv "
                                          "--name my-rig` publishes a new version of my-rig. "
                                          "Process monitor: `--normal normal.csv --name "
                                          "my-unit [--base process-tep]` fits one on normal "
                                          "running data. "
                                          "Recipe: `--recipe fault-cwru --data DIR --out "
                                          "models/fault-cwru` reproduces the shipped model.")
    t.add_argument("--recipe", choices=RECIPES, default=None, help="what to train (recipe form)")
    t.add_argument("--data", type=Path, default=None, help="folder of CWRU .mat files (recipe)")
    t.add_argument("--base", default=None, help="fine-tune: model name or folder to start from")
    t.add_argument("--labels", type=Path, default=None,
                   help="fine-tune: label file, .csv (recording,start_s,end_s,label,channel,"
                        "note) or .json; relative recording paths are relative to its folder; "
                        "for a quality model a parts CSV (its columns + label)")
    t.add_argument("--name", default=None, help="fine-tune / --normal: name of the new model")
    t.add_argument("--normal", type=Path, nargs="+", default=None, metavar="FILE",
                   help="process monitor: fit one on these tables of normal running data "
                        "(rows in time order, one column per process variable); with --base "
                        "MODEL, refit that process model's limits on them")
    t.add_argument("--mode", choices=MODES, default=None,
                   help="fine-tune: which weights learn (default: full)")
    t.add_argument("--rate", type=float, default=None,
                   help="fine-tune: sample rate of recordings that do not state one")
    t.add_argument("--val-fraction", type=float, default=0.25,
                   help="fine-tune: share of labelled events held out (default 0.25)")
    t.add_argument("--replay", type=float, default=None,
                   help="fine-tune: share of each batch from the base model's replay data "
                        f"(default {DEFAULT_REPLAY}; 0 turns it off)")
    t.add_argument("--replay-data", type=Path, default=None, metavar="DIR",
                   help="fine-tune: folder holding the base model's original training "
                        "recordings (default: the replay set shipped beside its weights)")
    t.add_argument("--augment", action="store_true",
                   help="fine-tune: kept for old scripts; augmentation is now the default")
    t.add_argument("--no-augment", action="store_true",
                   help="fine-tune: no speed (±4 %%), filter (±12 dB) and noise augmentation "
                        "of the labelled windows (docs/finetune.md)")
    t.add_argument("--no-envelope", action="store_true",
                   help="fine-tune (full mode): do not grow the envelope-spectrum branch; "
                        "the result keeps the base architecture")
    t.add_argument("--map-classes", default=None, metavar="LABEL=CLASS,...",
                   help="fine-tune: labels that mean a base class, e.g. healthy=normal,"
                        "inner=inner_007 (a label that means one base class is mapped "
                        "without it; one that means several is refused until mapped; "
                        "LABEL=LABEL keeps it as a new class)")
    t.add_argument("--promote", action="store_true",
                   help="fine-tune: make the new version active right away (not when it "
                        "lost accuracy on the base classes: then `models promote --yes`)")
    t.add_argument("--target-accuracy", type=float, default=None, metavar="P",
                   help="quality fine-tune: accuracy wanted on accepted parts (0-1) the new "
                        "reject threshold is chosen for (default: the base's, else 0.95)")
    t.add_argument("--json", action="store_true", help="fine-tune: print one JSON document")
    t.add_argument("--out", type=Path, default=None,
                   help="model folder to write (default: <user data>/models/<recipe>)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    t.add_argument("--epochs", type=int, default=None,
                   help="override the recipe's epochs (fine-tune: at most this many, default 30)")
    t.add_argument("--seed", type=int, default=None, help="override the recipe's seed")
    t.add_argument("--loads", type=int, nargs="+", default=[0, 1],
                   help="motor loads (hp) to train the final model on (default: 0 1)")
    t.add_argument("--skip-cross-load", action="store_true",
                   help="fault-cwru: skip the 0→1 / 1→0 hp checks stored in the card")
    t.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    t.add_argument("--quiet", action="store_true", help="no progress on stderr")
    t.set_defaults(func=cmd_train)

    m = subparsers.add_parser("models", help="list shipped and user models, manage versions")
    msub = m.add_subparsers(dest="models_command", metavar="ACTION")
    ml = msub.add_parser("list", help="list models (shipped first, then the user's)")
    ml.add_argument("--json", action="store_true", help="print one JSON document")
    ml.set_defaults(func=cmd_models_list)
    mp = msub.add_parser("promote", help="make a version of a user model the active one")
    mp.add_argument("name")
    mp.add_argument("--version", type=int, default=None, help="version (default: the latest)")
    mp.add_argument("--live", action="store_true", help="also use it in the live window")
    mp.add_argument("--yes", action="store_true",
                    help="promote without asking, even a version that lost accuracy on its "
                         "base model's classes")
    mp.set_defaults(func=cmd_models_promote)
    mr = msub.add_parser("rollback", help="go back to the previously active version")
    mr.add_argument("name")
    mr.set_defaults(func=cmd_models_rollback)
    mx = msub.add_parser("remove", help="delete one version (not the active one), or a whole "
                                        "user model with --yes")
    mx.add_argument("name")
    mx.add_argument("--version", type=int, default=None,
                    help="the version to delete (default: the whole model, every version)")
    mx.add_argument("--yes", action="store_true",
                    help="confirm removing a whole model (without it: show what would go)")
    mx.set_defaults(func=cmd_models_remove)
    m.set_defaults(func=cmd_models_list, json=False)


# ---------------------------------------------------------------------------- predict
def cmd_predict(args: argparse.Namespace) -> int:
    from desktop.analysis.channels import pick_channel
    from desktop.baseline.rows import level_cell
    from desktop.core.errors import InputError
    from desktop.ml.inference.batch import looks_like_batch, run_predict_batch
    from desktop.ml.inference.open_set import check_rate
    from desktop.ml.inference.predictors import load_predictor, summarize
    from desktop.ml.model_files.registry import DEFAULT_FAULT_MODEL, resolve
    from desktop.recording.readers import read_recording

    if args.explain:
        require_torch("predict --explain")
    if args.model is not None and not str(args.model).strip():
        raise UsageError(f"--model needs a name or a folder (default: {DEFAULT_FAULT_MODEL})")
    if args.channel is not None and not str(args.channel).strip():
        raise UsageError("--channel needs a channel name")
    if args.model is None and len(args.file) == 1 and not looks_like_batch(args.file):
        fits = fitting_table_model(args.file[0])
        if fits is not None:  # a table, not a signal: say which model reads it
            raise UsageError(f"{args.file[0]} is a table whose columns fit the table model "
                             f"'{fits}': run `linewatch predict {args.file[0]} --model "
                             f"{fits}` (without --model, predict runs the signal model "
                             f"{DEFAULT_FAULT_MODEL})")
    entry = resolve(args.model or DEFAULT_FAULT_MODEL)
    if entry.tabular:  # quality / process: a table, one verdict per row
        from desktop.ml.cli_tabular import cmd_predict_table

        if args.out is not None or looks_like_batch(args.file):
            raise InputError(f"'{entry.name}' is a table model: give it one table file "
                             f"(folders, patterns and --out are for signal models)")
        args.file = args.file[0]
        return cmd_predict_table(args, entry)
    if args.hop is not None and args.hop < 1:
        raise UsageError(f"--hop must be at least 1 sample, got {args.hop}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    if args.out is not None or looks_like_batch(args.file):
        if getattr(args, "machine", None) and entry.card is not None \
                and entry.card.kind == "diagnosis":  # the workers get the machine's bearing
            args.model = f"diagnosis:{args.machine}"
        elif getattr(args, "machine", None):  # not carried into the batch table (yet)
            print(f"linewatch: note: --machine {args.machine} is not used for folders, "
                  f"patterns or --out; judge each file alone, or use linewatch trend DIR "
                  f"--machine {args.machine}", file=sys.stderr)
        return run_predict_batch(args)
    args.file = args.file[0]
    if args.rate is not None and not args.rate > 0:
        raise UsageError(f"--rate must be positive, got {args.rate}")
    machine = getattr(args, "machine", None)
    judged = _machine_rows(machine) if machine else None  # None: no learnt baseline
    # --explain differentiates the torch network; plain predictions take either backend
    predictor = load_predictor(args.model or entry, device=args.device, threads=args.threads,
                               backend="torch" if args.explain else None,
                               options={"machine": machine, "channel": args.channel}
                               if entry.card is not None and entry.card.kind == "diagnosis"
                               else None)
    big = _open_big_text(args)  # a big CSV: read through its cache, never whole
    rec: Any = big if big is not None else read_recording(args.file, args.rate,
                                                          decimal=args.decimal,
                                                          channel=args.channel)
    if rec.effective_rate():  # a rate-free kind (diagnosis) runs at the file's own rate
        predictor = predictor.for_rate(float(rec.effective_rate() or 0))
    predictor = predictor.with_metadata(rec.metadata)
    card = predictor.card
    if rec.metadata.get("rate_note"):
        print(f"linewatch: note: {rec.metadata['rate_note']}", file=sys.stderr)
    idx, reason = pick_channel([c.name for c in rec.channels], args.channel,
                               card.input_channels)
    print(f"linewatch: channel {rec.channels[idx].name}: {reason}", file=sys.stderr)
    rate = rec.effective_rate()
    if not rate:
        raise InputError(f"{args.file} does not say its sample rate: give --rate HZ")
    refusal = check_rate(card.domain, rate, card.name)
    if refusal:
        if not args.force:
            raise InputError(refusal)
        print(f"linewatch: warning: {refusal.split('; --force')[0]} (judged because of "
              f"--force)", file=sys.stderr)
    if big is not None:
        from desktop.ml.inference.big_signal import predict_cached

        verdicts = predict_cached(predictor, big, idx, rate, hop=args.hop)
    else:
        verdicts = predictor.predict_signal(rec.values[:, idx], rate, hop=args.hop)
    if not verdicts and predictor.last_skipped:
        raise InputError(f"{args.file}: channel {rec.channels[idx].name} has no usable signal "
                         f"(all {predictor.last_skipped} windows fall on gaps: empty, NaN or "
                         f"out-of-range samples); pick another channel with --channel")
    summary = summarize(verdicts, card.classes, predictor.last_skipped)
    channel = rec.channels[idx].name
    rows: list[dict[str, Any]] = []
    if judged is not None:  # the baseline's verdict of the 1-s snapshot under each row
        rows, summary["baseline"] = _baseline_rows(
            judged, big.channel(idx) if big is not None else rec.values[:, idx], rate,
            channel, verdicts)
    explained: list[dict[str, Any]] = []
    if args.explain:
        explained = _explain(predictor, big.channel(idx) if big is not None
                             else rec.values[:, idx], rate, verdicts, args.hop)
    if args.json:
        doc = {"model": {"name": card.name, "kind": card.kind, "version": card.version,
                         "folder": str(predictor.folder), "sample_rate": card.sample_rate,
                         "window": card.window, "device": predictor.device},
               "classes": card.classes,
               "windows": [{**v.to_json(), **(explained[i] if explained else {}),
                            **(rows[i] if rows else {})}
                           for i, v in enumerate(verdicts)],
               "summary": {**summary, "file": str(args.file), "channel": channel,
                           "channel_reason": reason, "input_rate": rate,
                           **predictor.info()}}
        print(json.dumps(doc))
        return 0
    print(f"model {card.name} ({card.kind}, {len(card.classes)} classes, "
          f"{card.sample_rate:g} Hz, window {card.window}) on {predictor.device}")
    print(f"input {args.file} channel {channel} at {rate:g} Hz, {rec.samples / rate:.2f} s")
    score_col = card.kind == "anomaly"
    print(f"{'start_s':>9} {'end_s':>9}  {'class':<12} {'prob':>6}  {'location':<11}"
          + ("  score" if score_col else "") + ("  baseline" if rows else ""))
    for i, v in enumerate(verdicts):
        # An `unknown` row: the probability is the best class's, so say whose it is.
        extra = (f"  ({v.reason}; that is the probability of {v.best_class})" if v.reason
                 else "")
        if explained:
            e = explained[i]
            extra += (f"  peak {e['saliency_peak_s']:.3f} s, bands "
                      + ", ".join(f"{lo:g}-{hi:g} Hz" for lo, hi, _ in e["top_bands_hz"]))
        if v.extra and "present" in v.extra:  # diagnosis: the speed and present lines
            extra += (f"  {v.extra.get('rpm') or '-'} r/min  present: "
                      + (", ".join(v.extra["present"]) or "-"))
        if rows:  # the baseline's level (and evidence location when not ok)
            extra = f"  {level_cell(rows[i])}" + extra
        print(f"{v.start_s:9.3f} {v.end_s:9.3f}  {v.label:<12} {v.probability:6.3f}  "
              f"{v.location:<11}" + (f"  {v.score:.2f}" if score_col and v.score is not None
                                     else "") + extra)
    for key, value in predictor.info().items():  # diagnosis: machine, bearing, speed
        print(f"{key}: {value}")
    if rows:
        b = summary["baseline"]
        print(f"baseline: machine {b['machine']} sensor {b['sensor']}"
              f"{' (thin)' if b['thin'] else ''}: whole file {level_cell(b)}, anomaly "
              f"{b['anomaly']:.2f}")
    shares = ", ".join(f"{c} {s:.1%}" for c, s in summary["class_shares"].items() if s > 0)
    print(f"summary: {summary['windows']} windows"
          + (f" ({summary['skipped_windows']} skipped for gaps)" if summary["skipped_windows"]
             else "") + f"; {shares}")
    return 0


def _machine_rows(machine: str) -> Any:
    """``predict --machine``: the machine's learnt baseline ready to judge rows
    (:mod:`desktop.baseline.rows`), or None after a one-line note when it has none."""
    from desktop.analysis.errors import AnalysisError
    from desktop.baseline.rows import machine_rows, no_baseline_note

    try:
        judged = machine_rows(machine)
    except AnalysisError as exc:  # no such machine profile
        raise UsageError(str(exc)) from None
    if judged is None:
        print(no_baseline_note(machine), file=sys.stderr)
    return judged


def _baseline_rows(judged: Any, x: Any, rate: float, channel: str, verdicts: list[Any]
                   ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per verdict the baseline's ``level``, ``evidence_location``, ``indicators`` and
    ``anomaly`` (of the 1-s snapshot holding its centre), and the whole file's."""
    from desktop.analysis.errors import AnalysisError

    try:
        on = judged.channel(x, rate, channel)
        rows = [on.at(v.start_s, v.end_s) for v in verdicts]
        return rows, {"machine": judged.machine, "sensor": on.base.sensor,
                      "thin": on.base.thin, **on.span()}
    except AnalysisError as exc:  # no baseline sensor on this channel, too short
        raise UsageError(str(exc)) from None


def _open_big_text(args: argparse.Namespace) -> Any:
    """``args.file`` read through the file view's cache when it is a big text file, else
    None. ``desktop.cli`` hands the opener in (``args.open_big_text``: the ml layer does
    not import the file view); without it, every file is read whole."""
    opener = getattr(args, "open_big_text", None)
    return opener(args.file, args.rate, args.decimal) if opener is not None else None


TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")


def fitting_table_model(file: str) -> str | None:
    """The table model (quality/process) whose every input column the header of the text
    table ``file`` names — the one naming the most columns when several do — or None.
    Reads the first 64 kB only."""
    import re

    from desktop.ml.model_files.registry import list_models

    path = Path(file).expanduser()
    if path.suffix.lower() not in TABLE_SUFFIXES or not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return None
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip()
    sep = next((c for c in (",", ";", "\t") if c in first), None)
    cells = first.split(sep) if sep else re.split(r"\s+", first)
    names = {c.strip().strip('"').strip().lower() for c in cells if c.strip()}
    best: tuple[int, str] | None = None
    for entry in list_models():
        if not entry.tabular or entry.card is None:
            continue
        wanted = {c.strip().lower() for c in entry.card.input_columns}
        if wanted and wanted <= names and (best is None or len(wanted) > best[0]):
            best = (len(wanted), entry.name)
    return best[1] if best else None


def _explain(predictor: Any, x: Any, rate: float, verdicts: list[Any], hop: int | None
             ) -> list[dict[str, Any]]:
    """``saliency_peak_s`` (seconds in the input) and ``top_bands_hz`` per verdict."""
    import numpy as np

    from desktop.analysis.windows import resample
    from desktop.core.errors import InputError
    from desktop.ml.inference.explain import explain_windows

    card = predictor.card
    if card.kind != "fault":
        raise InputError("--explain needs a fault model")
    y = resample(np.nan_to_num(np.asarray(x, dtype=np.float64)), rate, card.sample_rate)
    idx = [round(v.start_s * card.sample_rate) for v in verdicts]
    windows = np.stack([y[i:i + card.window] for i in idx]) if idx else np.empty((0, card.window))
    out = []
    for lo in range(0, windows.shape[0], 64):
        out += explain_windows(predictor.model, windows[lo:lo + 64], card.sample_rate)
    for v, e in zip(verdicts, out, strict=True):
        e["saliency_peak_s"] = round(v.start_s + e["saliency_peak_s"], 6)
    return out


# ---------------------------------------------------------------------------- calibrate
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
                raise InputError(f"recording from {args.source} failed: "
                                 + (done.stderr.strip().splitlines() or ["no output"])[-1])
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
    if promote_and_print_json(args, name, result["version"], result):
        return 0
    print(f"wrote {result['folder']} ({name} v{result['version']}, parent {result['parent']}): "
          f"batch-norm statistics ({args.layers}) from {result['windows']} windows "
          f"({result['seconds_of_signal']:.1f} s)")
    for note in result["notes"]:
        print(f"note: {note}")
    print(f"use it: linewatch predict FILE --model {name}@{result['version']}"
          + ("" if args.promote else f"; make it active: linewatch models promote {name} "
             f"--version {result['version']}"))
    return 0


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
    if promote_and_print_json(args, name, result["version"], result):
        return 0
    print(f"wrote {result['folder']} ({name} v{result['version']}, parent {result['parent']}): "
          f"batch-norm statistics ({args.layers}) from {result['windows']} windows "
          f"({result['seconds_of_signal']:.1f} s in {result['snapshots']} snapshots)")
    for note in result["notes"]:
        print(f"note: {note}")
    print(f"use it: linewatch predict FILE --model {name}@{result['version']}"
          + ("" if args.promote else f"; make it active: linewatch models promote {name} "
             f"--version {result['version']}"))
    return 0


# ---------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from desktop.core.errors import InputError
    from desktop.ml.inference.predictors import resolve_device
    from desktop.ml.model_files.registry import user_models_dir

    if getattr(args, "normal", None):
        from desktop.ml.cli_tabular import cmd_train_process

        return cmd_train_process(args)
    if getattr(args, "base", None) is not None:
        return cmd_finetune(args)
    if args.recipe is None or args.data is None:
        raise InputError("linewatch train needs --recipe NAME --data DIR, or --base NAME "
                         "--labels CSV --name NEW to fine-tune")
    require_torch("linewatch train")

    out: Path = args.out or user_models_dir() / args.recipe
    if (out / "card.json").exists() and not args.overwrite:
        raise InputError(f"{out} already holds a model; give --overwrite to replace it")
    device = resolve_device(args.device)
    task = _task(args.quiet)
    command = _train_command(args, out)
    if args.recipe == "anomaly-cwru":
        from desktop.ml.training.recipes import train_anomaly_cwru

        card = train_anomaly_cwru(args.data, out, command=command, task=task)
        ev = card.metrics["evaluation"]
        print(f"wrote {out}: AUROC vs 1 hp faults {ev.get('auroc_vs_faults_1hp')}, false alarms "
              f"on held-out healthy {ev['false_alarm_rate_healthy_test']:.1%}")
        return 0
    from desktop.ml.training.recipes import FAULT_CWRU, cross_load_eval, train_fault_cwru

    config = FAULT_CWRU
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    if args.seed is not None:
        config = replace(config, seed=args.seed)
    cross: dict[str, Any] = {}
    stages = [] if args.skip_cross_load else [((0,), (1,)), ((1,), (0,))]
    total = len(stages) + 1

    def staged(i: int, label: str) -> TaskState:
        return task.part(i / total, (i + 1) / total, f"{label}: ")

    for i, (tr, te) in enumerate(stages):
        r = cross_load_eval(args.data, tr, te, config, ("none",), device=device,
                            task=staged(i, f"check {tr[0]}→{te[0]} hp"))
        cross[f"{tr[0]}hp_to_{te[0]}hp"] = {
            "accuracy": r["adabn_none"]["accuracy"],
            "location_accuracy": r["adabn_none"]["location_accuracy"],
            "per_class_accuracy": r["adabn_none"]["per_class_accuracy"],
            "windows": r["adabn_none"]["windows"],
            "note": "trained on fault files at the first load + healthy first 70 %; tested "
                    "on fault files at the other load + healthy last 30 % (healthy exists at "
                    "0 hp only)"}
    card = train_fault_cwru(args.data, out, config, loads=tuple(args.loads),
                            cross_load=cross or None, command=command, device=device,
                            task=staged(len(stages), "final model"))
    val = card.metrics["validation"]
    print(f"wrote {out}: validation accuracy {val['accuracy']:.2%} "
          f"(location {val['location_accuracy']:.2%})"
          + "".join(f"; {k} {v['accuracy']:.2%} (location {v['location_accuracy']:.2%})"
                    for k, v in cross.items()))
    return 0


def print_next_step(args: argparse.Namespace, name: str, version: int) -> None:
    """After the readable summary of a new version: promoted, or how to use and promote."""
    if args.promote:
        print(f"promoted: {name} now means v{version}")
    else:
        print(f"use it: linewatch predict FILE --model {name}@{version}; make it "
              f"active: linewatch models promote {name} --version {version}")


def promote_and_print_json(args: argparse.Namespace, name: str, version: int,
                           doc: dict) -> bool:
    """After a command wrote a new version of ``name``: make it active when ``--promote``
    was given; with ``--json`` print ``doc`` plus ``promoted`` and return True (the command
    is done), else False (it prints its readable summary)."""
    from desktop.ml.model_files.versions import promote

    if args.promote:
        promote(name, version)
    if args.json:
        print(json.dumps({**doc, "promoted": bool(args.promote)}))
        return True
    return False


def cmd_finetune(args: argparse.Namespace) -> int:
    """``linewatch train --base NAME --labels CSV --name NEW``: fine-tune, print metrics."""
    from desktop.core.errors import InputError

    if args.labels is None or args.name is None:
        raise InputError("fine-tuning needs --labels CSV and --name NEW")
    from desktop.ml.model_files.registry import resolve

    base = resolve(args.base)
    if base.tabular:  # a quality model: refit on its replay set + the labelled parts
        from desktop.ml.cli_tabular import cmd_finetune_table

        return cmd_finetune_table(args, base)
    if args.rate is not None and not args.rate > 0:
        raise InputError(f"--rate must be positive, got {args.rate}")
    require_torch("fine-tuning (linewatch train --base)")
    from desktop.ml.training.class_names import parse_class_map
    from desktop.ml.training.finetune import finetune

    mode = args.mode or DEFAULT_MODE
    class_map = parse_class_map(getattr(args, "map_classes", None))
    parts = ["linewatch", "train", "--base", str(args.base), "--labels", str(args.labels),
             "--name", args.name, "--mode", mode]
    if class_map:
        parts += ["--map-classes", ",".join(f"{k}={v}" for k, v in class_map.items())]
    for flag, value in (("--epochs", args.epochs), ("--rate", args.rate),
                        ("--seed", args.seed), ("--replay", args.replay)):
        if value is not None:
            parts += [flag, str(value)]
    result = finetune(args.base, args.labels, args.name, mode=mode,
                      epochs=args.epochs or DEFAULT_EPOCHS, val_fraction=args.val_fraction,
                      task=_task(args.quiet),
                      replay=DEFAULT_REPLAY if args.replay is None else args.replay,
                      seed=args.seed or 0, rate=args.rate, replay_data=args.replay_data,
                      command=shlex.join(parts + (["--no-augment"] if args.no_augment else [])
                                         + (["--no-envelope"] if args.no_envelope else [])),
                      augment=not args.no_augment, envelope=not args.no_envelope,
                      class_map=class_map)
    held_back = bool(result.warning and args.promote)
    if held_back:  # a model that forgot its base classes is promoted by a person only
        args.promote = False
    if result.warning and args.json:
        print(f"linewatch: {result.warning}", file=sys.stderr)
    if promote_and_print_json(args, args.name, result.version, result.to_json()):
        return 0
    if result.warning:
        print(result.warning)
    if held_back:
        print(f"not promoted (--promote): check it, then: linewatch models promote "
              f"{args.name} --version {result.version} --yes")
    print(f"wrote {result.folder} ({args.name} v{result.version}, {mode}, parent "
          f"{result.parent}) in {result.seconds:.1f} s, {result.epochs_run} epochs "
          f"(best {result.best_epoch})")
    for note in result.notes:
        print(f"note: {note}")
    if not result.checked:
        print(f"WARNING: {UNCHECKED_NOTE}; promote only if you have checked it yourself")
    if result.heldout is not None and result.base_heldout is not None:
        held, base = result.heldout, result.base_heldout
        print(f"held-out events: {held['windows']} windows; accuracy new "
              f"{held['accuracy']:.2%}, base {_pct(base['accuracy'])} on the classes it knows, "
              f"{_pct(base['accuracy_all_windows'])} counting new classes as wrong")
        print(f"{'class':<20} {'recall new':>10} {'base':>6} {'F1 new':>8} {'base':>6}")
        for c, m in held["per_class"].items():
            b = base["per_class"].get(c, {})
            print(f"{c:<20} {m['recall']:>10.2f} {_num(b.get('recall'))} {m['f1']:>8.2f} "
                  f"{_num(b.get('f1'))}")
    if result.original_classes_accuracy is not None:
        print(f"base model's original data (validation part): new "
              f"{result.original_classes_accuracy:.2%}, base "
              f"{_pct(result.base_original_classes_accuracy)}")
    print_next_step(args, args.name, result.version)
    return 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _num(value: float | None) -> str:
    return f"{'-':>6}" if value is None else f"{value:>6.2f}"


def _train_command(args: argparse.Namespace, out: Path) -> str:
    """The command line that reproduces this run, as recorded in the card."""
    parts = ["linewatch", "train", "--recipe", args.recipe, "--data", str(args.data),
             "--out", str(out)]
    if args.epochs is not None:
        parts += ["--epochs", str(args.epochs)]
    if args.seed is not None:
        parts += ["--seed", str(args.seed)]
    if args.recipe == "fault-cwru" and list(args.loads) != [0, 1]:
        parts += ["--loads", *map(str, args.loads)]
    if args.recipe == "fault-cwru" and args.skip_cross_load:
        parts.append("--skip-cross-load")
    return shlex.join(parts)


#: True while a progress line printed by :func:`_task` waits for its end (an error message
#: then starts on a new line: ``desktop.cli`` looks here)
PROGRESS_OPEN = [False]


def _task(quiet: bool) -> TaskState:
    """A task whose listener prints progress on one stderr line (nothing when ``quiet``)."""
    from desktop.core.tasks import TaskState

    task = TaskState()
    if quiet:
        return task
    last = [-1]

    def show(fraction: float, message: str, info: dict[str, Any]) -> None:
        pct = int(fraction * 100)
        if pct != last[0] or info.get("history"):
            last[0] = pct
            print(f"\r{pct:3d} % {message:<60}", end="", file=sys.stderr, flush=True)
            PROGRESS_OPEN[0] = True
            if fraction >= 1:
                print(file=sys.stderr)
                PROGRESS_OPEN[0] = False

    task.add_listener(show)
    return task


# ---------------------------------------------------------------------------- models
def cmd_models_list(args: argparse.Namespace) -> int:
    from desktop.ml.model_files.registry import list_models
    from desktop.ml.model_files.versions import live_model

    entries = list_models()
    live = live_model()
    if getattr(args, "json", False):
        print(json.dumps({"models": [
            {"name": e.name, "folder": str(e.folder), "shipped": e.shipped,
             "kind": e.card.kind if e.card else None,
             "classes": e.card.classes if e.card else None,
             "version": e.card.version if e.card else None,
             "created": e.card.created if e.card else None,
             "problem": e.problem,
             "versions": list(e.versions), "active_version": e.active_version,
             "parent": e.card.parent if e.card else None,
             "live": e.name == live,
             **({"base_classes_accuracy": _base_classes(e.card)}
                if e.card is not None and not e.tabular else {}),
             **(_table_fields(e) if e.tabular else {})} for e in entries], "live": live}))
        return 0
    if not entries:
        print("no models")
        return 0
    from desktop.ml.cli_tabular import list_cells

    rows: list[list[str]] = []
    for e in entries:
        where = "shipped" if e.shipped else "user"
        if e.card is None:
            rows.append([e.name, where, f"UNUSABLE: {e.problem}"])
            continue
        if e.tabular:
            rows.append(list_cells(e, where, live))
            continue
        cells = _kind_cells(e)
        if cells is not None:
            rows.append(cells)
            continue
        c = e.card
        validation = c.metrics.get("validation")
        acc = validation.get("accuracy") if isinstance(validation, dict) else None
        held = c.metrics.get("heldout")
        if not isinstance(acc, float) and isinstance(held, dict):
            acc = held.get("accuracy")
        versions = ""
        if e.versions:  # the active one starred; none starred: the latest is used
            versions = "  versions " + ",".join(
                f"{v}{'*' if v == e.active_version else ''}" for v in e.versions)
        rows.append([e.name, where, c.kind, c.architecture, f"{len(c.classes)} classes",
                     f"{c.sample_rate:g} Hz", f"v{c.version}", str(c.created),
                     (f"val acc {acc:.2%}" if isinstance(acc, float) else "")
                     + _base_classes_text(c) + versions
                     + ("  [live]" if e.name == live else "")])
    # Columns as wide as their longest cell (a long user model name must not shift a row);
    # the last column of each row is free text.
    widths = [max((len(r[k]) for r in rows if len(r) > k + 1), default=0)
              for k in range(max(len(r) for r in rows))]
    for r in rows:
        cells = [cell.ljust(widths[k]) if k < len(r) - 1 else cell.strip()
                 for k, cell in enumerate(r)]
        print("  ".join(cells).rstrip())
    return 0


def _base_classes(card: Any) -> dict[str, Any] | None:
    """``models list --json``: a fine-tuned model's accuracy on its base model's held-out
    classes, the base's on the same windows and the warning when it fell (or None)."""
    from desktop.ml.model_files.forgetting import base_class_figures, forgetting_warning

    new, base = base_class_figures(card.metrics)
    if new is None:
        return None
    return {"accuracy": new, "base_accuracy": base,
            "warning": forgetting_warning(new, base)}


def _base_classes_text(card: Any) -> str:
    """``models list``: ``  base-class acc 57.00% (base 98.70%) FORGOT`` or nothing."""
    doc = _base_classes(card)
    if doc is None:
        return ""
    return (f"  base-class acc {doc['accuracy']:.2%} (base {_pct(doc['base_accuracy'])})"
            + ("  LOST ACCURACY" if doc["warning"] else ""))


def _confirm_promotion(name: str, version: int | None, yes: bool) -> None:
    """``models promote``: a version that lost accuracy on its base model's classes is
    promoted only with ``--yes`` or a typed ``y``; without a terminal to ask on, refused
    in one line (exit 2)."""
    from desktop.ml.model_files.card import load_any_card
    from desktop.ml.model_files.forgetting import card_warning
    from desktop.ml.model_files.versions import version_folder, versions_of

    found = versions_of(name)
    v = version if version is not None else (found[-1] if found else None)
    if yes or v is None or v not in found:
        return  # promote() itself says what is wrong with the name or version
    try:
        warning = card_warning(load_any_card(version_folder(name, v)))
    except LinewatchError:
        return
    if warning is None:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{name} v{v}: {warning.removeprefix('warning: ')}; promote it "
                         f"anyway with linewatch models promote {name} --version {v} --yes")
    print(f"{name} v{v}: {warning}")
    answer = input("promote it anyway? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError(f"{name} v{v} not promoted")


def _kind_cells(entry: Any) -> list[str] | None:
    """The ``models list`` row a model kind prints for its own entries (built-in kinds such
    as ``diagnosis``), or None for the usual signal-model row."""
    from desktop.ml import kinds
    from desktop.ml.errors import ModelError

    try:
        kind = kinds.get(entry.card.kind)
    except ModelError:
        return None
    if kind.list_cells is None:
        return None
    return kind.list_cells(entry, "built in" if kind.builtin is not None else
                           ("shipped" if entry.shipped else "user"))


def _table_fields(entry: Any) -> dict[str, Any]:
    from desktop.ml.cli_tabular import card_summary

    return card_summary(entry.card)


def cmd_models_promote(args: argparse.Namespace) -> int:
    from desktop.ml.model_files.registry import set_live_model
    from desktop.ml.model_files.versions import promote, rollback_target

    _confirm_promotion(args.name, args.version, getattr(args, "yes", False))
    version = promote(args.name, args.version)
    if args.live:
        set_live_model(args.name)
    back = rollback_target(args.name)
    print(f"{args.name}: v{version} is active" + (" and used in the live window"
                                                  if args.live else "")
          + (f" (`linewatch models rollback {args.name}` returns to {back})" if back else ""))
    return 0


def cmd_models_rollback(args: argparse.Namespace) -> int:
    from desktop.ml.model_files.versions import SHIPPED_BASE, rollback, shipped_base

    version = rollback(args.name)
    if version == SHIPPED_BASE:
        base = shipped_base(args.name)
        print(f"{args.name}: rolled back to the shipped model {base}: no version of "
              f"{args.name} is active and the live window uses {base} if it used "
              f"{args.name} (`linewatch predict --model {base}`; `linewatch models promote "
              f"{args.name}` to use a version again)")
    else:
        print(f"{args.name}: rolled back, v{version} is active")
    return 0


def cmd_models_remove(args: argparse.Namespace) -> int:
    from desktop.ml.model_files.versions import (
        active_version,
        removal_plan,
        remove,
        remove_model,
    )

    if args.version is not None:
        remove(args.name, args.version)
        print(f"{args.name}: v{args.version} removed")
        return 0
    plan = removal_plan(args.name)
    if not args.yes:
        active = (", the active version included" if active_version(args.name) is not None
                  else "")
        print(f"would remove the user model '{args.name}' ({len(plan)} folder"
              f"{'s' if len(plan) != 1 else ''}{active}):")
        for folder in plan:
            print(f"  {folder}")
        print(f"run again with --yes to remove it: linewatch models remove {args.name} --yes")
        return 1
    removed = remove_model(args.name)
    print(f"{args.name}: removed ({len(removed)} folder{'s' if len(removed) != 1 else ''})")
    return 0


__all__ = ["RECIPES", "LinewatchError", "add_ml_commands"]
