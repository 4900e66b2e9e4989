"""``linewatch spectrum | severity | trend``: vibration analysis of a file at the desk.

The commands read one channel of a recording (Parquet, CSV) or a MATLAB file (the published
bearing data sets), optionally a time span of it, and print a table or one JSON document.
All the signal processing is in :mod:`desktop.analysis`; this module only reads files,
finds the shaft speed and formats results. A problem the user can fix is one line on stderr
with exit code 2; a file that cannot be read is exit 1 (:func:`desktop.cli.main`).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.cli.common import EXIT_OK, count, guard, note, positive
from desktop.cli.rules_option import add_rules_arguments
from desktop.diagnosis.stored_speed import recording_rpm


# ---------------------------------------------------------------------------- reading
@dataclass
class ChannelData:
    """One channel's analysed span: ``values`` ``(n,)`` (leading/trailing gaps trimmed),
    ``rate`` Hz, seconds ``start_s``/``end_s`` from the file's first sample, shaft speed
    (``rpm`` and where it came from) when the file has one."""

    file: str
    name: str
    unit: str
    values: np.ndarray
    rate: float
    start_s: float
    end_s: float
    rpm: float | None
    rpm_source: str | None


def _read_file(path: Path, rate: float | None, channel: str | None = None
               ) -> tuple[Any, dict[str, float]]:
    """The one place that opens files: ``(Recording, scalar variables)``.

    Every format goes through :func:`desktop.recording.readers.read_recording`; a MATLAB
    file's scalar variables (``X106RPM``) are not channels and come back in its metadata.
    """
    from desktop.recording.readers import read_recording

    rec = read_recording(path, rate, channel=channel)  # a TDMS file: that channel's group
    if rec.metadata.get("rate_note"):
        note(str(rec.metadata["rate_note"]))
    scalars = rec.metadata.get("scalars")
    if not isinstance(scalars, dict):
        return rec, {}
    return rec, {str(k): float(v) for k, v in scalars.items()}


def _pick_channel(names: list[str], wanted: str) -> int:
    """Exact name, else case-insensitive exact, else the one name containing ``wanted``."""
    if wanted in names:
        return names.index(wanted)
    low = wanted.lower()
    same = [i for i, n in enumerate(names) if n.lower() == low]
    if len(same) == 1:
        return same[0]
    hits = [i for i, n in enumerate(names) if low in n.lower()]
    if len(hits) == 1:
        return hits[0]
    listing = ", ".join(names)
    if hits:
        raise AnalysisError(f"--channel '{wanted}' matches several channels: "
                            f"{', '.join(names[i] for i in hits)}")
    raise AnalysisError(f"no channel '{wanted}' (channels: {listing})")


def load_channel(file: str | Path, channel: str, rate: float | None = None,
                 start: float | None = None, end: float | None = None,
                 rpm: float | None = None) -> ChannelData:
    """Read ``channel`` of ``file`` between ``start`` and ``end`` seconds.

    Shaft speed: ``rpm`` if given; else a file scalar whose name holds ``RPM``; else the
    median of a channel named like ``rpm``/``speed``/``tacho`` (other than the analysed one)
    over the span; else None. Raises :class:`AnalysisError` for bad arguments.
    """
    path = Path(file).expanduser()
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise AnalysisError(f"--rate must be positive, got {rate:g}")
    if rpm is not None and not (math.isfinite(rpm) and rpm > 0):
        raise AnalysisError(f"--rpm must be positive, got {rpm:g}")
    rec, scalars = _read_file(path, rate, channel)
    names = [c.name for c in rec.channels]
    idx = _pick_channel(names, channel)
    fs = rec.effective_rate()
    if not fs:
        raise AnalysisError(f"{path.name} does not say its sample rate: give --rate HZ")
    n = rec.samples
    i0 = 0 if start is None else round(start * fs)
    i1 = n if end is None else round(end * fs)
    if (start is not None and start < 0) or i0 >= n or i1 <= i0:
        raise AnalysisError(f"--start/--end must satisfy 0 <= START < END <= "
                            f"{n / fs:.3f} s (the file's length)")
    i1 = min(i1, n)
    x = np.asarray(rec.values[i0:i1, idx], dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(x))
    if finite.size == 0:
        raise AnalysisError(f"channel {names[idx]} has no values in the span")
    lead, trail = int(finite[0]), int(finite[-1]) + 1
    x = x[lead:trail]
    i0, i1 = i0 + lead, i0 + trail

    rpm_source: str | None = "--rpm" if rpm is not None else None
    if rpm is None:
        found = recording_rpm({"scalars": scalars}, rec.channels, rec.values, idx, i0, i1)
        if found is not None:
            rpm, rpm_source = found
    return ChannelData(str(path), names[idx], rec.channels[idx].unit, x, float(fs),
                       i0 / fs, i1 / fs, rpm, rpm_source)


def _unit_text(unit: str) -> str:
    return f" {unit}" if unit else ""


# ---------------------------------------------------------------------------- spectrum
def cmd_spectrum(args: argparse.Namespace) -> int:
    from desktop.analysis.bearings import (
        fault_frequencies,
        fault_markers,
        find_preset,
        parse_geometry,
    )
    from desktop.analysis.envelope import envelope_spectrum
    from desktop.analysis.spectrum import amplitude_spectrum, find_spectral_peaks

    geometry = (find_preset(args.bearing) if args.bearing
                else parse_geometry(args.geometry) if args.geometry else None)
    data = load_channel(args.file, args.channel, args.rate, args.start, args.end, args.rpm)
    fs = data.rate
    faults = fault_frequencies(geometry, data.rpm) if geometry and data.rpm else None
    band_source = None
    kurt = None
    if args.envelope:
        if args.band is None:
            # A demodulation band must pass the fault line's harmonics and ±1X sidebands:
            # at least 4 × BPFI (the highest of the four) when known, else 1 kHz.
            min_bw = 4 * faults.bpfi if faults else 1000.0
            min_bw = min(min_bw, fs / 8)
            result = envelope_spectrum(data.values, fs, min_bandwidth_hz=min_bw)
            kurt = result.band.kurtosis
        else:
            result = envelope_spectrum(data.values, fs, tuple(args.band))
        spec = result.spectrum
        band = result.band.band_hz
        band_source = "--band" if args.band is not None else result.band.source
        fmin, fmax = spec.resolution_hz * 2, min(band[1] - band[0], fs / 2)
    else:
        spec = amplitude_spectrum(data.values, fs)
        band = tuple(args.band) if args.band is not None else None
        if band is not None and not (0 <= band[0] < band[1]):
            raise AnalysisError("--band wants LO HI with 0 <= LO < HI (Hz)")
        fmin, fmax = (band if band is not None else (spec.resolution_hz * 2, fs / 2))
    peaks = find_spectral_peaks(spec.freqs_hz, spec.amplitude, count=args.peaks,
                                fmin=fmin, fmax=fmax)
    markers = []
    if data.rpm is None:
        note("no shaft speed in the file and no --rpm: fault-frequency markers omitted")
    elif geometry is None:
        markers = fault_markers_shaft(data.rpm, fmax)
    else:
        markers = fault_markers(geometry, data.rpm, fmax=fmax)
    matches = []
    # A match is only a peak near a marker; `snr_db` (against the median of the bins
    # around it) and `significant` (>= 8 dB, not on a mains harmonic detected in this
    # spectrum) say whether it is evidence — `linewatch diagnose` decides the location.
    from desktop.diagnosis.evidence import LINE_DB
    from desktop.diagnosis.lines import detect_mains, harmonic_mask, line_snr

    mains = detect_mains(spec.freqs_hz, spec.amplitude).freq_hz
    mains_mask = (harmonic_mask(spec.freqs_hz, mains) if mains else None)
    for m in markers:
        tol = max(0.02 * m.freq_hz, 1.5 * spec.resolution_hz)
        near = [p for p in peaks if abs(p.freq_hz - m.freq_hz) <= tol]
        if near:
            p = max(near, key=lambda q: q.amplitude)
            line = line_snr(spec.freqs_hz, spec.amplitude, p.freq_hz, spec.resolution_hz)
            on_mains = bool(mains_mask is not None and mains_mask[
                int(np.argmin(np.abs(spec.freqs_hz - p.freq_hz)))])
            snr = line.snr_db if math.isfinite(line.snr_db) else None
            matches.append({"marker": m.name, "freq_hz": round(m.freq_hz, 4),
                            "peak_freq_hz": round(p.freq_hz, 4), "amplitude": p.amplitude,
                            "snr_db": None if snr is None else round(snr, 2),
                            "significant": bool(snr is not None and snr >= LINE_DB
                                                and not on_mains)})
    doc = {
        "file": data.file, "channel": data.name, "unit": data.unit, "rate": fs,
        "start_s": round(data.start_s, 6), "end_s": round(data.end_s, 6),
        "envelope": bool(args.envelope),
        "band_hz": [round(band[0], 3), round(band[1], 3)] if band is not None else None,
        "band_source": band_source,
        "spectral_kurtosis": None if kurt is None else round(kurt, 4),
        "resolution_hz": spec.resolution_hz, "window": spec.window, "amplitude": "rms",
        "rpm": data.rpm, "rpm_source": data.rpm_source,
        "bearing": geometry.to_json() if geometry else None,
        "fault_frequencies_hz": None if faults is None else {
            "shaft": faults.shaft_hz, "FTF": faults.ftf, "BSF": faults.bsf,
            "BPFO": faults.bpfo, "BPFI": faults.bpfi},
        "peaks": [p.to_json() for p in peaks],
        "markers": [{"name": m.name, "freq_hz": round(m.freq_hz, 4)} for m in markers],
        "matches": matches,
        "mains_hz": mains,
    }
    if args.json:
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    _print_spectrum(doc, markers, peaks, spec.resolution_hz)
    return EXIT_OK


def fault_markers_shaft(rpm: float, fmax: float, harmonics: int = 3) -> list[Any]:
    """``1X``…``3X`` when the speed is known but no bearing was named."""
    from desktop.analysis.bearings import Marker

    return [Marker(f"{k}X", k * rpm / 60) for k in range(1, harmonics + 1)
            if k * rpm / 60 <= fmax]


def _print_spectrum(doc: dict[str, Any], markers: list[Any], peaks: list[Any],
                    resolution: float) -> None:
    unit = _unit_text(doc["unit"])
    print(f"file:       {doc['file']}")
    print(f"channel:    {doc['channel']}{' [' + doc['unit'] + ']' if doc['unit'] else ''} "
          f"at {doc['rate']:g} Hz, {doc['start_s']:.3f}-{doc['end_s']:.3f} s")
    if doc["envelope"]:
        lo, hi = doc["band_hz"]
        how = (f"spectral kurtosis {doc['spectral_kurtosis']:.2f}"
               if doc["band_source"] == "spectral kurtosis" else "given")
        print(f"spectrum:   envelope of {lo:g}-{hi:g} Hz ({how}); Welch, "
              f"{resolution:.3g} Hz bins, RMS amplitude")
    else:
        print(f"spectrum:   Welch, {resolution:.3g} Hz bins, {doc['window']} window, "
              "RMS amplitude")
    if doc["rpm"]:
        print(f"shaft:      {doc['rpm']:g} rpm ({doc['rpm'] / 60:.2f} Hz) from "
              f"{doc['rpm_source']}")
    if doc["fault_frequencies_hz"]:
        ff = doc["fault_frequencies_hz"]
        print(f"bearing:    {doc['bearing']['designation']}: BPFO {ff['BPFO']:.2f}, "
              f"BPFI {ff['BPFI']:.2f}, BSF {ff['BSF']:.2f}, FTF {ff['FTF']:.2f} Hz")
    print("peaks, strongest first:")
    print(f"  {'freq Hz':>10}  {'amplitude' + unit:>16}  nearest marker (within 2 %)")
    for p in peaks:
        near = ""
        if markers:
            m = min(markers, key=lambda mk: abs(mk.freq_hz - p.freq_hz))
            if abs(m.freq_hz - p.freq_hz) <= max(0.02 * m.freq_hz, 1.5 * resolution):
                near = (f"{m.name} ({m.freq_hz:.2f} Hz, "
                        f"{(p.freq_hz - m.freq_hz) / m.freq_hz * 100:+.1f} %)")
        print(f"  {p.freq_hz:10.2f}  {p.amplitude:16.4g}  {near}")


# ---------------------------------------------------------------------------- severity
def cmd_severity(args: argparse.Namespace) -> int:
    from desktop.analysis.severity import parse_unit, severity

    data = load_channel(args.file, args.channel, args.rate, args.start, args.end)
    unit = args.unit or data.unit
    parse_unit(unit)
    result = severity(data.values, data.rate, unit, args.group, args.foundation, args.block)
    doc = {
        "file": data.file, "channel": data.name, "unit": unit, "rate": data.rate,
        "start_s": round(data.start_s, 6), "end_s": round(data.end_s, 6),
        "band_hz": list(result.band_hz),
        "velocity_rms_mm_s": round(result.velocity_rms_mm_s, 4), "zone": result.zone,
        "group": result.group, "foundation": result.foundation,
        "limits_mm_s": {"A/B": result.limits_mm_s[0], "B/C": result.limits_mm_s[1],
                        "C/D": result.limits_mm_s[2]},
        "block_s": args.block,
        "trend": [b.to_json() for b in result.trend],
    }
    if args.json:
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    ab, bc, cd = result.limits_mm_s
    print(f"file:       {data.file}")
    print(f"channel:    {data.name} [{unit}] at {data.rate:g} Hz, "
          f"{data.start_s:.3f}-{data.end_s:.3f} s")
    print(f"ISO 20816-3 group {result.group}, {result.foundation} foundation: "
          f"A < {ab} <= B < {bc} <= C < {cd} <= D (mm/s RMS, "
          f"{result.band_hz[0]:g}-{result.band_hz[1]:g} Hz)")
    print(f"overall:    {result.velocity_rms_mm_s:.3f} mm/s  zone {result.zone}")
    print(f"  {'start s':>9} {'end s':>9} {'mm/s':>9}  zone")
    for b in result.trend:
        print(f"  {b.start_s:9.2f} {b.end_s:9.2f} {b.velocity_rms_mm_s:9.3f}  {b.zone}")
    return EXIT_OK


# ---------------------------------------------------------------------------- trend
def cmd_trend(args: argparse.Namespace) -> int:
    from desktop.analysis.trend import block_stats, trend
    from desktop.cli.rules_option import (
        events_key,
        log_events,
        print_events,
        read_rules_option,
        run_rules,
    )

    if args.machine:  # snapshots judged against a machine's baseline (desktop.cli.baseline)
        hook = getattr(args, "machine_trend", None)
        if hook is None:
            raise AnalysisError("trend --machine is not available in this build")
        return int(hook(args))  # (it reads --rules itself)
    rules = read_rules_option(args)  # a bad rules file: refused before any work
    if len(args.file) != 1 or args.out:
        raise AnalysisError("one FILE at a time (several files, folders and --out need "
                            "--machine NAME)")
    if not args.channel:
        raise AnalysisError("give --channel C (or --machine NAME for a route's snapshots)")
    args.file = args.file[0]
    data = load_channel(args.file, args.channel, args.rate, args.start, args.end)
    blocks = trend(data.values, data.rate, args.block)
    overall = block_stats(data.values, data.rate, 0.0)
    offset = data.start_s
    rows = []
    for b in blocks:
        row = b.to_json()
        row["start_s"] = round(b.start_s + offset, 6)
        row["end_s"] = round(b.end_s + offset, 6)
        rows.append(row)
    doc = {"file": data.file, "channel": data.name, "unit": data.unit, "rate": data.rate,
           "start_s": round(data.start_s, 6), "end_s": round(data.end_s, 6),
           "block_s": args.block, "kurtosis": "pearson (3 for gaussian noise)",
           "overall": {k: v for k, v in overall.to_json().items()
                       if k not in ("start_s", "end_s")},
           "trend": rows}
    check = run_rules(rules, rows, data.name) if rules is not None else None
    if check is not None:
        doc[events_key()] = check.events_json()
        log_events(args, check, data.file, "trend")
    if args.json:
        print(json.dumps(doc), flush=True)
        return EXIT_OK
    unit = f" [{data.unit}]" if data.unit else ""
    print(f"file:       {data.file}")
    print(f"channel:    {data.name}{unit} at {data.rate:g} Hz, "
          f"{data.start_s:.3f}-{data.end_s:.3f} s, blocks of {args.block:g} s")
    print(f"  {'start s':>9} {'end s':>9} {'rms':>11} {'peak':>11} {'crest':>7} {'kurt':>7}")

    def fmt(v: float | None, width: int, spec: str) -> str:
        return f"{'-':>{width}}" if v is None else f"{v:{width}{spec}}"

    for r in rows:
        print(f"  {r['start_s']:9.2f} {r['end_s']:9.2f} {fmt(r['rms'], 11, '.4g')} "
              f"{fmt(r['peak'], 11, '.4g')} {fmt(r['crest_factor'], 7, '.2f')} "
              f"{fmt(r['kurtosis'], 7, '.2f')}")
    if check is not None:
        print_events(check, len(rules or ()), bool(args.write_log))
    return EXIT_OK


# ---------------------------------------------------------------------------- parser
def _common(p: argparse.ArgumentParser, trend: bool = False) -> None:
    if trend:
        p.add_argument("file", nargs="+", metavar="FILE",
                       help="recording (.parquet, .csv) or MATLAB file (.mat); with "
                            "--machine: snapshot files, folders or glob patterns")
    else:
        p.add_argument("file", help="recording (.parquet, .csv) or MATLAB file (.mat)")
    p.add_argument("--channel", required=not trend,
                   help="channel name, or a unique part of it (DE_time matches X106_DE_time)")
    p.add_argument("--rate", type=positive, default=None,
                   help="sample rate in Hz, when the file does not say")
    p.add_argument("--start", type=float, default=None, metavar="S",
                   help="analyse from S seconds after the first sample")
    p.add_argument("--end", type=float, default=None, metavar="S",
                   help="analyse up to S seconds after the first sample")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def add_commands(subparsers: Any) -> None:
    """Register ``spectrum``, ``severity`` and ``trend`` on an argparse subparsers object."""
    s = subparsers.add_parser(
        "spectrum", help="amplitude or envelope spectrum with bearing fault markers",
        description="Welch amplitude spectrum (RMS, channel unit) of one channel, or with "
                    "--envelope the envelope spectrum of a band (--band, else the band of "
                    "largest spectral kurtosis). Peaks strongest first; with a bearing "
                    "(--bearing 6205 or --geometry) and a shaft speed (--rpm, or the file's "
                    "RPM variable or speed channel) BPFO/BPFI/BSF/FTF markers and harmonics.")
    _common(s)
    s.add_argument("--envelope", action="store_true",
                   help="envelope (demodulated) spectrum for bearing faults")
    s.add_argument("--band", nargs=2, type=float, metavar=("LO", "HI"), default=None,
                   help="with --envelope: the demodulation band in Hz (default: by spectral "
                        "kurtosis); without: the range searched for peaks")
    bearing = s.add_mutually_exclusive_group()
    bearing.add_argument("--bearing", metavar="NAME", default=None,
                         help="bearing preset by designation or its start (6205, 6203, "
                              "UER204, ZA-2115)")
    bearing.add_argument("--geometry", metavar="N,d,D,ANGLE", default=None,
                         help="balls, ball and pitch diameter (same unit), contact angle in "
                              "degrees, e.g. 9,0.3126,1.537,0")
    s.add_argument("--rpm", type=positive, default=None,
                   help="shaft speed in r/min (default: from the file, if it has it)")
    s.add_argument("--peaks", type=count, default=10, metavar="N",
                   help="peaks to list (default 10)")
    s.set_defaults(func=guard(cmd_spectrum))

    v = subparsers.add_parser(
        "severity", help="ISO 20816-3 velocity RMS (10-1000 Hz), zone and trend",
        description="Broadband velocity RMS (10-1000 Hz; acceleration integrated in the "
                    "frequency domain) and its ISO 20816-3 zone A-D, overall and per block.")
    _common(v)
    v.add_argument("--group", type=int, choices=(1, 2), required=True,
                   help="machine group: 1 = 300 kW-50 MW, 2 = 15-300 kW")
    v.add_argument("--foundation", choices=("rigid", "flexible"), required=True,
                   help="foundation class of the machine set")
    v.add_argument("--unit", default=None,
                   help="unit of the channel: g, m/s2 or mm/s (default: the file's)")
    v.add_argument("--block", type=positive, default=10.0, metavar="S",
                   help="trend block length in seconds (default 10)")
    v.set_defaults(func=guard(cmd_severity))

    t = subparsers.add_parser(
        "trend", help="RMS, peak, crest factor and kurtosis per block",
        description="Time-domain condition indicators per block of a long recording: AC "
                    "RMS, peak, crest factor, Pearson kurtosis (3 for Gaussian noise). With "
                    "--machine NAME: a route's snapshot files judged against the machine's "
                    "baseline.")
    _common(t, trend=True)
    t.add_argument("--block", type=positive, default=10.0, metavar="S",
                   help="block length in seconds (default 10)")
    t.add_argument("--machine", default=None, metavar="NAME",
                   help="judge snapshot files (ordered by the time in their name, content or "
                        "mtime) against the machine's baseline (linewatch baseline): one row "
                        "per file per sensor with level, location and indicators")
    t.add_argument("--out", default=None, metavar="FILE.parquet",
                   help="with --machine: also write the rows as Parquet")
    add_rules_arguments(t)
    t.set_defaults(func=guard(cmd_trend))
