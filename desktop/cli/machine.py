"""``linewatch machine add|list|show|edit|remove``: machine profiles at the command line.

The profiles themselves (validation, storage) are :mod:`desktop.diagnosis.profiles`; this
module parses options and prints. A bad name, bearing or speed is one line on stderr and
exit code 2.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from desktop.analysis.errors import AnalysisError
from desktop.cli.common import EXIT_OK, guard


def _speed_from_args(args: argparse.Namespace) -> Any:
    from desktop.diagnosis.profiles import SpeedSpec

    given = [k for k in ("rpm", "rpm_channel", "tacho_channel", "rpm_range")
             if getattr(args, k, None) is not None]
    if len(given) > 1:
        raise AnalysisError("give one speed source: --rpm, --rpm-channel, --tacho-channel "
                            "or --rpm-range")
    if args.pulses_per_rev is not None and args.tacho_channel is None:
        raise AnalysisError("--pulses-per-rev goes with --tacho-channel")
    if not given:
        return None
    if args.rpm is not None:
        return SpeedSpec("rpm", rpm=args.rpm)
    if args.rpm_channel is not None:
        return SpeedSpec("rpm_channel", channel=args.rpm_channel)
    if args.tacho_channel is not None:
        return SpeedSpec("tacho", channel=args.tacho_channel,
                         pulses_per_rev=args.pulses_per_rev or 1)
    return SpeedSpec("rpm_range", rpm_range=(args.rpm_range[0], args.rpm_range[1]))


def _bearing_text(args: argparse.Namespace) -> str | None:
    if args.bearing and args.geometry:
        raise AnalysisError("give --bearing or --geometry, not both")
    if args.geometry:
        from desktop.analysis.bearings import parse_geometry

        parse_geometry(args.geometry)
        return str(args.geometry)
    return args.bearing


def _sensors(channels: list[str] | None, bearing: str | None) -> Any:
    """``--channel C`` or ``--channel C:BEARING`` (its own bearing) per sensor."""
    from desktop.diagnosis.profiles import ANY_CHANNEL, Sensor

    if not channels:
        return (Sensor(ANY_CHANNEL, bearing),) if bearing else ()
    out = []
    for spec in channels:
        name, _, own = spec.partition(":")
        if not name.strip():
            raise AnalysisError(f"--channel wants C or C:BEARING, got '{spec}'")
        b = own.strip() or bearing
        if not b:
            raise AnalysisError(f"sensor '{name}' needs a bearing: --bearing B or "
                                f"--channel {name}:B")
        out.append(Sensor(name.strip(), b))
    return tuple(out)


def _print_profile(doc: dict[str, Any]) -> None:
    sp = doc["speed"]
    speed = {"rpm": lambda: f"{sp['rpm']:g} r/min (fixed)",
             "rpm_channel": lambda: f"channel {sp['channel']} (r/min)",
             "tacho": lambda: f"tacho {sp['channel']}, {sp['pulses_per_rev']} pulse(s)/rev",
             "rpm_range": lambda: f"from the spectrum, {sp['rpm_range'][0]:g}-"
                                  f"{sp['rpm_range'][1]:g} r/min",
             "unknown": lambda: "not given (the file's RPM, else the spectrum)"}[sp["kind"]]()
    print(f"machine:    {doc['name']}")
    print(f"speed:      {speed}")
    iso = (f"group {doc['group']}, {doc['foundation']} foundation"
           if doc["group"] or doc["foundation"] else "not given")
    print(f"ISO 20816:  {iso}")
    print(f"unit:       {doc['unit']}")
    for s in doc["sensors"]:
        print(f"sensor:     {'any channel' if s['channel'] == '*' else s['channel']}: "
              f"bearing {s['bearing']}")


def cmd_machine(args: argparse.Namespace) -> int:
    from desktop.diagnosis.profiles import MachineProfile, ProfileStore, SpeedSpec

    store = ProfileStore()
    action = args.action
    if action == "list":
        names = store.names()
        docs = [store.load(n).to_json() for n in names]
        if args.json:
            print(json.dumps({"machines": docs}), flush=True)
        elif not names:
            print("no machines yet: linewatch machine add NAME --bearing B --rpm R")
        else:
            for d in docs:
                sensors = ", ".join(f"{s['channel']}:{s['bearing']}" for s in d["sensors"])
                print(f"{d['name']:24s} speed {d['speed']['kind']:12s} {sensors}")
        return EXIT_OK
    if not args.name:
        raise AnalysisError(f"machine {action} needs a NAME")
    if action in ("show", "remove"):
        prof = store.load(args.name)
        if action == "remove":
            store.remove(args.name)
            if args.json:
                print(json.dumps({"removed": args.name}), flush=True)
            else:
                print(f"removed machine '{args.name}'")
            return EXIT_OK
        doc = prof.to_json()
        if args.json:
            print(json.dumps(doc), flush=True)
        else:
            _print_profile(doc)
        return EXIT_OK
    speed = _speed_from_args(args)
    bearing = _bearing_text(args)
    if action == "add":
        if store.exists(args.name):
            raise AnalysisError(f"machine '{args.name}' exists; change it with "
                                f"linewatch machine edit {args.name}")
        prof = MachineProfile(args.name, _sensors(args.channel, bearing),
                              speed or SpeedSpec(), args.group, args.foundation,
                              args.unit or "g")
        path = store.save(prof)
    else:  # edit
        prof = store.load(args.name)
        if args.channel:
            sensors = _sensors(args.channel, bearing or (
                prof.sensors[0].bearing if prof.sensors else None))
        elif bearing:
            sensors = tuple(replace(s, bearing=bearing) for s in prof.sensors) or \
                _sensors(None, bearing)
        else:
            sensors = prof.sensors
        prof = MachineProfile(prof.name, sensors, speed or prof.speed,
                              args.group if args.group is not None else prof.group,
                              args.foundation or prof.foundation, args.unit or prof.unit)
        path = store.save(prof, overwrite=True)
    if args.json:
        print(json.dumps(prof.to_json()), flush=True)
    else:
        print(f"saved machine '{prof.name}' to {path}")
        _print_profile(prof.to_json())
    return EXIT_OK


def add_machine_options(p: argparse.ArgumentParser) -> None:
    """Bearing and speed options shared by ``machine add|edit`` and ``diagnose``."""
    p.add_argument("--bearing", default=None, metavar="DESIGNATION",
                   help="bearing designation (6205, 6308, ZA-2115, 22210, 30208 ...)")
    p.add_argument("--geometry", default=None, metavar="N,d,D,ANGLE",
                   help="rolling elements, element and pitch diameter (same unit), contact "
                        "angle in degrees, e.g. 9,0.3126,1.537,0")
    p.add_argument("--rpm", type=float, default=None, metavar="R",
                   help="fixed shaft speed, r/min")
    p.add_argument("--rpm-channel", default=None, metavar="C",
                   help="a channel holding the shaft speed in r/min")
    p.add_argument("--tacho-channel", default=None, metavar="C",
                   help="a tacho (once or K times per revolution pulse) channel")
    p.add_argument("--pulses-per-rev", type=int, default=None, metavar="K",
                   help="tacho pulses per revolution (default 1)")
    p.add_argument("--rpm-range", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="find the speed in the spectrum between LO and HI r/min")


def add_commands(subparsers: Any) -> None:
    """Register ``machine`` on an argparse subparsers object (an :class:`AnalysisError`
    is one line and exit 2)."""
    m = subparsers.add_parser(
        "machine", help="machine profiles: sensors, bearings, speed (add|list|show|edit|"
                        "remove)",
        description="Machine profiles for `linewatch diagnose --machine NAME`, stored in "
                    "the user data folder (machines/NAME.json).")
    m.add_argument("action", choices=("add", "list", "show", "edit", "remove"))
    m.add_argument("name", nargs="?", default=None, help="machine name")
    add_machine_options(m)
    m.add_argument("--channel", action="append", default=None, metavar="C[:BEARING]",
                   help="a sensor's channel, optionally with its own bearing "
                        "(repeat for several sensors)")
    m.add_argument("--group", type=int, choices=(1, 2), default=None,
                   help="ISO 20816-3 machine group")
    m.add_argument("--foundation", choices=("rigid", "flexible"), default=None,
                   help="ISO 20816-3 foundation class")
    m.add_argument("--unit", choices=("g", "m/s2", "mm/s"), default=None,
                   help="the sensors' unit (default g)")
    m.add_argument("--json", action="store_true", help="print JSON")
    m.set_defaults(func=guard(cmd_machine))


