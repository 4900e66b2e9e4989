"""``linewatch models list|promote|rollback|remove``: shipped and user models and their
versions (:mod:`desktop.ml.model_files.versions`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from desktop.cli.common import pct
from desktop.core.errors import LinewatchError, UsageError


def add_commands(subparsers: Any) -> None:
    """Register ``models list|promote|rollback|remove``."""
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
    from desktop.cli.tabular import list_cells

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
    return (f"  base-class acc {doc['accuracy']:.2%} (base {pct(doc['base_accuracy'])})"
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
    from desktop.cli.tabular import card_summary

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
