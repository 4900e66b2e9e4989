"""``linewatch diagnose FILE``: bearing fault location from fault-frequency evidence.

Reads one channel through :func:`desktop.recording.readers.read_recording` (the same
reader as ``info``/``spectrum``), settles the bearing and the shaft speed, and prints the
verdict for the whole span and per window (:mod:`desktop.diagnosis`). Speed, in order:
``--rpm``; ``--rpm-channel``/``--tacho-channel``; the machine profile's speed; the RPM
stored in the file (a ``.mat`` file's ``X106RPM``, or an MFPT file's shaft rate
``bearing.rate`` in Hz beside ``bearing.sr``); a channel named like rpm/speed; else
estimated from the spectrum inside ``--rpm-range`` (or the profile's range, or
300–6000 r/min). A problem the user can fix is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.cli.analysis import _pick_channel, _read_file
from desktop.cli.common import EXIT_OK, guard, positive
from desktop.cli.machine import add_machine_options

_SPEEDY = ("rpm", "speed", "tacho", "tach", "keyphasor")


def _is_speed(name: str, unit: str) -> bool:
    low = name.lower()
    return unit.lower() in ("rpm", "r/min", "1/min") or any(s in low for s in _SPEEDY)


def _mfpt_shaft_hz(scalars: dict[str, float]) -> tuple[str, float] | None:
    """The MFPT fault data sets' convention (E. Bechhoefer, MFPT Society, 2013): a struct
    with ``sr`` (sample rate, Hz) and ``rate`` (shaft rate, Hz). ``rate`` is taken as the
    shaft speed only beside a sibling ``sr`` and only between 1 and 200 Hz."""
    for name, value in scalars.items():
        prefix, _, leaf = name.rpartition(".")
        if leaf.lower() != "rate" or not (math.isfinite(value) and 1.0 < value <= 200.0):
            continue
        sibling = f"{prefix}.sr" if prefix else "sr"
        if sibling in scalars and scalars[sibling] > 10 * value:
            return name, float(value)
    return None


def _speed(args: argparse.Namespace, prof: Any, rec: Any, scalars: dict[str, float],
           names: list[str], i0: int, i1: int, fs: float) -> tuple[Any, Any, Any]:
    """``(ShaftSpeed | None, rpm_range | None, theta | None)`` (module docstring)."""
    from desktop.diagnosis.order_tracking import angle_from_edges, angle_from_speed
    from desktop.diagnosis.speed import (
        ShaftSpeed,
        speed_from_channel,
        speed_from_tacho,
        tacho_edges,
    )

    spec = prof.speed if prof is not None else None
    rpm_range = tuple(args.rpm_range) if args.rpm_range else (
        spec.rpm_range if spec is not None and spec.kind == "rpm_range" else None)
    if args.rpm is not None:
        if not (math.isfinite(args.rpm) and args.rpm > 0):
            raise AnalysisError(f"--rpm must be positive, got {args.rpm:g}")
        return ShaftSpeed(args.rpm, "--rpm"), rpm_range, None
    rpm_ch, tacho_ch, ppr = args.rpm_channel, args.tacho_channel, args.pulses_per_rev or 1
    if rpm_ch is None and tacho_ch is None and spec is not None:
        if spec.kind == "rpm":
            return ShaftSpeed(float(spec.rpm), f"machine {prof.name}"), rpm_range, None
        if spec.kind == "rpm_channel":
            rpm_ch = spec.channel
        if spec.kind == "tacho":
            tacho_ch, ppr = spec.channel, spec.pulses_per_rev
    n = i1 - i0
    if tacho_ch is not None:
        j = _pick_channel(names, tacho_ch)
        pulses = np.asarray(rec.values[i0:i1, j], dtype=np.float64)
        speed = speed_from_tacho(pulses, fs, ppr, names[j])
        theta = angle_from_edges(tacho_edges(pulses, fs), ppr, n, fs)
        return speed, rpm_range, theta
    if rpm_ch is not None:
        j = _pick_channel(names, rpm_ch)
        values = np.asarray(rec.values[i0:i1, j], dtype=np.float64)
        speed = speed_from_channel(values, fs, names[j])
        filled = np.where(np.isfinite(values), values, speed.rpm)
        return speed, rpm_range, angle_from_speed(filled, fs)
    for name, value in scalars.items():
        if "rpm" in name.lower() and math.isfinite(value) and value > 0:
            return ShaftSpeed(value, f"file variable {name}"), rpm_range, None
    shaft = _mfpt_shaft_hz(scalars)
    if shaft is not None:
        name, hz = shaft
        return ShaftSpeed(60.0 * hz, f"file variable {name} (shaft Hz)"), rpm_range, None
    for j, ch in enumerate(rec.channels):
        if ch.unit.lower() in ("rpm", "r/min", "1/min") or "rpm" in ch.name.lower() \
                or "speed" in ch.name.lower():
            values = np.asarray(rec.values[i0:i1, j], dtype=np.float64)
            if np.isfinite(values).any():
                speed = speed_from_channel(values, fs, ch.name)
                filled = np.where(np.isfinite(values), values, speed.rpm)
                return speed, rpm_range, angle_from_speed(filled, fs)
    return None, rpm_range, None


def cmd_diagnose(args: argparse.Namespace) -> int:
    from desktop.diagnosis.profiles import ProfileStore, resolve_bearing
    from desktop.diagnosis.run import diagnose

    if args.bearing and args.geometry:
        raise AnalysisError("give --bearing or --geometry, not both")
    prof = ProfileStore().load(args.machine) if args.machine else None
    path = Path(args.file).expanduser()
    rec, scalars = _read_file(path, args.rate)
    names = [c.name for c in rec.channels]
    fs = rec.effective_rate()
    if not fs:
        raise AnalysisError(f"{path.name} does not say its sample rate: give --rate HZ")
    wanted = args.channel
    sensor = None
    if prof is not None:
        sensor = prof.sensor_for(wanted)
        if wanted is None and sensor.channel != "*":
            wanted = sensor.channel
    if wanted is None:
        cands = [n for n, c in zip(names, rec.channels, strict=True)
                 if not _is_speed(n, c.unit)]
        if not cands:
            raise AnalysisError(f"no vibration channel in {path.name}; give --channel")
        wanted = cands[0]
    idx = _pick_channel(names, wanted)
    if args.bearing or args.geometry:
        geometry = resolve_bearing(args.bearing or args.geometry)
    elif sensor is not None:
        geometry = sensor.geometry()
    else:
        raise AnalysisError("diagnose needs the bearing: --machine NAME, --bearing B or "
                            "--geometry N,d,D,ANGLE")
    n = rec.samples
    i0 = 0 if args.start is None else round(args.start * fs)
    i1 = n if args.end is None else min(n, round(args.end * fs))
    if (args.start is not None and args.start < 0) or i0 >= n or i1 <= i0:
        raise AnalysisError(f"--start/--end must satisfy 0 <= START < END <= "
                            f"{n / fs:.3f} s (the file's length)")
    x = np.asarray(rec.values[i0:i1, idx], dtype=np.float64)
    if not np.isfinite(x).all():
        raise AnalysisError(f"channel {names[idx]} has gaps (NaN) in the span; choose a "
                            "span without gaps with --start/--end")
    speed, rpm_range, theta = _speed(args, prof, rec, scalars, names, i0, i1, fs)
    result = diagnose(x, fs, geometry, speed, window_s=args.window, rpm_range=rpm_range,
                      band=tuple(args.band) if args.band else None, theta=theta,
                      start_s=i0 / fs)
    doc = result.to_json()
    doc = {"file": str(path), "channel": names[idx], "rate": fs,
           "machine": prof.name if prof else None, "bearing": geometry.to_json(), **doc}
    if prof is not None:
        _judge_against_baseline(doc, prof.name, x, fs, i0 / fs, speed)
    if args.json:
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    _print(doc)
    return EXIT_OK


def _judge_against_baseline(doc: dict[str, Any], machine: str, x: np.ndarray, fs: float,
                            offset_s: float, speed: Any) -> None:
    """With a learnt baseline of ``machine``: the span and each window gain ``level``,
    ``evidence_location``, ``indicators`` and ``anomaly`` (:mod:`desktop.baseline.rows`;
    ``location`` keeps the diagnosis's own verdict); without one, a one-line note."""
    import sys

    from desktop.baseline.rows import machine_rows, no_baseline_note

    judged = machine_rows(machine)
    if judged is None:
        print(no_baseline_note(machine), file=sys.stderr)
        return
    on = judged.channel(x, fs, doc["channel"], speed.rpm if speed is not None else None,
                        offset_s)
    doc.update(on.span())
    doc["baseline"] = {"sensor": on.base.sensor, "thin": on.base.thin}
    for w in doc["windows"]:
        w.update(on.at(w["start_s"], w["end_s"]))


def _line_text(f: dict[str, Any]) -> str:
    parts = []
    for h in f["harmonics"]:
        snr = "  -  " if h["snr_db"] is None else f"{h['snr_db']:5.1f}"
        parts.append(f"{h['order']}x {h['freq_hz']:8.2f} Hz {snr} dB")
    return "; ".join(parts)


def _print(doc: dict[str, Any]) -> None:
    print(f"file:       {doc['file']}")
    print(f"channel:    {doc['channel']} at {doc['rate']:g} Hz, "
          f"{doc['start_s']:.3f}-{doc['end_s']:.3f} s")
    print(f"bearing:    {doc['bearing']['designation']} ({doc['bearing']['source']})")
    rpm = "unknown" if doc["rpm"] is None else f"{doc['rpm']:g} r/min"
    conf = "" if doc["rpm_confidence"] in (None, 1.0) else \
        f", confidence {doc['rpm_confidence']:.2f}"
    print(f"speed:      {rpm} ({doc['rpm_source'] or 'no source'}{conf})")
    if doc["mains_hz"]:
        print(f"mains:      {doc['mains_hz']:g} Hz and harmonics masked")
    print(f"verdict:    {doc['location'].upper()}")
    if "level" in doc:
        from desktop.baseline.rows import level_cell

        print(f"baseline:   {level_cell(doc)} (sensor {doc['baseline']['sensor']}"
              f"{', thin' if doc['baseline']['thin'] else ''}; anomaly {doc['anomaly']:.2f})")
    for f in doc["faults"]:
        mark = "PRESENT" if f["present"] else "absent "
        print(f"  {f['name']:5s} {mark} score {f['score']:6.1f}  {_line_text(f)}")
    for note in doc["notes"]:
        print(f"note:       {note}")
    if doc["windows"]:
        from desktop.baseline.rows import level_cell

        level = "level" in doc
        print(f"  {'start s':>9} {'end s':>9}  {'location':12s} "
              + (f"{'baseline':18s} " if level else "") + "present")
        for w in doc["windows"]:
            present = ", ".join(f["name"] for f in w["faults"] if f["present"]) or "-"
            print(f"  {w['start_s']:9.2f} {w['end_s']:9.2f}  {w['location']:12s} "
                  + (f"{level_cell(w):18s} " if level else "") + present)


def add_commands(subparsers: Any) -> None:
    """Register ``diagnose`` on an argparse subparsers object."""
    d = subparsers.add_parser(
        "diagnose", help="bearing fault location from envelope-spectrum evidence",
        description="Envelope spectrum at the file's own rate (band by spectral kurtosis, "
                    "or --band), BPFO/BPFI/BSF/FTF searched within +-2 %% over 3 "
                    "harmonics against the local noise floor, mains and shaft lines "
                    "masked. Prints the verdict (normal, outer_race, inner_race, ball, "
                    "cage, not_running, unknown) for the span and per window.")
    d.add_argument("file", help="recording (.parquet, .csv, .wav, .mat ...)")
    d.add_argument("--machine", default=None, metavar="NAME",
                   help="a machine profile (linewatch machine add)")
    add_machine_options(d)
    d.add_argument("--channel", default=None, metavar="C",
                   help="the vibration channel (default: the profile's first sensor, else "
                        "the first channel that is not a speed channel)")
    d.add_argument("--rate", type=positive, default=None,
                   help="sample rate in Hz, when the file does not say")
    d.add_argument("--start", type=float, default=None, metavar="S",
                   help="from S seconds after the first sample")
    d.add_argument("--end", type=float, default=None, metavar="S",
                   help="up to S seconds after the first sample")
    d.add_argument("--window", type=positive, default=1.0, metavar="S",
                   help="window length for the per-window verdicts (default 1 s)")
    d.add_argument("--band", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="demodulation band in Hz (default: by spectral kurtosis)")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=guard(cmd_diagnose))
