"""The table models (``quality``, ``process``) in ``linewatch predict``, ``models list`` and
``train --base``.

``linewatch predict FILE --model quality-steel|process-tep`` reads FILE as a table (one
row per part or per process sample, columns matched by name) and prints one verdict per
row; ``--json`` prints one document whose ``rows`` hold them. Notices (a headerless file
read by position, the alarm rule) go to stderr, so stdout stays one JSON document.

Imported by :mod:`desktop.cli.predict`, :mod:`desktop.cli.models` and
:mod:`desktop.cli.train` only when the chosen model is a table model; nothing
here imports torch or scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from desktop.cli.common import print_next_step, promote_and_print_json, task_progress
from desktop.ml.model_files.registry import ModelEntry

#: ``linewatch predict`` options that only mean something for signal models.
SIGNAL_OPTIONS = (("channel", "--channel"), ("rate", "--rate"), ("hop", "--hop"),
                  ("decimal", "--decimal"))


def card_summary(card: Any) -> dict[str, Any]:
    """What ``models list --json`` says about a table model beyond name/kind/classes;
    a calibrated quality model adds ``calibration``: ``ece`` (top-label, on the rows the
    temperature was fitted on, after it), ``ece_bins``, ``temperature``, and the reject
    option's ``target_accuracy``, ``threshold`` and ``coverage`` on those rows."""
    out = {"architecture": card.architecture, "inputs": list(card.input_columns),
           "input_count": len(card.input_columns), "accuracy": headline(card)[1]}
    cal = calibration_summary(card)
    if cal is not None:
        out["calibration"] = cal
    return out


def calibration_summary(card: Any) -> dict[str, Any] | None:
    """The card's calibration in a few numbers (None: the model has none)."""
    cal = getattr(card, "calibration", None)
    if not isinstance(cal, dict) or not cal:
        return None
    rej = cal.get("reject") if isinstance(cal.get("reject"), dict) else {}
    held = cal.get("holdout_30pct") if isinstance(cal.get("holdout_30pct"), dict) else {}
    return {"ece": cal.get("oof_ece_after"), "ece_before": cal.get("oof_ece_before"),
            "ece_bins": cal.get("ece_bins"), "temperature": cal.get("temperature"),
            "target_accuracy": rej.get("target_accuracy"), "threshold": rej.get("threshold"),
            "coverage": rej.get("coverage"), "holdout_ece": held.get("ece_after"),
            "holdout_coverage": held.get("coverage"),
            "holdout_accuracy_accepted": held.get("accuracy_accepted")}


def _calibration_cell(card: Any) -> str:
    """``  ECE 0.037, accepts 47% at 95%`` for ``models list`` ("" without calibration)."""
    cal = calibration_summary(card)
    if cal is None or not isinstance(cal.get("ece"), float):
        return ""
    text = f"  ECE {cal['ece']:.3f}"
    if isinstance(cal.get("coverage"), float) and isinstance(cal.get("target_accuracy"),
                                                            float):
        text += f", accepts {cal['coverage']:.0%} at {cal['target_accuracy']:.0%}"
    return text


def headline(card: Any) -> tuple[str, float | None]:
    """The figure ``models list`` shows: (words, value) from the card's metrics."""
    m = card.metrics
    cv = m.get("cv_whole_file")
    if isinstance(cv, dict) and isinstance(cv.get("accuracy_mean"), float):
        return "cv acc", cv["accuracy_mean"]
    held = m.get("heldout")
    if isinstance(held, dict) and isinstance(held.get("accuracy"), float):
        return "held-out acc", held["accuracy"]
    late = m.get("heldout_late")
    if isinstance(late, dict) and isinstance(late.get("mean_detection_18"), float):
        return "detection (late split)", late["mean_detection_18"]
    normal = m.get("normal_heldout_alarm_rate")
    if isinstance(normal, float):
        return "alarms on held-out normal", normal
    return "", None


def list_cells(entry: ModelEntry, where: str, live: str | None) -> list[str]:
    """One row of ``linewatch models list`` for a table model (the columns of
    :func:`desktop.cli.models.cmd_models_list`)."""
    c = entry.card
    what, value = headline(c)
    versions = ""
    if entry.versions:
        versions = "  versions " + ",".join(
            f"{v}{'*' if v == entry.active_version else ''}" for v in entry.versions)
    classes = (f"{len(c.classes)} classes" if c.classes or c.kind != "process"
               else "no fault names")
    return [entry.name, where, c.kind, c.architecture, classes,
            f"{len(c.input_columns)} input columns", f"v{c.version}", str(c.created),
            (f"{what} {value:.2%}" if value is not None else "") + _calibration_cell(c)
            + versions
            + ("  [live]" if entry.name == live else "")]


def note(text: str) -> None:
    print(f"linewatch: note: {text}", file=sys.stderr)


#: rows from which ``predict`` shows progress for a quality model
LONG_TABLE = 2000


def _other_model_hint(path: Any, name: str) -> str:
    """``; its columns match model 'X': use --model X`` when another table model reads
    exactly this table's columns, else ""."""
    from desktop.ml.model_files.registry import list_models
    from desktop.ml.tabular.table import ID_NAMES, read_frame

    try:
        frame = read_frame(path)
    except Exception:  # the refusal itself is what matters
        return ""
    cols = {str(c).strip().lower() for c in frame.columns} - set(ID_NAMES)
    for entry in list_models():
        card = entry.card
        if entry.name == name or card is None or not entry.tabular:
            continue
        wanted = {c.strip().lower() for c in card.input_columns}
        extra = cols - wanted
        label = str(card.training_data.get("label_column") or "").lower()
        if wanted <= cols and extra <= {label, "label"} - {""}:
            return f"; its columns match model '{entry.name}': use --model {entry.name}"
    return ""


def cmd_predict_table(args: argparse.Namespace, entry: ModelEntry) -> int:
    """``linewatch predict FILE --model <table model>``."""
    from desktop.ml.tabular import predict_table

    for attr, flag in SIGNAL_OPTIONS:
        if getattr(args, attr, None) is not None:
            note(f"{flag} is for signal models; '{entry.name}' reads named columns, ignored")
    from desktop.core.errors import InputError
    from desktop.ml.tabular.table import ColumnError

    task = task_progress(quiet=bool(getattr(args, "quiet", False)))

    def progress(done: int, total: int) -> None:
        if total >= LONG_TABLE:  # explaining thousands of parts takes a while: say so
            task.report(done / total, f"judging and explaining part {done:,} of {total:,}")

    target = getattr(args, "target_accuracy", None)
    if target is not None and not 0 < target <= 1:
        raise InputError(f"--target-accuracy must be in (0, 1], got {target:g}")
    if target is not None and entry.card.kind != "quality":
        note(f"--target-accuracy is for quality models; ignored for '{entry.name}'")
        target = None
    try:
        doc = predict_table(entry.folder, args.file, progress, target)
    except ColumnError as exc:
        text = str(exc) if str(args.file) in str(exc) else f"{args.file}: {exc}"
        raise ColumnError(f"{text}{_other_model_hint(args.file, entry.name)}") from None
    except InputError as exc:
        if str(args.file) in str(exc):
            raise
        raise InputError(f"{args.file}: {exc}") from None
    for text in doc["notices"]:
        note(text)
    card = entry.card
    rows = doc["rows"]
    summary = summarize(card.kind, rows, card.classes)
    reject = doc.get("reject")
    doc = {**doc, "model": {"name": card.name, "kind": card.kind, "version": card.version,
                            "folder": str(entry.folder), "architecture": card.architecture},
           "classes": list(card.classes), "input_columns": list(card.input_columns),
           "summary": {**summary, "file": str(args.file)}}
    if args.json:
        print(json.dumps(doc))
        return 0
    print(f"model {card.name} ({card.kind}, {card.architecture}, {len(card.classes)} classes, "
          f"{len(card.input_columns)} input columns)")
    print(f"input {args.file}: {len(rows)} rows")
    ident = doc.get("id_column")
    if card.kind == "quality":
        print(f"{'row':>5}  {ident or ''!s:<12} {'class':<14} {'prob':>6}  {'decision':<8} "
              f"top features (value, share of the probability)")
        for i, r in enumerate(rows, 1):
            feats = ", ".join(f"{f['feature']}={_value(f['value'])} ({f['contribution']:+.2f})"
                              for f in r["top_features"])
            print(f"{i:>5}  {r.get('id', '')!s:<12} {r['class']:<14} "
                  f"{r['probability']:6.3f}  {r['decision']:<8} {feats}")
        shares = ", ".join(f"{c} {n}" for c, n in summary["accepted_class_counts"].items()
                           if n)
        print(f"summary: {len(rows)} parts; accepted {summary['accepted']}"
              + (f" ({shares})" if shares else "") + f", referred to an inspector "
              f"{summary['referred']}")
        if reject is not None:
            print(f"reject rule: refer a part when its calibrated probability is under "
                  f"{reject['threshold']:.3f} (chosen for {reject['target_accuracy']:.0%} "
                  f"accuracy on accepted parts; it accepted {reject['coverage']:.0%} of the "
                  f"parts it was chosen on)")
        return 0
    print(f"{'row':>5}  {ident or ''!s:<12} {'score':>7}  {'alarm':<5}  {'fault':<8} "
          f"{'plot':<12} contributors (strongest first)")
    for i, r in enumerate(rows, 1):
        share = r.get("contributor_share")
        plot = ("-" if share is None else
                f"{'clear' if r.get('contributors_clear') else 'diffuse'} {share:.0%}")
        print(f"{i:>5}  {r.get('id', '')!s:<12} {r['score']:7.2f}  "
              f"{'ALARM' if r['alarm'] else '-':<5}  {r['fault'] or '-':<8} {plot:<12} "
              f"{', '.join(r['contributors'])}")
    first = summary["first_alarm_row"]
    print(f"summary: {len(rows)} samples; alarm on {summary['alarm_rows']} "
          f"({summary['alarm_share']:.1%})"
          + (f", first at row {first}" if first else ", never") + "; score > 1 means over "
          "the limit")
    return 0


def summarize(kind: str, rows: list[dict[str, Any]], classes: list[str]) -> dict[str, Any]:
    if kind == "quality":
        counts = {c: 0 for c in classes}
        accepted = {c: 0 for c in classes}
        for r in rows:
            counts[r["class"]] = counts.get(r["class"], 0) + 1
            if r.get("decision", "accept") == "accept":
                accepted[r["class"]] = accepted.get(r["class"], 0) + 1
        n_acc = sum(accepted.values())
        return {"rows": len(rows), "class_counts": counts, "accepted": n_acc,
                "referred": len(rows) - n_acc, "accepted_class_counts": accepted}
    alarms = [i for i, r in enumerate(rows, 1) if r["alarm"]]
    faults: dict[str, int] = {}
    for r in rows:
        if r["fault"]:
            faults[r["fault"]] = faults.get(r["fault"], 0) + 1
    clear = sum(1 for r in rows if r["alarm"] and r.get("contributors_clear"))
    return {"rows": len(rows), "alarm_rows": len(alarms), "alarm_rows_clear": clear,
            "alarm_share": round(len(alarms) / len(rows), 4) if rows else 0.0,
            "first_alarm_row": alarms[0] if alarms else None, "faults_named": faults}


def _value(v: float | None) -> str:
    return "empty" if v is None else f"{v:g}"


def cmd_finetune_table(args: argparse.Namespace, entry: ModelEntry) -> int:
    """``linewatch train --base quality-steel --labels parts.csv --name my-line``."""
    import shlex

    from desktop.core.errors import InputError
    from desktop.ml.tabular.finetune import finetune_quality

    card = entry.card
    if card.kind != "quality":
        raise InputError(f"'{entry.name}' is a {card.kind} model; only quality models are "
                         f"fine-tuned from labelled parts")
    for attr, flag in (("mode", "--mode"), ("rate", "--rate"), ("replay", "--replay"),
                       ("replay_data", "--replay-data"), ("epochs", "--epochs")):
        if getattr(args, attr, None) is not None:
            note(f"{flag} is for signal models; ignored for '{entry.name}'")
    ref = entry.name if entry.shipped or not entry.versions else f"{entry.name}@{card.version}"
    parts = ["linewatch", "train", "--base", str(args.base), "--labels", str(args.labels),
             "--name", args.name]
    if args.seed is not None:
        parts += ["--seed", str(args.seed)]
    if args.val_fraction != 0.25:
        parts += ["--val-fraction", str(args.val_fraction)]
    target = getattr(args, "target_accuracy", None)
    if target is not None:
        parts += ["--target-accuracy", f"{target:g}"]
    result = finetune_quality(entry.folder, ref, args.labels, args.name,
                              val_fraction=args.val_fraction, seed=args.seed or 0,
                              command=shlex.join(parts), target_accuracy=target)
    if promote_and_print_json(args, args.name, result.version, result.to_json()):
        return 0
    print(f"wrote {result.folder} ({args.name} v{result.version}, parent {result.parent}) in "
          f"{result.seconds:.1f} s: {result.train_parts} labelled parts + "
          f"{result.replay_rows} replay rows")
    for text in result.notes:
        print(f"note: {text}")
    held, base = result.heldout, result.base_heldout
    if held is not None and base is not None:
        print(f"held-out parts: {held['parts']}; accuracy new {held['accuracy']:.2%}, base "
              + ("n/a" if base["accuracy"] is None else f"{base['accuracy']:.2%}")
              + " on the classes it knows"
              + (f", {base['accuracy_all_parts']:.2%} counting new classes as wrong"
                 if base["parts_known_classes"] != base["parts"] else ""))
        print(f"{'class':<20} {'parts':>5} {'recall new':>10} {'base':>6}")
        for c, m in held["per_class"].items():
            b = base["per_class"].get(c, {}).get("recall")
            print(f"{c:<20} {m['parts']:>5} {m['recall']:>10.2f} "
                  + (f"{b:>6.2f}" if b is not None else f"{'-':>6}"))
    rej = result.reject
    if rej is not None:
        print(f"reject option: refer a part under {rej['threshold']:.3f} (target "
              f"{rej['target_accuracy']:.0%} accuracy on accepted parts): accepts "
              f"{rej['coverage']:.0%} of {rej['rows']:,} out-of-fold rows"
              + ("" if rej["accuracy_accepted"] is None else
                 f" at {rej['accuracy_accepted']:.1%}")
              + ("" if rej["heldout_coverage"] is None else
                 f"; held-out parts: accepts {rej['heldout_coverage']:.0%}"
                 + ("" if rej["heldout_accuracy_accepted"] is None else
                    f" at {rej['heldout_accuracy_accepted']:.1%}")))
    if not result.checked:
        print(f"WARNING: only {result.heldout_parts} held-out parts: the comparison says "
              f"little; promote only if you have checked it yourself")
    print_next_step(args, args.name, result.version)
    return 0


def cmd_train_process(args: argparse.Namespace) -> int:
    """``linewatch train --normal FILE [FILE …] --name NAME [--base MODEL]``: a process
    monitor fitted on the plant's normal running data, published as a new version."""
    import shlex

    from desktop.core.errors import InputError, UsageError
    from desktop.ml.tabular.process_train import resolve_process_base, train_process_monitor

    if args.name is None:
        raise InputError("--normal needs --name NAME (the monitor to publish)")
    if not args.name.strip():
        raise UsageError("--name is empty: give the monitor a name")
    for attr, flag in (("labels", "--labels"), ("recipe", "--recipe"), ("data", "--data"),
                       ("mode", "--mode"), ("rate", "--rate"), ("epochs", "--epochs")):
        if getattr(args, attr, None) is not None:
            raise InputError(f"{flag} does not go with --normal (a process monitor is fitted "
                             f"on normal running data only)")
    folder = ref = None
    if args.base is not None:
        folder, ref = resolve_process_base(args.base)
    parts = ["linewatch", "train", "--normal", *map(str, args.normal), "--name", args.name]
    if args.base is not None:
        parts += ["--base", str(args.base)]
    result = train_process_monitor(list(args.normal), args.name, base_folder=folder,
                                   base_ref=ref, command=shlex.join(parts),
                                   task=task_progress(args.quiet))
    if promote_and_print_json(args, args.name, result.version, result.to_json()):
        return 0
    what = (f"refitted from {result.parent}" if result.parent
            else f"{len(result.columns)} variables, names no fault")
    print(f"wrote {result.folder} ({args.name} v{result.version}, {what}) in "
          f"{result.seconds:.1f} s from {result.rows:,} normal rows")
    for text in result.notes:
        print(f"note: {text}")
    print(f"held-out normal blocks alarm {result.heldout_alarm_rate:.1%} of rows"
          + ("" if result.base_alarm_rate is None else
             f"; {result.parent} alarmed {result.base_alarm_rate:.1%} of the same rows"))
    print_next_step(args, args.name, result.version)
    return 0


