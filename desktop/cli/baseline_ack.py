"""``linewatch baseline-ack NAME [--sensor S] [--at TIME] [--user U] [--comment C]
[--clear] [--json]``: acknowledge a machine's baseline alarms so that every later
``trend --machine`` run shows them acknowledged (:mod:`desktop.baseline.acks` holds the
rule; docs/baseline.md).

A command of its own rather than ``baseline ack``: ``baseline NAME FILES…`` takes any
machine name as its first word (a machine may be called ``ack``), so a subcommand there
would change what an existing command line means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
from typing import Any

from desktop.analysis.errors import AnalysisError
from desktop.cli.common import EXIT_OK, guard


def parse_at(text: str) -> dt.datetime:
    """``--at``: an ISO 8601 date or date-time (``2004-02-12 10:30``, ``…T10:30:00Z``);
    :class:`AnalysisError` (one line) otherwise."""
    try:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise AnalysisError(f"--at {text!r} is not a date-time: write it as 2004-02-12 "
                            "10:30 (the snapshots' own clock, as their file names say)"
                            ) from None


def _check_baseline(machine: str) -> None:
    """:class:`AnalysisError` (exit 2) naming the machines that have baselines when
    ``machine`` has none: there is no baseline alarm to acknowledge, never a reported
    success that no ``trend --machine`` run could apply."""
    from desktop.baseline.store import BaselineStore

    store = BaselineStore()
    if not store.exists(machine):
        known = ", ".join(store.names()) or "none yet"
        raise AnalysisError(f"machine '{machine}' has no baseline, so no baseline alarms to "
                            f"acknowledge (machines with baselines: {known}); learn one "
                            f"with linewatch baseline {machine} FILES")


def _check_sensor(machine: str, sensor: str | None) -> str:
    """``sensor`` (or ``*``) when the machine's learnt baseline has it; else
    :class:`AnalysisError` naming the sensors it has."""
    from desktop.baseline.acks import ALL_SENSORS
    from desktop.baseline.store import BaselineStore

    if not sensor or sensor == ALL_SENSORS:
        return ALL_SENSORS
    store = BaselineStore()
    if store.exists(machine):
        known = sorted(store.load(machine).sensors)
        if sensor not in known:
            raise AnalysisError(f"machine '{machine}' has no baseline sensor {sensor!r} "
                                f"(sensors: {', '.join(known) or 'none'}); leave out "
                                "--sensor for all of them")
    return sensor


def cmd_baseline_ack(args: argparse.Namespace) -> int:
    from desktop.baseline.acks import AckStore, acknowledge
    from desktop.diagnosis.profiles import ProfileStore

    name = ProfileStore().load(args.name).name  # an unknown machine: one line, exit 2
    if args.clear:
        extra = [o for o, v in (("--sensor", args.sensor), ("--at", args.at),
                                ("--user", args.user), ("--comment", args.comment)) if v]
        if extra:
            raise AnalysisError(f"--clear drops every acknowledgement of '{name}'; leave out "
                                f"{', '.join(extra)}")
        n = AckStore().clear(name)
        if args.json:
            print(json.dumps({"machine": name, "cleared": n}), flush=True)
        else:
            print(f"machine {name}: {n} acknowledgement(s) cleared")
        return EXIT_OK
    at = parse_at(args.at) if args.at else None
    _check_baseline(name)
    sensor = _check_sensor(name, args.sensor)
    ack = acknowledge(name, sensor, at, args.user or getpass.getuser(), args.comment or "")
    doc: dict[str, Any] = {"machine": name, "ack": ack.to_json()}
    if args.json:
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    a = doc["ack"]
    print(f"machine {name}: baseline alarms of sensor {a['sensor']} acknowledged at "
          f"{a['at']} by {a['user']}" + (f": {a['comment']}" if a["comment"] else "")
          + "; the next trend --machine run applies it")
    return EXIT_OK


def add_commands(subparsers: Any) -> None:
    """Register ``baseline-ack``."""
    p = subparsers.add_parser(
        "baseline-ack", help="acknowledge a machine's baseline alarms (kept for every trend)",
        description="Store an acknowledgement of machine NAME's latched baseline alarms: "
                    "every later `linewatch trend FILES --machine NAME` applies it after the "
                    "last snapshot at or before --at, as if Acknowledge had been pressed "
                    "then (docs/baseline.md). --clear drops them all.")
    p.add_argument("name", metavar="NAME", help="the machine profile (linewatch machine list)")
    p.add_argument("--sensor", default=None, metavar="S",
                   help="only this sensor's alarms (default: every sensor)")
    p.add_argument("--at", default=None, metavar="TIME",
                   help="when, on the snapshots' own clock (ISO 8601, e.g. '2004-02-12 "
                        "10:30'; default: now, local time)")
    p.add_argument("--user", default=None, help="who acknowledges (default: the login name)")
    p.add_argument("--comment", default=None, help="why, what was done")
    p.add_argument("--clear", action="store_true",
                   help="drop every stored acknowledgement of NAME instead")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=guard(cmd_baseline_ack))
