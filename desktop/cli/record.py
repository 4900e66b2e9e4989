"""``linewatch record`` (a source to a Parquet file, headless) and ``linewatch sources``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from desktop.cli.common import EXIT_FAILED, EXIT_OK, err, format_counts
from desktop.cli.options import add_source_options, build_source
from desktop.core.errors import LinewatchError, RecordingError, SourceError, UsageError
from desktop.core.types import SourceState


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


def _check_out(out: Path, overwrite: bool) -> None:
    """Before the source is opened: the recorder writes Parquet only
    (``recording/writer.py``), so any other ``--out`` suffix is refused
    (:class:`UsageError`, exit 2), never a ``.csv`` that holds Parquet bytes; an existing
    ``--out`` (or its journal) without ``--overwrite`` is a :class:`RecordingError`."""
    from desktop.recording.parquet_file import PARQUET_SUFFIXES
    from desktop.recording.writer import journal_path

    if out.suffix.lower() not in PARQUET_SUFFIXES:
        raise UsageError(f"--out {out}: record writes Parquet (.parquet or .pq); use "
                         "linewatch export to write CSV from it")
    if not overwrite and (out.exists() or journal_path(out).exists()):
        raise RecordingError(f"{out} already exists (or its journal does); pass "
                             "--overwrite to replace it, or pick another name")


def cmd_record(args: argparse.Namespace) -> int:
    from desktop.streams.acquisition import Acquisition

    out = Path(args.out).expanduser()
    _check_out(out, args.overwrite)
    if args.overwrite:
        _remove_recording(out)
    if args.seconds is not None and not args.seconds > 0:
        raise SourceError("--seconds must be positive")
    source = build_source(args)
    source.add_state_listener(
        lambda state, detail: err(f"{source.description}: {state.value}"
                                   + (f" ({detail})" if detail else "")))
    watcher = None
    if getattr(args, "actions", None) and not getattr(args, "rules", None):
        raise UsageError("--actions needs --rules (the rules whose alarms run them)")
    if getattr(args, "rules", None):  # alarm rules, evaluated live and logged
        from desktop.alarms.live import record_watcher

        watcher = record_watcher(args.rules, source.description, out, err,
                                 getattr(args, "actions", None))
    acq = Acquisition(source, history_s=args.history,
                      on_recording_error=lambda msg: err(msg))
    stop = _StopFlag()
    stop.install()
    acq.open()
    if watcher is not None and source.channels:  # a rule the source cannot feed: refused
        _bind_rules(watcher, acq, [c.name for c in source.channels],
                    [c.unit for c in source.channels], "")
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
        if watcher is not None and watcher.unbound and acq.buffer is not None:
            specs = acq.buffer.channels  # the first block: the source's channels known
            _bind_rules(watcher, acq, [c.name for c in specs], [c.unit for c in specs],
                        f"; stopped after the first block ({out})")
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
              f"({format_counts(counters.malformed_by_kind)}); dropped {counters.dropped:,} "
              f"-> {out}", flush=True)
        if "polling" in summary:
            print(f"polling: {json.dumps(summary['polling'])}", flush=True)
        if "alarms" in summary:
            print(f"alarms: {json.dumps(summary['alarms'])}", flush=True)
    if summary["error"] or (watcher is not None and watcher.error):
        return EXIT_FAILED
    return EXIT_OK


def _bind_rules(watcher: Any, acq: Any, names: list[str], units: list[str], note: str
                ) -> None:
    """Bind ``--rules`` to the source's channels; a rule naming a channel the source lacks
    (or several) stops the recording at once: :class:`UsageError` (exit 2), one line
    (``note``: what was recorded, if anything)."""
    from desktop.alarms.rules import RulesError

    try:
        watcher.bind(names, units)
    except RulesError as exc:
        acq.close()
        watcher.close()
        raise UsageError(f"--rules: {exc}{note}") from None


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


def add_commands(subparsers: Any) -> None:
    """Register ``record`` and ``sources``."""
    rec = subparsers.add_parser("record", help="record a source to a Parquet file, headless")
    add_source_options(rec)
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

    src = subparsers.add_parser("sources", help="list serial ports and built-in sources")
    src.add_argument("--json", action="store_true", help="print one JSON object")
    src.set_defaults(func=cmd_sources)
