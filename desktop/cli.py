"""``linewatch <command>``: the headless pieces, for scripts, tests and plant PCs over SSH.

Every user-facing problem ends as one readable line on stderr and a non-zero exit code
(2: bad command line or source, 1: the work failed), never as a traceback. Unexpected
exceptions are logged with their traceback to the log file, whose path is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from desktop import __version__
from desktop.core.errors import (
    LinewatchError,
    MissingFileError,
    RecordingError,
    SourceError,
    UsageError,
)
from desktop.core.logsetup import configure_logging
from desktop.core.types import SourceState

log = logging.getLogger("linewatch")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _err(message: str) -> None:
    progress = sys.modules.get("desktop.ml.cli_ml")
    if progress is not None and progress.PROGRESS_OPEN[0]:  # end the progress line first
        print(file=sys.stderr)
        progress.PROGRESS_OPEN[0] = False
    print(f"linewatch: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- record
def _add_source_options(p: argparse.ArgumentParser, default_text: str = "demo") -> None:
    p.add_argument("--source", default="demo",
                   help="serial:PORT | replay:FILE | demo | synth:CHANNELSxRATE | "
                        "modbus-tcp:HOST:PORT | modbus-rtu:PORT "
                        f"(default: {default_text})")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default 115200)")
    p.add_argument("--speed", default="1",
                   help="replay/demo/synth speed: 1 = real time, 10 = ten times, max = flat out")
    p.add_argument("--rate", type=float, default=None,
                   help="nominal sample rate in Hz for sources whose lines carry no timestamp")
    p.add_argument("--format", dest="line_format", default="auto", metavar="FORMAT",
                   help="serial line format: auto (default), ascii, or binary frames "
                        "binary:SPEC, e.g. binary:sync=AA55,ch=4xi16le,crc=ccitt "
                        "(see the README)")
    _add_decimal_option(p)
    _add_modbus_options(p)


def _add_modbus_options(p: argparse.ArgumentParser) -> None:
    """Options of the modbus-tcp:HOST:PORT and modbus-rtu:PORT sources."""
    g = p.add_argument_group("Modbus (--source modbus-tcp:HOST:PORT | modbus-rtu:PORT)")
    g.add_argument("--map", dest="modbus_map", default=None, metavar="FILE",
                   help="register map CSV: name,function,address,type,scale,offset,unit,"
                        "period_s,word_order (see the README)")
    g.add_argument("--unit", type=int, default=1, metavar="ID",
                   help="Modbus unit (slave) id, 0-247 (default 1)")
    g.add_argument("--parity", choices=("none", "even", "odd"), default="none",
                   help="RTU parity (default none); --baud sets the RTU baud rate")
    g.add_argument("--stopbits", type=int, choices=(1, 2), default=1,
                   help="RTU stop bits (default 1)")
    g.add_argument("--modbus-timeout", type=float, default=1.0, metavar="SECONDS",
                   help="seconds to wait for one reply (default 1)")


def _add_decimal_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--decimal", choices=(".", ","), default=None,
                   help="decimal mark of text lines and files: '.' or ',' (default: "
                        "detected; a decimal comma is read with ';', tab or blank "
                        "separators, e.g. 0,5;21,6)")


def _build_source(args: argparse.Namespace):
    from desktop.app import SourceOptions, create_source, parse_speed

    options = SourceOptions(baud=args.baud, speed=parse_speed(args.speed), rate=args.rate,
                            line_format=args.line_format, decimal=args.decimal,
                            map_path=args.modbus_map, unit=args.unit, parity=args.parity,
                            stopbits=args.stopbits, modbus_timeout=args.modbus_timeout)
    return create_source(args.source, options)


def add_read_options(p: argparse.ArgumentParser) -> None:
    """The options every file reader honours where they apply (``--sheet`` for workbooks,
    ``--group`` for TDMS, ``--dayfirst``/``--monthfirst`` and ``--thousands`` for text)."""
    p.add_argument("--sheet", default=None, metavar="NAME",
                   help="workbook sheet to read (default: the sheet holding the data table)")
    p.add_argument("--group", default=None, metavar="NAME",
                   help="TDMS group to read (default: the fastest group; `info` lists them)")
    order = p.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                       default=None, help="read dates such as 03/04/2024 as day/month")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="read dates such as 03/04/2024 as month/day (US)")
    p.add_argument("--thousands", choices=(",", ".", "'", " "), default=None,
                   help="thousands separator of a text file's numbers (\"1,234.5\" with ',')")


def read_options(args: argparse.Namespace) -> dict[str, object]:
    """The reader options given on the command line (for ``read_recording`` & co.)."""
    names = ("sheet", "group", "dayfirst", "thousands")
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


class _StopFlag:
    """Set by Ctrl-C or SIGTERM so the loop ends between reads and the file is closed."""

    def __init__(self) -> None:
        self.stop = False
        self.signal_name = ""

    def __call__(self) -> bool:
        return self.stop

    def install(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            self.stop = True
            self.signal_name = signal.Signals(signum).name

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else "none"


def _remove_recording(out: Path) -> None:
    """``--overwrite``: the user asked for the old file (and any crash journal) to go.

    Never the journal of a recording that is running now (its recorder holds the journal's
    lock): that would destroy another recorder's data while it still reports success.
    """
    import shutil

    from desktop.recording.journal import JournalLock
    from desktop.recording.writer import journal_path

    if out.is_dir():
        raise SourceError(f"{out} is a folder; give a file name for --out")
    journal = journal_path(out)
    lock = None
    if journal.is_dir():
        try:
            lock = JournalLock(journal).acquire("overwrite it")
        except LinewatchError as exc:
            raise SourceError(f"--overwrite refused: {exc}") from None
    try:
        out.unlink(missing_ok=True)
        if lock is not None:
            lock.release()
        shutil.rmtree(journal, ignore_errors=True)
    finally:
        if lock is not None:
            lock.release()


def cmd_record(args: argparse.Namespace) -> int:
    from desktop.streams.acquisition import Acquisition

    out = Path(args.out).expanduser()
    if args.overwrite:
        _remove_recording(out)
    if args.seconds is not None and not args.seconds > 0:
        raise SourceError("--seconds must be positive")
    source = _build_source(args)
    source.add_state_listener(
        lambda state, detail: _err(f"{source.description}: {state.value}"
                                   + (f" ({detail})" if detail else "")))
    watcher = None
    if getattr(args, "actions", None) and not getattr(args, "rules", None):
        raise UsageError("--actions needs --rules (the rules whose alarms run them)")
    if getattr(args, "rules", None):  # alarm rules, evaluated live and logged
        from desktop.alarms.live import record_watcher

        watcher = record_watcher(args.rules, source.description, out, _err,
                                 getattr(args, "actions", None))
    acq = Acquisition(source, history_s=args.history,
                      on_recording_error=lambda msg: _err(msg))
    stop = _StopFlag()
    stop.install()
    acq.open()
    started = time.monotonic()
    try:
        # --seconds is signal time, not wall time: a busy machine reads later, not less.
        acq.start_recording(out, span_s=args.seconds)
    except LinewatchError:
        acq.close()
        raise
    show_progress = sys.stderr.isatty() and not args.json
    next_progress = started + 1.0
    while not stop() and not acq.recording_full:
        acq.step()
        if watcher is not None:
            watcher.poll(acq.buffer)
        if source.state is SourceState.FINISHED or acq.recording is None:
            break  # replay done, or the disk gave up (already reported)
        if show_progress and time.monotonic() >= next_progress:
            next_progress += 1.0
            rec = acq.recording
            size = rec.bytes_on_disk / 1e6 if rec else 0.0
            recorded = rec.duration_s if rec else 0.0
            print(f"\r{recorded:7.1f} s  {acq.counters.received:>12,} samples"
                  f"  {size:8.1f} MB", end="", file=sys.stderr, flush=True)
    if show_progress:
        print(file=sys.stderr)
    result = acq.close()
    if watcher is not None:
        watcher.poll(acq.buffer)  # the samples taken in on close
        watcher.close()
    counters = acq.counters
    # What is on disk, even after the disk filled up mid-way (then: what the journal kept).
    samples = result.samples if result else 0
    duration = result.duration_s if result else 0.0
    channels = result.channels if result else len(source.channels)
    rate = source.sample_rate or (samples / duration if duration > 0 else None)
    summary = {
        "samples": samples,
        "channels": channels,
        "malformed": counters.malformed,
        "dropped": counters.dropped,
        "duration_s": round(duration, 6),
        "out": str(out),
        "sample_rate": rate,
        "malformed_by_kind": counters.malformed_by_kind,
        "non_finite_live": counters.non_finite,
        "error": result.error if result else acq.recording_error,
    }
    if watcher is not None:
        summary["alarms"] = watcher.summary()
    stats = getattr(source, "stats", None)  # a polled source (Modbus): requests, replies, …
    if callable(stats):
        summary["polling"] = stats()
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        rate_text = f"{rate:,.1f} Hz" if rate else "unknown rate"
        print(f"recorded {samples:,} samples x {channels} channels at {rate_text}, "
              f"{duration:.2f} s; malformed {counters.malformed:,} "
              f"({_format_counts(counters.malformed_by_kind)}); dropped {counters.dropped:,} "
              f"-> {out}", flush=True)
        if "polling" in summary:
            print(f"polling: {json.dumps(summary['polling'])}", flush=True)
        if "alarms" in summary:
            print(f"alarms: {json.dumps(summary['alarms'])}", flush=True)
    if summary["error"] or (watcher is not None and watcher.error):
        return EXIT_FAILED
    return EXIT_OK


# ---------------------------------------------------------------------------- sources
def cmd_sources(args: argparse.Namespace) -> int:
    from desktop.app import source_kinds
    from desktop.sources.serial_port import available_ports

    ports = available_ports()
    kinds = source_kinds()
    if args.json:
        print(json.dumps({
            "serial_ports": [{"device": d, "description": desc} for d, desc in ports],
            "builtin": [{"usage": k.usage, "help": k.help} for k in kinds],
        }))
        return EXIT_OK
    print("Serial ports:")
    if ports:
        for device, description in ports:
            print(f"  serial:{device:<24} {description}")
    else:
        print("  (none found; pseudo-terminals and socat links are not listed but work "
              "as serial:PATH)")
    print("Sources:")
    for kind in kinds:
        print(f"  {kind.usage:<25} {kind.help}")
    return EXIT_OK


# ---------------------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    from desktop.recording.readers import summarize_recording
    from desktop.streams.big_text import cached_summary

    path = Path(args.file).expanduser()
    # A big CSV is summed up from its cache (built once, progress on stderr), never read
    # whole; every other file as before.
    summary = (cached_summary(path, decimal=args.decimal, **read_options(args))
               or summarize_recording(path, decimal=args.decimal, **read_options(args)))
    if args.json:
        print(json.dumps(summary.to_json()))
        return EXIT_OK
    rate = f"{summary.sample_rate:,.3f} Hz" if summary.sample_rate else "unknown"
    names = ", ".join(f"{c.name} [{c.unit}]" if c.unit else c.name for c in summary.channels)
    print(f"file:        {summary.path}"
          + ("  (recovered from crash journal)" if summary.recovered_from_journal else ""))
    if summary.format:
        print(f"format:      {summary.format}")
    print(f"channels:    {len(summary.channels)}: {names}")
    print(f"sample rate: {rate}")
    duration = ("unknown (no rate: give one with --rate where the command has it)"
                if summary.duration_s is None else f"{summary.duration_s:.3f} s")
    print(f"duration:    {duration}")
    print(f"samples:     {summary.samples:,}")
    if summary.source:
        print(f"source:      {summary.source}")
    if summary.start_time:
        print(f"started:     {summary.start_time}")
    for key, value in summary.inferred.items():
        print(f"{key.replace('_', ' ') + ':':<12} {_inferred_text(value)}")
    if summary.malformed:
        print(f"malformed:   {_format_counts(summary.malformed)}")
    for note in summary.notes:
        print(f"note:        {note}")
    return EXIT_OK


def _open_big_text(path: Path | str, rate: float | None, decimal: str | None) -> Any:
    """A big text file through its cache for ``predict`` (None: read it whole)."""
    from desktop.streams.big_text import open_big_text

    return open_big_text(path, rate, decimal)


def _inferred_text(value: object) -> str:
    """One inferred item in words: lists joined, mappings as ``key: value`` pairs."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inferred_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_inferred_text(v) for v in value)
    return str(value)


# ---------------------------------------------------------------------------- recover
def cmd_recover(args: argparse.Namespace) -> int:
    from desktop.recording.journal import JournalLock
    from desktop.recording.writer import describe_os_error, finalize_journal, journal_path

    out = Path(args.file).expanduser()
    journal = out if out.name.endswith(".journal") else journal_path(out)
    if journal is out:
        out = out.with_name(out.name[: -len(".journal")])
    if not journal.is_dir():
        raise SourceError(f"no crash journal for {out} (looked for {journal})")
    if out.exists():
        raise SourceError(f"{out} already exists; move it away before recovering the journal")
    lock = JournalLock(journal).acquire("recover it")  # refused while a recorder writes it
    try:
        rows = finalize_journal(journal, out, lock)
    except OSError as exc:
        size = sum(p.stat().st_size for p in journal.glob("segment-*.arrows")) / 1e6
        raise RecordingError(f"cannot recover {out}: {describe_os_error(exc, out)}; the "
                             f"journal {journal} is kept, nothing is lost: free about "
                             f"{max(size, 1):,.0f} MB there and run `linewatch recover {out}` "
                             "again") from None
    finally:
        lock.release()
    print(f"recovered {rows:,} samples -> {out}")
    return EXIT_OK


# ---------------------------------------------------------------------------- main
GUI_USAGE = ("linewatch [FILE] [--source SOURCE] [--measure SECONDS] [--threads N]\n"
             "                 [--baud BAUD] [--speed SPEED] [--rate RATE] [--format FORMAT]"
             " [--decimal {.,,}]")


def _window_options_help() -> str:
    """The window's arguments, formatted as argparse would, for the top-level help."""
    gui = build_gui_parser()
    formatter = argparse.HelpFormatter(prog="linewatch")
    formatter.start_section("window options (linewatch [FILE] [options], no COMMAND)")
    formatter.add_arguments([a for a in gui._actions if not isinstance(a, argparse._HelpAction)])
    formatter.end_section()
    return formatter.format_help()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linewatch",
        usage=f"{GUI_USAGE}\n       linewatch [--version] [--verbose] COMMAND [options]",
        description="Linewatch: live sensor feeds, recordings and fault models for plant "
                    "engineers.\nWithout a COMMAND it opens the live workbench window; "
                    "`linewatch COMMAND --help`\nexplains each command.",
        epilog=_window_options_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"linewatch {__version__}")
    parser.add_argument("--verbose", action="store_true", help="echo info logs to stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation (window offscreen, demo rig, every "
                             "shipped model, file formats, recording, labels); exit 0 or 1")
    # prog: "linewatch predict: error: …" in one line, not the main usage block glued on
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="linewatch",
                                title="commands (headless)")

    rec = sub.add_parser("record", help="record a source to a Parquet file, headless")
    _add_source_options(rec)
    rec.add_argument("--out", required=True, help="recording to write (.parquet)")
    rec.add_argument("--seconds", type=float, default=None,
                     help="stop once this many seconds of signal are recorded (the samples' "
                          "own time span, not wall time; default: until Ctrl-C or the end "
                          "of a replay)")
    rec.add_argument("--history", type=float, default=60.0,
                     help="seconds of history kept in memory (default 60)")
    rec.add_argument("--overwrite", action="store_true",
                     help="replace --out if it exists (default: refuse, keep the old file)")
    rec.add_argument("--json", action="store_true", help="end with one JSON summary line")
    rec.add_argument("--rules", default=None, metavar="FILE",
                     help="alarm rules CSV evaluated live; every raise and clear goes to "
                          "the alarm log (`linewatch alarms list`)")
    rec.add_argument("--actions", default=None, metavar="FILE",
                     help="with --rules: per-rule actions run when an alarm is raised (write "
                          "a Modbus coil, run a configured command; JSON, see the README); "
                          "none run without this file")
    rec.set_defaults(func=cmd_record)

    src = sub.add_parser("sources", help="list serial ports and built-in sources")
    src.add_argument("--json", action="store_true", help="print one JSON object")
    src.set_defaults(func=cmd_sources)

    info = sub.add_parser("info", help="channels, rate, duration and samples of a recording")
    info.add_argument("file", help="a .parquet, .feather/.arrow or .csv recording (or a crash "
                                   "journal)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    _add_decimal_option(info)
    add_read_options(info)
    info.set_defaults(func=cmd_info)

    recover = sub.add_parser("recover",
                             help="turn the journal of a crashed recording into its .parquet")
    recover.add_argument("file", help="the recording's .parquet path (or its .journal folder)")
    recover.set_defaults(func=cmd_recover)

    from desktop.ml.cli_ml import add_ml_commands  # imports no torch until a command runs

    add_ml_commands(sub)
    # predict reads a big CSV through the file view's cache (ml does not import streams)
    sub.choices["predict"].set_defaults(open_big_text=_open_big_text)
    from desktop.labels.cli_labels import add_labels_commands

    add_labels_commands(sub)
    from desktop.alarms.cli_alarms import add_alarms_commands

    add_alarms_commands(sub)
    from desktop.cli_analysis import add_analysis_commands

    add_analysis_commands(sub)
    from desktop.cli_diagnosis import add_diagnosis_commands

    add_diagnosis_commands(sub)
    from desktop.cli_baseline import add_baseline_commands

    add_baseline_commands(sub)
    from desktop.fleet.cli_fleet import add_fleet_commands

    add_fleet_commands(sub)
    parser.command_names = set(sub.choices)  # type: ignore[attr-defined]
    return parser


def build_gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linewatch",
        usage=GUI_USAGE,
        description="Open the live workbench window (default: the last source, first run: "
                    "the demo rig). Headless commands: linewatch --help.")
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="a recording to open instead of a live source")
    _add_source_options(parser, default_text="the last source; demo on first run")
    parser.set_defaults(source=None)
    parser.add_argument("--measure", type=float, metavar="SECONDS", default=None,
                        help="run the window this long, then print frame figures as one "
                             "JSON line and exit (a diagnostic; works offscreen)")
    parser.add_argument("--workspace", metavar="FILE", default=None,
                        help="open the window as a saved workspace left it (source or file, "
                             "model, channels, colours, layout; File → Save workspace…)")
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


def gui_main(argv: Sequence[str]) -> int:
    args = build_gui_parser().parse_args(argv)
    log_path = configure_logging(console_level=logging.WARNING)
    if args.measure is not None and not args.measure > 0:
        _err("--measure must be a positive number of seconds")
        return EXIT_USAGE
    if args.threads is not None:
        if args.threads < 1:
            _err(f"--threads must be at least 1, got {args.threads}")
            return EXIT_USAGE
        import os

        os.environ["LINEWATCH_THREADS"] = str(args.threads)  # desktop.ml.threads reads it
    problem = display_problem()
    if problem:
        _err(problem)
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
                       workspace=args.workspace)
    except LinewatchError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except Exception as exc:
        log.exception("the window failed")
        _err(f"unexpected error: {exc!r}; details in {log_path}")
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
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
        _err(str(exc))
        return (EXIT_USAGE if isinstance(exc, SourceError | UsageError | MissingFileError)
                else EXIT_FAILED)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: a bug, not a user error
        log.exception("unexpected error")
        _err(f"unexpected error: {exc!r}; details in {log_path}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
