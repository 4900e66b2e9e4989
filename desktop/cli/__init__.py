"""``linewatch <command>``: the headless pieces, for scripts, tests and plant PCs over SSH.

Every user-facing problem ends as one readable line on stderr and a non-zero exit code
(2: bad command line or source, 1: the work failed), never as a traceback. Unexpected
exceptions are logged with their traceback to the log file, whose path is printed.

One module per command group holds that group's parsing and printing, with an
``add_commands(subparsers)``; :data:`COMMANDS` lists them in the order ``linewatch --help``
shows their commands. A new command is one module here and one name in :data:`COMMANDS`.
The domain packages hold no argparse and print nothing. The modules are imported when the
parser is built, never at ``import desktop.cli``; none imports torch, scipy, pandas,
pyarrow or dask at module level (they load inside the commands).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from desktop import __version__
from desktop.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, err
from desktop.cli.window import (
    GUI_USAGE,
    build_gui_parser,
    display_problem,
    gui_main,
    window_options_help,
)
from desktop.core.errors import LinewatchError, MissingFileError, SourceError, UsageError
from desktop.core.logsetup import configure_logging

log = logging.getLogger("linewatch")

#: The command modules (``desktop.cli.NAME``), each with ``add_commands(subparsers)``, in
#: the order their commands are listed.
COMMANDS = (
    "record",      # record, sources
    "files",       # info, recover
    "predict",     # predict (one file, a table, or many files on Dask)
    "calibrate",   # calibrate
    "train",       # train (recipe, fine-tune, process monitor)
    "models",      # models list|promote|rollback|remove
    "labels",      # labels list|export|import
    "alarms",      # alarms list|export|ack|check
    "analysis",    # spectrum, severity, trend
    "machine",     # machine add|list|show|edit|remove
    "diagnosis",   # diagnose
    "baseline",    # baseline (and trend --machine)
    "baseline_ack",  # baseline-ack
    "fleet",       # export, verdicts export, report
)


def add_commands(subparsers: argparse._SubParsersAction, names: Sequence[str] = COMMANDS
                 ) -> None:
    """Register the commands of the modules ``names`` (default: all) on ``subparsers``."""
    for name in names:
        importlib.import_module(f"desktop.cli.{name}").add_commands(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The ``linewatch`` parser: global options, every command; ``command_names`` set."""
    parser = argparse.ArgumentParser(
        prog="linewatch",
        usage=f"{GUI_USAGE}\n       linewatch [--version] [--verbose] COMMAND [options]",
        description="Linewatch: live sensor feeds, recordings and fault models for plant "
                    "engineers.\nWithout a COMMAND it opens the live workbench window; "
                    "`linewatch COMMAND --help`\nexplains each command.",
        epilog=window_options_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"linewatch {__version__}")
    parser.add_argument("--verbose", action="store_true", help="echo info logs to stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation (window offscreen, demo rig, every "
                             "shipped model, file formats, recording, labels); exit 0 or 1")
    # prog: "linewatch predict: error: …" in one line, not the main usage block glued on
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="linewatch",
                                title="commands (headless)")
    add_commands(sub)
    parser.command_names = set(sub.choices)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``linewatch``: a command, or the window when the first word is no command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = parser.command_names  # type: ignore[attr-defined]
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help", "--version",
                                                                  "--verbose", "--self-test")):
        return gui_main(argv)
    args = parser.parse_args(argv)
    log_path = configure_logging(
        console_level=logging.INFO if args.verbose else logging.WARNING)
    if args.self_test and args.command is None:
        from desktop.selftest import run_self_test

        return EXIT_OK if run_self_test(lambda line: print(line, flush=True)) else EXIT_FAILED
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return int(args.func(args))
    except LinewatchError as exc:
        err(str(exc))
        return (EXIT_USAGE if isinstance(exc, SourceError | UsageError | MissingFileError)
                else EXIT_FAILED)
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: a bug, not a user error
        log.exception("unexpected error")
        err(f"unexpected error: {exc!r}; details in {log_path}")
        return EXIT_FAILED


__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_commands",
           "build_gui_parser", "build_parser", "display_problem", "gui_main", "main"]
