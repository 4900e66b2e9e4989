"""``linewatch predict``: per-window verdicts of a model for one channel of a recording;
a table model's verdict per row (:mod:`desktop.cli.tabular`); a folder, a pattern or
several files judged on Dask workers (:mod:`desktop.cli.predict_batch`).

A big text file is read through the file view's cache (:mod:`desktop.streams.big_text`),
never whole. ``--rules`` runs alarm rules over the windows
(:mod:`desktop.cli.rules_option`); ``--machine`` with a fault model applies the machine's
AdaBN statistics when its baseline holds usable ones
(:func:`desktop.ml.inference.machine_stats.for_machine`), saying so. Nothing here imports
torch at module level: it loads inside the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop.cli.predict_batch import add_batch_arguments
from desktop.cli.rules_option import (
    add_rules_arguments,
    check_rule_targets,
    events_key,
    log_events,
    print_events,
    read_rules_option,
    run_rules,
)
from desktop.core.errors import UsageError
from desktop.ml.backend import require_torch


def add_commands(subparsers: Any) -> None:
    """Register ``predict``."""
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
    add_rules_arguments(p)
    p.add_argument("--target-accuracy", type=float, default=None, metavar="P",
                   help="quality models: accuracy wanted on accepted parts (0-1); the reject "
                        "threshold is re-chosen for it (default: the model's own, 0.95)")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    from desktop.analysis.channels import pick_channel
    from desktop.baseline.rows import level_cell
    from desktop.cli.predict_batch import run_predict_batch
    from desktop.core.errors import InputError
    from desktop.ml.inference.batch import looks_like_batch
    from desktop.ml.inference.open_set import check_rate
    from desktop.ml.inference.predictors import load_predictor, summarize
    from desktop.ml.model_files.registry import DEFAULT_FAULT_MODEL, resolve
    from desktop.recording.readers import read_recording

    if args.explain:
        require_torch("predict --explain")
    rules = read_rules_option(args)  # a bad rules file: refused before any work
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
        from desktop.cli.tabular import cmd_predict_table

        if rules is not None:
            raise UsageError(f"--rules runs over a signal model's windows; '{entry.name}' "
                             "is a table model: leave out --rules")
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
        if rules is not None:
            raise UsageError("--rules runs over one file's windows, not folders, patterns "
                             "or --out: judge each file alone, or run `linewatch alarms "
                             "check FILE --rules RULES`")
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
    check_rule_targets(rules, card.classes, [card.location_of(c) for c in card.classes],
                       str(args.rules))  # a class rule that could never fire: before work
    if rec.metadata.get("rate_note"):
        print(f"linewatch: note: {rec.metadata['rate_note']}", file=sys.stderr)
    idx, reason = pick_channel([c.name for c in rec.channels], args.channel,
                               card.input_channels)
    print(f"linewatch: channel {rec.channels[idx].name}: {reason}", file=sys.stderr)
    adabn = ""
    if machine and card.kind == "fault":  # the machine's own batch-norm statistics
        from desktop.ml.inference.machine_stats import for_machine

        predictor, adabn = for_machine(predictor, machine, rec.channels[idx].name)
        card = predictor.card
        if not args.json:
            print(f"linewatch: {adabn}", file=sys.stderr)
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
    windows = [{**v.to_json(), **(explained[i] if explained else {}),
                **(rows[i] if rows else {})} for i, v in enumerate(verdicts)]
    check = run_rules(rules, windows, channel, card.classes,
                      [card.location_of(c) for c in card.classes], str(args.rules)) \
        if rules is not None else None
    if check is not None:
        log_events(args, check, args.file, "predict", getattr(rec, "start_time", ""))
    if args.json:
        doc = {"model": {"name": card.name, "kind": card.kind, "version": card.version,
                         "folder": str(predictor.folder), "sample_rate": card.sample_rate,
                         "window": card.window, "device": predictor.device,
                         **({"adabn": adabn} if adabn else {})},
               "classes": card.classes,
               "windows": windows,
               "summary": {**summary, "file": str(args.file), "channel": channel,
                           "channel_reason": reason, "input_rate": rate,
                           **predictor.info()}}
        if check is not None:
            doc[events_key()] = check.events_json()
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
    if check is not None:
        print_events(check, len(rules or ()), bool(args.write_log))
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
    None (read it whole)."""
    from desktop.streams.big_text import open_big_text

    return open_big_text(args.file, args.rate, args.decimal)


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
