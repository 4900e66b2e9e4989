"""``linewatch export | verdicts export | report``: taking results away from the workbench.

``export`` cuts a time span of a recording to CSV or Parquet; ``verdicts export`` turns a
``predict --out`` table or ``predict --json`` output into CSV, JSON or Parquet; ``report``
writes one recording's condition report as HTML or PDF. Labels export with
``linewatch labels export``. Problems are :class:`~desktop.core.errors.LinewatchError`
lines from :func:`desktop.cli.main`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from desktop.cli.common import positive
from desktop.core.errors import InputError, UsageError


def _check_out(out: Path, suffixes: tuple[str, ...], overwrite: bool) -> None:
    if out.suffix.lower() not in suffixes:  # a bad command line: exit 2, nothing written
        listing = (f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1
                   else suffixes[0])
        raise UsageError(f"--out {out}: give a {listing} file")
    if out.exists() and not overwrite:
        raise InputError(f"{out} already exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: the folder {out.parent} does not exist")


def cmd_export(args: argparse.Namespace) -> int:
    from desktop.fleet.export import SELECTION_SUFFIXES, select, write_selection

    out = Path(args.out).expanduser()
    _check_out(out, SELECTION_SUFFIXES, args.overwrite)
    if Path(args.file).expanduser().absolute() == out.absolute():
        raise InputError("--out must not be the recording itself")
    channels = [c.strip() for c in args.channels.split(",") if c.strip()] \
        if args.channels else None
    sel = select(args.file, args.start, args.end, channels, args.rate)
    write_selection(sel, out)
    print(f"exported {sel.values.shape[0]:,} samples x {len(sel.channels)} channels "
          f"({sel.start_s:.3f}-{sel.end_s:.3f} s) -> {out}", flush=True)
    return 0


def cmd_verdicts_export(args: argparse.Namespace) -> int:
    from desktop.fleet.export import VERDICT_SUFFIXES, export_verdicts

    out = Path(args.out).expanduser()
    _check_out(out, VERDICT_SUFFIXES, args.overwrite)
    if Path(args.file).expanduser().absolute() == out.absolute():
        raise InputError("--out must not be the input itself")
    rows = export_verdicts(Path(args.file), out)
    print(f"exported {rows:,} verdicts -> {out}", flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from desktop.core.tasks import TaskState
    from desktop.fleet.report import REPORT_SUFFIXES, ReportOptions, build_report, write_report

    out = Path(args.out).expanduser()
    _check_out(out, REPORT_SUFFIXES, args.overwrite)
    if (args.group is None) != (args.foundation is None):
        raise InputError("severity needs both --group 1|2 and --foundation rigid|flexible")
    model = args.model
    if model == "diagnosis" and args.machine:  # the verdicts need the machine's bearing
        model = f"diagnosis:{args.machine}"
    options = ReportOptions(model=model, verdicts=args.verdicts, channel=args.channel,
                            rate=args.rate, bearing=args.bearing, rpm=args.rpm,
                            group=args.group, foundation=args.foundation, unit=args.unit,
                            block_s=args.block, store=args.store, device=args.device,
                            machine=args.machine)
    task = TaskState()
    if not args.quiet:
        task.add_listener(lambda p, msg, _info: print(f"linewatch: {msg}", file=sys.stderr,
                                                      flush=True))
    report = build_report(args.file, options, task)
    write_report(report, out)
    print(f"wrote {out}", flush=True)
    return 0


def add_commands(subparsers: Any) -> None:
    """Register ``export``, ``verdicts export`` and ``report``."""
    e = subparsers.add_parser(
        "export", help="write a time span of a recording to CSV or Parquet",
        description="Cut START-END seconds (from the first sample) of a recording, all or "
                    "some channels, to .csv (time_s,<channels>) or .parquet (Linewatch's "
                    "recording layout, units and rate kept). Times stay the file's own.")
    e.add_argument("file", help="recording: .parquet, .csv or .mat")
    e.add_argument("--start", type=float, default=None, metavar="S",
                   help="from S seconds after the first sample (default: the start)")
    e.add_argument("--end", type=float, default=None, metavar="S",
                   help="up to (not including) S seconds (default: the end)")
    e.add_argument("--channels", default=None, metavar="A,B",
                   help="comma-separated channel names or unique parts (default: all)")
    e.add_argument("--rate", type=positive, default=None,
                   help="sample rate in Hz, when the file does not say")
    e.add_argument("--out", required=True, help="file to write: .csv or .parquet")
    e.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    e.set_defaults(func=cmd_export)

    v = subparsers.add_parser("verdicts", help="export verdict tables (CSV, JSON, Parquet)")
    vsub = v.add_subparsers(dest="verdicts_command", metavar="ACTION", required=True)
    ve = vsub.add_parser("export", help="convert `predict --out` or `predict --json` output",
                         description="Read a verdict table written by `linewatch predict … "
                                     "--out` (.parquet, .csv, .json) or the output of "
                                     "`linewatch predict FILE --json`, write it as .csv, "
                                     ".json or .parquet. Labels: `linewatch labels export`.")
    ve.add_argument("file", help="verdict table or predict --json output")
    ve.add_argument("--out", required=True, help="file to write: .csv, .json or .parquet")
    ve.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    ve.set_defaults(func=cmd_verdicts_export)

    r = subparsers.add_parser(
        "report", help="a recording's condition report as HTML or PDF",
        description="Signal overview per channel, amplitude and envelope spectra with "
                    "bearing fault markers, ISO 20816-3 severity zones, a model's verdicts "
                    "and the recording's labels, as one HTML page (charts inline) or a PDF.")
    r.add_argument("file", help="recording: .parquet, .csv or .mat")
    r.add_argument("--out", required=True, help="report.html or report.pdf")
    r.add_argument("--model", default=None,
                   help="judge the file with this model for the verdict summary")
    r.add_argument("--machine", default=None, metavar="NAME",
                   help="a machine profile (`linewatch machine add`): adds the bearing "
                        "diagnosis section (location, speed and its source, the lines "
                        "found); --model diagnosis adds it too (bearing from --bearing)")
    r.add_argument("--verdicts", type=Path, default=None, metavar="TABLE",
                   help="take the verdicts from a `predict --out` table instead")
    r.add_argument("--channel", default=None,
                   help="channel for spectra and severity (default: the model's, else the "
                        "first)")
    r.add_argument("--rate", type=positive, default=None,
                   help="sample rate in Hz, when the file does not say")
    r.add_argument("--bearing", default=None, metavar="NAME",
                   help="bearing preset for fault markers (6205, 6203, UER204, ZA-2115)")
    r.add_argument("--rpm", type=positive, default=None,
                   help="shaft speed in r/min (default: from the file, if it has it)")
    r.add_argument("--group", type=int, choices=(1, 2), default=None,
                   help="ISO 20816-3 machine group (1: 300 kW-50 MW, 2: 15-300 kW)")
    r.add_argument("--foundation", choices=("rigid", "flexible"), default=None,
                   help="ISO 20816-3 foundation class")
    r.add_argument("--unit", default=None,
                   help="unit of the channel for severity: g, m/s2 or mm/s (default: the "
                        "file's)")
    r.add_argument("--block", type=positive, default=10.0, metavar="S",
                   help="severity trend block in seconds (default 10)")
    r.add_argument("--store", type=Path, default=None, metavar="PATH",
                   help="label store (default: the user's)")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (with --model)")
    r.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    r.add_argument("--quiet", action="store_true", help="no progress on stderr")
    r.set_defaults(func=cmd_report)
