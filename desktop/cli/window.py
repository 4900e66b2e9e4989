"""``linewatch [FILE] [options]`` without a command: the window's options and its launch.

Imports nothing heavy: Qt, pyqtgraph and the rest load in :func:`desktop.app.run_gui`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from desktop.cli.common import EXIT_FAILED, EXIT_USAGE, err
from desktop.cli.options import add_source_options
from desktop.core.errors import LinewatchError
from desktop.core.logsetup import configure_logging

log = logging.getLogger("linewatch")


GUI_USAGE = ("linewatch [FILE] [--source SOURCE] [--measure SECONDS] [--threads N]\n"
             "                 [--baud BAUD] [--speed SPEED] [--rate RATE] [--format FORMAT]"
             " [--decimal {.,,}]")


def window_options_help() -> str:
    """The window's arguments, formatted as argparse would, for the top-level help."""
    gui = build_gui_parser()
    formatter = argparse.HelpFormatter(prog="linewatch")
    formatter.start_section("window options (linewatch [FILE] [options], no COMMAND)")
    formatter.add_arguments([a for a in gui._actions if not isinstance(a, argparse._HelpAction)])
    formatter.end_section()
    return formatter.format_help()


def build_gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linewatch",
        usage=GUI_USAGE,
        description="Open the live workbench window (default: the last source, first run: "
                    "the demo rig). Headless commands: linewatch --help.")
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="a recording to open instead of a live source")
    add_source_options(parser, default_text="the last source; demo on first run")
    parser.set_defaults(source=None)
    parser.add_argument("--measure", type=float, metavar="SECONDS", default=None,
                        help="run the window this long, then print frame figures as one "
                             "JSON line and exit (a diagnostic; works offscreen)")
    parser.add_argument("--workspace", metavar="FILE", default=None,
                        help="open the window as a saved workspace left it (source or file, "
                             "model, channels, colours, layout; File → Save workspace…)")
    parser.add_argument("--machine", metavar="NAME", default=None,
                        help="the machine profile of FILE or the source (linewatch machine "
                             "add), as if chosen in the Diagnosis dock: diagnosis, baseline "
                             "verdicts and AdaBN use it")
    parser.add_argument("--threads", type=int, metavar="N", default=None,
                        help="CPU threads for model runs (torch and BLAS/OpenMP: live "
                             "verdicts, whole-file verdicts); default 1, so the model never "
                             "takes the cores the window and acquisition need")
    return parser


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """Why the window cannot open here, or None.

    On Linux with no X11/Wayland display and no Qt platform chosen, Qt would abort the
    process with a plugin error that does not say what to do; say it plainly instead.
    """
    import os

    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return ("no display: the window needs a desktop session (DISPLAY or WAYLAND_DISPLAY is "
            "not set). Without a screen, record with `linewatch record --source demo --out "
            "rec.parquet --seconds 10`, judge with `linewatch predict rec.parquet`, or run "
            "the window off-screen for a diagnostic: QT_QPA_PLATFORM=offscreen linewatch "
            "--measure 10")


def machine_problem(name: str, workspace: str | None) -> str | None:
    """Why ``--machine NAME`` cannot be used (no such profile: the known ones listed; with
    ``--workspace``, which names its own machine), or None."""
    from desktop.diagnosis.profiles import ProfileStore

    if workspace:
        return ("--machine and --workspace: the workspace names its own machine; open it, "
                "then pick the machine in the Diagnosis dock")
    try:
        ProfileStore().load(name)
    except LinewatchError as exc:  # "no machine 'x' (machines: a, b); add one with …"
        return str(exc)
    return None


def gui_main(argv: Sequence[str]) -> int:
    args = build_gui_parser().parse_args(argv)
    log_path = configure_logging(console_level=logging.WARNING)
    if args.measure is not None and not args.measure > 0:
        err("--measure must be a positive number of seconds")
        return EXIT_USAGE
    if args.threads is not None:
        if args.threads < 1:
            err(f"--threads must be at least 1, got {args.threads}")
            return EXIT_USAGE
        import os

        os.environ["LINEWATCH_THREADS"] = str(args.threads)  # desktop.ml.threads reads it
    if args.machine is not None:
        problem = machine_problem(args.machine, args.workspace)
        if problem:
            err(problem)
            return EXIT_USAGE
    problem = display_problem()
    if problem:
        err(problem)
        return EXIT_USAGE
    from desktop.app import run_gui

    options: dict[str, object] = {"baud": args.baud, "speed": args.speed,
                                  "line_format": args.line_format}
    if args.decimal is not None:
        options["decimal"] = args.decimal
    if args.rate is not None:
        options["rate"] = args.rate
    if args.modbus_map:
        options.update(map=args.modbus_map, unit=args.unit, parity=args.parity,
                       stopbits=args.stopbits, modbus_timeout=args.modbus_timeout)
    try:
        return run_gui(args.source, args.file, options, args.measure,
                       workspace=args.workspace, machine=args.machine)
    except LinewatchError as exc:
        err(str(exc))
        return EXIT_USAGE
    except Exception as exc:
        log.exception("the window failed")
        err(f"unexpected error: {exc!r}; details in {log_path}")
        return EXIT_FAILED
