"""Learning a machine's baseline from snapshot files, and judging one span of a recording
against it: the long jobs behind ``linewatch baseline`` and the window's "Learn
baseline…" and Diagnosis dock (plain functions with a ``task``, no Qt).

- :func:`learn_baseline`: snapshot files → per-sensor
  :class:`~desktop.baseline.model.SensorBaseline`, stored in the
  :class:`~desktop.baseline.store.BaselineStore` (where the CLI stores it).
- :func:`judge_span`: one sensor's signal (a file or a span of it) cut into up to
  :data:`SPAN_WINDOWS` 1-s windows, the median of their indicators judged against the
  baseline (as one ``trend`` row).

The sensors, their bearing, unit, speed and ISO class come from the machine profile
(:mod:`desktop.diagnosis.profiles`); files are read by
:func:`desktop.recording.readers.read_recording`. A problem the user can fix is an
:class:`~desktop.analysis.errors.AnalysisError` (one line).
"""

from __future__ import annotations

import glob
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.baseline.indicators import Indicators
from desktop.baseline.judge import Judgement, judge
from desktop.baseline.model import (
    MachineBaseline,
    SensorBaseline,
    fit_sensor_baseline,
    snapshot_windows,
)
from desktop.baseline.monitor import SensorSetup
from desktop.baseline.store import BaselineStore
from desktop.core.tasks import Cancelled, TaskState

#: Snapshots learnt per baseline file at most (evenly spread over a long record).
BASELINE_WINDOWS = 600
#: Windows judged per file or span (evenly spread), as a ``trend`` row.
SPAN_WINDOWS = 10
_SPEEDY = ("rpm", "speed", "tacho", "tach", "keyphasor")


def expand_inputs(items: Sequence[str | Path]) -> list[Path]:
    """Files named by ``items`` (files, folders — their files, not recursing —, glob
    patterns), in the order given, each once. :class:`AnalysisError` when one matches
    nothing."""
    out: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
        elif p.is_file():
            found = [p]
        else:
            found = sorted(Path(q) for q in glob.glob(str(p)) if Path(q).is_file())
        if not found:
            raise AnalysisError(f"no file matches '{item}'")
        out.extend(q for q in found if q not in out)
    return out


def read_file(path: Path, rate: float | None) -> tuple[Any, dict[str, float]]:
    """``(Recording, scalar variables)`` of ``path`` (a MATLAB file's ``X106RPM``)."""
    from desktop.recording.readers import read_recording

    rec = read_recording(path, rate)
    scalars = rec.metadata.get("scalars")
    if not isinstance(scalars, dict):
        return rec, {}
    out: dict[str, float] = {}
    for k, v in scalars.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            continue
    return rec, out


def pick_channel(names: list[str], wanted: str) -> int:
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
    if hits:
        raise AnalysisError(f"channel '{wanted}' matches several channels: "
                            f"{', '.join(names[i] for i in hits)}")
    raise AnalysisError(f"no channel '{wanted}' (channels: {', '.join(names)})")


def sensor_setups(prof: Any, channels: Sequence[str] | None, names: list[str],
                  units: list[str]) -> list[tuple[int, SensorSetup]]:
    """``(column index, SensorSetup)`` per sensor to learn or judge in one file: the
    ``channels`` named, else the profile's sensors, else the first vibration channel."""
    from desktop.baseline.hooks import setup_for
    from desktop.diagnosis.profiles import ANY_CHANNEL

    wanted = list(channels or [])
    if not wanted:
        wanted = [s.channel for s in prof.sensors if s.channel != ANY_CHANNEL]
    if not wanted:
        cands = [n for n, u in zip(names, units, strict=True)
                 if not (u.lower() in ("rpm", "r/min") or any(s in n.lower() for s in _SPEEDY))]
        if not cands:
            raise AnalysisError("no vibration channel in the file; name the channel")
        wanted = cands[:1]
    return [(pick_channel(names, w), setup_for(prof, w)) for w in wanted]


def file_rpm(rec: Any, scalars: dict[str, float], prof: Any) -> float | None:
    """A speed the file itself gives: its RPM variable or the median of the profile's
    speed channel (or a channel named like rpm/speed); None otherwise."""
    for name, value in scalars.items():
        if "rpm" in name.lower() and math.isfinite(value) and value > 0:
            return float(value)
    names = [c.name for c in rec.channels]
    chan = prof.speed.channel if prof.speed.kind == "rpm_channel" else None
    for j, c in enumerate(rec.channels):
        if (chan and names[j] == chan) or (not chan and ("rpm" in c.name.lower()
                                                         or c.unit.lower() in ("rpm", "r/min"))):
            v = np.asarray(rec.values[:, j], dtype=np.float64)
            v = v[np.isfinite(v)]
            if v.size and np.median(v) > 0:
                return float(np.median(v))
    return None


def resampled(x: np.ndarray, fs: float, target: float | None) -> tuple[np.ndarray, float]:
    """``x`` at ``target`` Hz when it is faster (polyphase, scipy ``resample_poly``:
    anti-alias FIR), else as it is."""
    if target is None or fs <= target * 1.001:
        return x, fs
    from scipy.signal import resample_poly

    r = Fraction(target / fs).limit_denominator(1000)
    return resample_poly(x, r.numerator, r.denominator), fs * r.numerator / r.denominator


def channel_values(rec: Any, idx: int) -> np.ndarray:
    """Column ``idx`` of a recording as float64, without its NaN gaps."""
    x = np.asarray(rec.values[:, idx], dtype=np.float64)
    return x[np.isfinite(x)]


@dataclass
class LearnResult:
    """What :func:`learn_baseline` learnt: ``machine``, the stored baseline's ``path``,
    the ``files`` read and the ``sensors`` learnt now (other sensors stored before are
    kept in the file)."""

    machine: str
    path: Path
    files: list[Path]
    sensors: dict[str, SensorBaseline]
    notes: list[str] = field(default_factory=list)

    @property
    def thin(self) -> bool:
        """True when any sensor learnt now has a thin baseline."""
        return any(sb.thin for sb in self.sensors.values())

    def to_json(self) -> dict[str, object]:
        return {"machine": self.machine, "path": str(self.path), "files": len(self.files),
                "sensors": {k: v.to_json() for k, v in self.sensors.items()}}


def learn_baseline(machine: str, files: Sequence[str | Path], *, rate: float | None = None,
                   channels: Sequence[str] | None = None, resample: float | None = None,
                   task: TaskState | None = None, profiles: Any = None,
                   store: BaselineStore | None = None,
                   max_windows: int = BASELINE_WINDOWS,
                   adabn: Callable[..., dict[str, Any]] | None = None) -> LearnResult:
    """Learn and store the baseline of machine profile ``machine`` from healthy snapshot
    ``files`` (files, folders, glob patterns; each file or each second of a longer one is
    a snapshot). ``rate``: Hz for files that do not say theirs; ``channels``: the sensors
    (default: the profile's); ``resample``: bring faster files down to this rate first.
    ``task`` reports progress per snapshot and is the cancellation point (nothing is
    stored when cancelled). ``adabn``: a function ``(snapshots, rate, task=) → entry``
    (``desktop.ml.training.machine_adabn.machine_statistics`` bound to a model: baseline
    never imports torch) run per sensor on its snapshots; its entry is stored in the
    sensor's ``adabn`` under the entry's ``model``, and a refusal (too few windows) becomes
    a note. Raises :class:`AnalysisError` (one line)."""
    from desktop.diagnosis.profiles import ProfileStore

    task = task or TaskState()
    prof = (profiles or ProfileStore()).load(machine)
    paths = expand_inputs(files)
    per_sensor: dict[str, tuple[SensorSetup, list[Indicators], float, float]] = {}
    raw: dict[str, list[np.ndarray]] = {}  # the snapshots themselves, for AdaBN
    notes: list[str] = []
    for k, path in enumerate(paths):
        task.report(k / len(paths), f"reading {path.name} ({k + 1}/{len(paths)})")
        rec, scalars = read_file(path, rate)
        note = rec.metadata.get("rate_note")
        if note:
            notes.append(f"{path.name}: {note}")
        fs = rec.effective_rate()
        if not fs:
            raise AnalysisError(f"{path.name} does not say its sample rate: give the rate")
        rpm = file_rpm(rec, scalars, prof)
        for idx, setup in sensor_setups(prof, channels, [c.name for c in rec.channels],
                                        [c.unit for c in rec.channels]):
            x, f = resampled(channel_values(rec, idx), fs, resample)
            try:
                windows = snapshot_windows(x, f, max_windows=max_windows)
            except AnalysisError as exc:
                raise AnalysisError(f"{path.name}: {exc}") from None
            setup0, inds, f0, seconds = per_sensor.get(setup.sensor, (setup, [], f, 0.0))
            if abs(f0 - f) > 1e-6 * f:
                raise AnalysisError(f"{path.name} is at {f:g} Hz, the other files at "
                                    f"{f0:g} Hz: resample them to one rate")
            for j, w in enumerate(windows):
                task.report((k + j / len(windows)) / len(paths),
                            f"{path.name}: snapshot {j + 1}/{len(windows)} of {setup.sensor}")
                inds.append(setup.indicators(w, f, rpm))
            seconds += sum(w.shape[0] for w in windows) / f
            if adabn is not None:
                raw.setdefault(setup.sensor, []).extend(windows)
            per_sensor[setup.sensor] = (setup0, inds, f0, seconds)
    learnt = {name: fit_sensor_baseline(name, setup.unit, f, inds, seconds)
              for name, (setup, inds, f, seconds) in per_sensor.items()}
    if adabn is not None:
        for name, sb in learnt.items():
            task.report(0.99, f"AdaBN statistics of {name}")
            try:
                entry = adabn(raw.get(name, []), sb.rate, task=TaskState())
            except Cancelled:
                raise
            except Exception as exc:  # InputError/ModelError (ml's): a note, not a failure
                sb.notes.append(f"no AdaBN statistics: {exc}")
                continue
            sb.adabn[str(entry["model"])] = entry
            if entry.get("note"):
                sb.notes.append(str(entry["note"]))
    task.check()  # the last moment a cancel keeps the stored baseline as it was
    store = store or BaselineStore()
    old = store.load(prof.name) if store.exists(prof.name) else MachineBaseline(prof.name, {})
    old.sensors.update(learnt)
    path = store.save(old)
    task.finish(f"learnt {len(learnt)} sensor(s) from {len(paths)} file(s)")
    return LearnResult(prof.name, path, paths, learnt, notes)


def median_indicators(inds: list[Indicators]) -> Indicators:
    """One file's (or span's) indicators: per name the median over its windows; the
    lines, rpm and location of the window with the largest envelope level."""
    if len(inds) == 1:
        return inds[0]
    names = set.intersection(*(set(i.values) for i in inds))
    values = {k: float(np.median([i.values[k] for i in inds])) for k in sorted(names)}
    best = max(inds, key=lambda i: max((v for k, v in i.values.items()
                                        if k.startswith("env_")), default=0.0))
    return Indicators(values, best.zone, best.lines, best.rpm, best.location)


@dataclass(frozen=True)
class SpanJudgement:
    """A span judged against its sensor's baseline: the ``judgement`` of the median
    indicators (as a ``trend`` row), the ``levels`` of each of the ``windows`` judged on
    its own, and the ``baseline`` used."""

    sensor: str
    channel: str
    judgement: Judgement
    levels: list[str]
    baseline: SensorBaseline

    @property
    def windows(self) -> int:
        return len(self.levels)


def judge_span(setup: SensorSetup, base: SensorBaseline, x: np.ndarray, fs: float,
               rpm: float | None = None, channel: str = "",
               max_windows: int = SPAN_WINDOWS,
               task: TaskState | None = None) -> SpanJudgement:
    """Judge ``x`` ``(n,)`` at ``fs`` Hz (resampled to the baseline's rate when faster)
    against ``base``: up to ``max_windows`` 1-s windows, evenly spread; their median
    indicators judged as one snapshot. Raises :class:`AnalysisError` for a span under
    0.5 s."""
    task = task or TaskState()
    x, f = resampled(np.asarray(x, dtype=np.float64), fs, base.rate)
    windows = snapshot_windows(x, f, max_windows=max_windows)
    inds = []
    levels = []
    for j, w in enumerate(windows):
        task.report(j / len(windows), f"indicators of window {j + 1}/{len(windows)}")
        ind = setup.indicators(w, f, rpm)
        inds.append(ind)
        levels.append(judge(ind, base).level)
    task.finish("judged")
    return SpanJudgement(setup.sensor, channel or setup.sensor,
                         judge(median_indicators(inds), base), levels, base)


@dataclass
class TrendResult:
    """A route judged in time order (:func:`route_trend`): ``rows`` as ``linewatch trend
    --machine --json`` prints them, one per file per sensor."""

    machine: str
    files: list[Path]
    rows: list[dict[str, Any]]
    sensors: list[str]


def route_trend(machine: str, files: Sequence[str | Path], *, rate: float | None = None,
                channels: Sequence[str] | None = None, task: TaskState | None = None,
                profiles: Any = None, store: BaselineStore | None = None,
                max_windows: int = SPAN_WINDOWS, acks: Any = None) -> TrendResult:
    """Judge a route's snapshot ``files`` (files, folders, glob patterns) against machine
    ``machine``'s stored baseline in time order (the time in the name, the content or
    the mtime; :mod:`desktop.baseline.snapshots`): per file and sensor the median
    indicators of up to ``max_windows`` 1-s windows go through the judgement, the alarm
    latch and the drift rule (:class:`~desktop.baseline.monitor.SensorMonitor`), and the
    stored acknowledgements are replayed (:mod:`desktop.baseline.acks`; ``acks``: their
    store). Each row has ``acknowledged`` (its latched state was acknowledged) and, on
    the row an acknowledgement acts after, ``ack``. The stored baseline is not changed.
    ``task``: progress per file, cancellation point.
    Raises :class:`AnalysisError` (one line)."""
    from desktop.baseline.acks import AckReplay, AckStore, apply_acks
    from desktop.baseline.monitor import SensorMonitor
    from desktop.baseline.snapshots import order_snapshots, snapshot_time, time_from_name
    from desktop.diagnosis.profiles import ProfileStore

    task = task or TaskState()
    prof = (profiles or ProfileStore()).load(machine)
    base = (store or BaselineStore()).load(machine)
    paths = expand_inputs(files)
    recs: dict[Path, tuple[Any, dict[str, float]]] = {}
    times = []
    for k, path in enumerate(paths):
        task.report(0.1 * k / len(paths), f"ordering {path.name} ({k + 1}/{len(paths)})")
        if time_from_name(path.name) is None:  # the time is inside: read it now
            recs[path] = read_file(path, rate)
            times.append(snapshot_time(path, recs[path][0].start_time))
        else:
            times.append(snapshot_time(path))
    monitors: dict[str, SensorMonitor] = {}
    rows: list[dict[str, Any]] = []
    ordered = order_snapshots(times)
    replay = AckReplay((acks or AckStore()).load(prof.name))
    last: dict[str, dict[str, Any]] = {}
    for k, st in enumerate(ordered):
        apply_acks(replay.before(st.time), monitors, last)
        task.report(0.1 + 0.9 * k / len(ordered),
                    f"judging {st.path.name} ({k + 1}/{len(ordered)})")
        rec, scalars = recs.pop(st.path) if st.path in recs else read_file(st.path, rate)
        fs = rec.effective_rate()
        if not fs:
            raise AnalysisError(f"{st.path.name} does not say its sample rate: give the rate")
        rpm = file_rpm(rec, scalars, prof)
        for idx, setup in sensor_setups(prof, channels, [c.name for c in rec.channels],
                                        [c.unit for c in rec.channels]):
            sb = base.sensors.get(setup.sensor)
            if sb is None:
                raise AnalysisError(f"machine '{prof.name}' has no baseline for sensor "
                                    f"{setup.sensor}; learn it first")
            mon = monitors.setdefault(setup.sensor, SensorMonitor(setup, sb))
            x, f = resampled(channel_values(rec, idx), fs, sb.rate)
            try:
                inds = [setup.indicators(w, f, rpm)
                        for w in snapshot_windows(x, f, max_windows=max_windows)]
            except AnalysisError as exc:
                raise AnalysisError(f"{st.path.name}: {exc}") from None
            row = mon.feed_indicators(median_indicators(inds), st.label())
            j = row.judgement
            rows.append({"file": str(st.path), "time": st.label(), "time_source": st.source,
                         "sensor": setup.sensor, "level": j.level, "state": row.state,
                         "state_location": mon.latch.location or None,
                         "location": j.location, "anomaly": round(j.anomaly, 4),
                         "zone": j.zone, "indicators": j.indicators, "evidence": j.evidence,
                         "event": row.event.to_json() if row.event else None,
                         "acknowledged": mon.latch.acknowledged,
                         "anomaly_method": j.anomaly_method})
            last[setup.sensor] = rows[-1]
    apply_acks(replay.rest(), monitors, last)
    task.finish(f"judged {len(ordered)} file(s)")
    return TrendResult(prof.name, [st.path for st in ordered], rows, list(monitors))
