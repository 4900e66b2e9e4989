"""``linewatch info`` (what a recording holds) and ``linewatch recover`` (a crashed
recording's journal to its .parquet)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from desktop.cli.common import EXIT_OK, format_counts
from desktop.cli.options import add_decimal_option, add_read_options, read_options
from desktop.core.errors import RecordingError, SourceError


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
        print(f"malformed:   {format_counts(summary.malformed)}")
    for note in summary.notes:
        print(f"note:        {note}")
    return EXIT_OK


def _inferred_text(value: object) -> str:
    """One inferred item in words: lists joined, mappings as ``key: value`` pairs."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inferred_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_inferred_text(v) for v in value)
    return str(value)


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


def add_commands(subparsers: Any) -> None:
    """Register ``info`` and ``recover``."""
    info = subparsers.add_parser("info",
                                 help="channels, rate, duration and samples of a recording")
    info.add_argument("file", help="a .parquet, .feather/.arrow or .csv recording (or a crash "
                                   "journal)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    add_decimal_option(info)
    add_read_options(info)
    info.set_defaults(func=cmd_info)

    recover = subparsers.add_parser(
        "recover", help="turn the journal of a crashed recording into its .parquet")
    recover.add_argument("file", help="the recording's .parquet path (or its .journal folder)")
    recover.set_defaults(func=cmd_recover)
