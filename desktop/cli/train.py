"""``linewatch train``: ``--recipe`` reproduces a shipped model from the CWRU data;
``--base NAME --labels labels.csv --name NEW`` fine-tunes a model on the user's own
labelled events (:func:`desktop.ml.training.finetune.finetune`; a quality model through
:mod:`desktop.cli.tabular`) and publishes a new version of NEW; ``--normal FILE …
--name NEW`` fits a process monitor. Torch loads inside the command, never at import."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.cli.common import pct, print_next_step, promote_and_print_json, task_progress
from desktop.ml.backend import require_torch
from desktop.ml.constants import (
    DEFAULT_EPOCHS,
    DEFAULT_MODE,
    DEFAULT_REPLAY,
    MODES,
    UNCHECKED_NOTE,
)

if TYPE_CHECKING:
    from desktop.core.tasks import TaskState


RECIPES = ("fault-cwru", "anomaly-cwru")


def add_commands(subparsers: Any) -> None:
    """Register ``train``."""
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


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from desktop.core.errors import InputError
    from desktop.ml.inference.predictors import resolve_device
    from desktop.ml.model_files.registry import user_models_dir

    if getattr(args, "normal", None):
        from desktop.cli.tabular import cmd_train_process

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
    task = task_progress(args.quiet)
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


def cmd_finetune(args: argparse.Namespace) -> int:
    """``linewatch train --base NAME --labels CSV --name NEW``: fine-tune, print metrics."""
    from desktop.core.errors import InputError

    if args.labels is None or args.name is None:
        raise InputError("fine-tuning needs --labels CSV and --name NEW")
    from desktop.ml.model_files.registry import resolve

    base = resolve(args.base)
    if base.tabular:  # a quality model: refit on its replay set + the labelled parts
        from desktop.cli.tabular import cmd_finetune_table

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
                      task=task_progress(args.quiet),
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
              f"{held['accuracy']:.2%}, base {pct(base['accuracy'])} on the classes it knows, "
              f"{pct(base['accuracy_all_windows'])} counting new classes as wrong")
        print(f"{'class':<20} {'recall new':>10} {'base':>6} {'F1 new':>8} {'base':>6}")
        for c, m in held["per_class"].items():
            b = base["per_class"].get(c, {})
            print(f"{c:<20} {m['recall']:>10.2f} {_num(b.get('recall'))} {m['f1']:>8.2f} "
                  f"{_num(b.get('f1'))}")
    if result.original_classes_accuracy is not None:
        print(f"base model's original data (validation part): new "
              f"{result.original_classes_accuracy:.2%}, base "
              f"{pct(result.base_original_classes_accuracy)}")
    print_next_step(args, args.name, result.version)
    return 0


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
