"""``linewatch alarms list|export|ack``: the alarm log, headless.

``list`` prints one line per alarm (raised, cleared, acknowledged by whom, comment), or
every log entry with ``--entries``; ``--json`` prints one JSON list instead. ``export FILE``
writes the same to a CSV (text cells through the spreadsheet-formula guard of
:mod:`desktop.core.spreadsheet`) or, with ``--json``, a JSON file, atomically.
``ack ID --user NAME --comment TEXT`` acknowledges an alarm from a script or over SSH.
``check FILE --rules RULES`` runs a rules file (:mod:`desktop.alarms.rules`) over a
recording and prints (``--write-log``: also logs) every raise and clear.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
from pathlib import Path

from desktop.alarms.log import COLUMNS, Alarm, AlarmLog, AlarmLogError
from desktop.core.atomic import atomic_open
from desktop.core.errors import UsageError
from desktop.core.spreadsheet import csv_writer

LOG_HINT = "alarms.sqlite3 in the Linewatch data folder"
ALARM_COLUMNS = ("id", "raised", "rule", "channel", "value", "severity", "source",
                 "recording", "time_s", "cleared", "clear_value", "acknowledged",
                 "acknowledged_by", "comment", "latch")


def _open(args: argparse.Namespace, create: bool = False) -> AlarmLog:
    """The log named by ``--log`` (or the default one); a named log must exist unless
    ``create`` (a command that writes to it)."""
    path = Path(args.log).expanduser() if args.log else None
    if path is not None and not path.exists() and not create:
        raise AlarmLogError(f"no alarm log at {path}; leave out --log for the default one")
    return AlarmLog(path)


def log_time(text: str, option: str) -> str:
    """``--since``/``--until`` TEXT as the log stores times (``2026-12-08T00:40:00.000Z``),
    so the log's text comparison is a comparison of times. Accepts what
    :meth:`datetime.fromisoformat` reads: ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM[:SS]``, with
    ``T`` or a space, with or without ``Z`` or an offset; a time without one is UTC. A bare
    date for ``--until`` means the end of that day. :class:`UsageError` (exit 2) otherwise."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date or time; write ISO 8601 UTC, "
                         f"e.g. {option} 2026-12-08 or {option} '2026-12-08 00:40'") from None
    if option == "--until" and len(text.strip()) == 10:  # a bare date: the whole day
        moment += dt.timedelta(days=1, milliseconds=-1)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"))


def _normalise_times(args: argparse.Namespace) -> None:
    """Replace ``args.since``/``args.until`` by :func:`log_time` (in place)."""
    if args.since is not None:
        args.since = log_time(args.since, "--since")
    if args.until is not None:
        args.until = log_time(args.until, "--until")


def _rows(args: argparse.Namespace, log: AlarmLog) -> tuple[tuple[str, ...], list[dict]]:
    if args.entries:
        entries = log.entries(since=args.since, until=args.until, rule=args.rule,
                              channel=args.channel)
        return COLUMNS, [e.to_json() for e in entries]
    alarms = log.alarms(since=args.since, until=args.until, rule=args.rule,
                        channel=args.channel, active_only=args.active,
                        unacknowledged_only=args.unacknowledged)
    return ALARM_COLUMNS, [a.to_json() for a in alarms]


def _line(alarm: Alarm) -> str:
    value = "" if alarm.value is None else f" = {alarm.value:g}"
    where = f" on {alarm.channel}" if alarm.channel else ""
    state = ("ACTIVE" if alarm.cleared is None else
             f"LATCHED (cleared {alarm.cleared})" if alarm.latched else
             f"cleared {alarm.cleared}")
    ack = ("unacknowledged" if alarm.needs_ack
           else f"acknowledged by {alarm.acknowledged_by} at {alarm.acknowledged}"
           + (f": {alarm.comment}" if alarm.comment else ""))
    severity = f" [{alarm.severity}]" if alarm.severity else ""
    return f"#{alarm.id} {alarm.raised}{severity} {alarm.rule}{where}{value}; {state}; {ack}"


def cmd_list(args: argparse.Namespace) -> int:
    _normalise_times(args)
    with _open(args) as log:
        if args.json:
            print(json.dumps(_rows(args, log)[1], allow_nan=False))
            return 0
        if args.entries:
            for e in log.entries(since=args.since, until=args.until, rule=args.rule,
                                 channel=args.channel):
                extra = f" by {e.user}" if e.user else ""
                extra += f": {e.comment}" if e.comment else ""
                value = "" if e.value is None else f" = {e.value:g}"
                ref = f" (alarm #{e.alarm_id})" if e.alarm_id else ""
                print(f"{e.id} {e.time} {e.kind} {e.rule} {e.channel}{value}{ref}{extra}")
            return 0
        alarms = log.alarms(since=args.since, until=args.until, rule=args.rule,
                            channel=args.channel, active_only=args.active,
                            unacknowledged_only=args.unacknowledged)
        for alarm in alarms:
            print(_line(alarm))
        if not alarms:
            print("no alarms logged" + (" that match" if any(
                (args.since, args.until, args.rule, args.channel, args.active,
                 args.unacknowledged)) else ""))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    _normalise_times(args)
    out = Path(args.file).expanduser()
    if out.exists() and not args.overwrite:
        raise AlarmLogError(f"{out} already exists; pass --overwrite to replace it")
    with _open(args) as log:
        columns, rows = _rows(args, log)
    if args.json:
        with atomic_open(out, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1, allow_nan=False)
            fh.write("\n")
    else:
        with atomic_open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv_writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row[c] is None else row[c] for c in columns])
    print(f"exported {len(rows)} {'entries' if args.entries else 'alarms'} -> {out}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    user = args.user or getpass.getuser()
    with _open(args) as log:
        entry = log.acknowledge(args.id, user, args.comment or "")
    print(f"alarm #{args.id} ({entry.rule}) acknowledged by {entry.user} at {entry.time}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import numpy as np

    from desktop.alarms.filecheck import check_file, log_file_events
    from desktop.alarms.rulefile import read_rules

    rules = read_rules(args.rules)
    check = check_file(args.file, rules)
    if args.write_log:
        with _open(args, create=True) as log:
            log_file_events(log, check)
    if args.json:
        print(json.dumps({"file": str(check.path), "rules": len(rules),
                          "raised": check.raised,
                          "events": [e.to_json() for e in check.events]}, allow_nan=False))
        return 0
    for e in check.events:
        value = f"{e.value:g}" if np.isfinite(e.value) else "nan"
        note = " (latched: stays up until acknowledged)" if e.latched else ""
        print(f"{e.time_s:12.3f} s  {e.kind:<5}  {e.rule} [{e.severity}] {e.channel} = "
              f"{value}{note}")
    print(f"{len(rules)} rules over {check.samples:,} samples of {check.path.name}: "
          f"{check.raised} alarms raised" + (" (logged)" if args.write_log else ""))
    return 0


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="TIME", help="from this time on (ISO 8601, e.g. "
                   "2026-12-07, '2026-12-07 08:00' or 2026-12-07T08:00+01:00; without Z "
                   "or an offset: UTC)")
    p.add_argument("--until", metavar="TIME", help="up to this time (ISO 8601, as --since; "
                   "a bare date: through the end of that day)")
    p.add_argument("--rule", metavar="NAME", help="only this rule")
    p.add_argument("--channel", metavar="NAME", help="only this channel")
    p.add_argument("--active", action="store_true", help="only alarms not cleared yet")
    p.add_argument("--unacknowledged", action="store_true",
                   help="only alarms nobody acknowledged yet")
    p.add_argument("--entries", action="store_true",
                   help="every log entry (raise, clear, acknowledge) instead of one line per "
                        "alarm")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``alarms {list,export,ack,check}`` on the top-level command parser."""
    alarms = subparsers.add_parser(
        "alarms", help="list, export or acknowledge logged alarms; check rules on a file",
        description="The alarm log: every raise, clear and acknowledgement with its time, "
                    "rule, channel, value, who acknowledged and their comment.")
    alarms.add_argument("--log", metavar="PATH", default=None,
                        help=f"alarm log file (default: {LOG_HINT})")
    sub = alarms.add_subparsers(dest="alarms_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="print alarms, oldest first")
    _filters(listing)
    listing.add_argument("--json", action="store_true", help="print one JSON list")
    listing.set_defaults(func=cmd_list)

    export = sub.add_parser("export", help="write alarms to FILE (CSV, or JSON with --json)")
    export.add_argument("file", metavar="FILE", help="file to write")
    _filters(export)
    export.add_argument("--json", action="store_true", help="write JSON instead of CSV")
    export.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    export.set_defaults(func=cmd_export)

    ack = sub.add_parser("ack", help="acknowledge alarm ID")
    ack.add_argument("id", type=int, metavar="ID", help="the alarm's id (`alarms list`)")
    ack.add_argument("--user", default=None, help="who acknowledges (default: the login name)")
    ack.add_argument("--comment", default="", help="why, what was done")
    ack.set_defaults(func=cmd_ack)

    check = sub.add_parser("check", help="run alarm rules over a recording, headless")
    check.add_argument("file", metavar="FILE", help="a recording (any format `info` reads)")
    check.add_argument("--rules", required=True, metavar="RULES",
                       help="rules CSV: name,channel,kind,limit,delay_s,hysteresis,severity,"
                            "latch (see the README)")
    check.add_argument("--write-log", action="store_true",
                       help="also log every raise and clear in the alarm log")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(func=cmd_check)
