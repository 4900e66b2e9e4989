"""What every ``linewatch`` command shares: exit codes, the one-line error and note on
stderr, a progress line for long jobs, argparse value types, and the end of a command that
published a new model version (``--promote``, ``--json``).

Nothing here imports numpy, torch or any other heavy package: ``linewatch --help`` loads it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desktop.analysis.errors import AnalysisError

if TYPE_CHECKING:
    from desktop.core.tasks import TaskState

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: True while a progress line printed by :func:`task_progress` waits for its end (an error
#: message then starts on a new line: :func:`err` looks here)
PROGRESS_OPEN = [False]


def err(message: str) -> None:
    """``linewatch: MESSAGE`` on stderr, after ending an open progress line."""
    if PROGRESS_OPEN[0]:  # end the progress line first
        print(file=sys.stderr)
        PROGRESS_OPEN[0] = False
    print(f"linewatch: {message}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    """``linewatch: note: MESSAGE`` on stderr (stdout stays the command's answer)."""
    print(f"linewatch: note: {message}", file=sys.stderr, flush=True)


def task_progress(quiet: bool) -> TaskState:
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


def guard(func: Callable[[argparse.Namespace], int]
          ) -> Callable[[argparse.Namespace], int]:
    """Turn an :class:`AnalysisError` (the user's parameters) into one line and exit 2."""
    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except AnalysisError as exc:
            print(f"linewatch: {exc}", file=sys.stderr, flush=True)
            return EXIT_USAGE
    return run


def positive(text: str) -> float:
    """argparse type: a finite number > 0 (else argparse's one-line error, exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: '{text}'") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be positive, got '{text}'")
    return value


def count(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got '{text}'")
    return value


def format_counts(counts: dict[str, int]) -> str:
    """``a 1, b 2`` (sorted by key), or ``none``."""
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else "none"


def pct(value: float | None) -> str:
    """A share as ``12.34%``, or ``n/a``."""
    return "n/a" if value is None else f"{value:.2%}"


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


def print_next_step(args: argparse.Namespace, name: str, version: int) -> None:
    """After the readable summary of a new version: promoted, or how to use and promote."""
    if args.promote:
        print(f"promoted: {name} now means v{version}")
    else:
        print(f"use it: linewatch predict FILE --model {name}@{version}; make it "
              f"active: linewatch models promote {name} --version {version}")
