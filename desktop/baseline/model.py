"""A machine's healthy baseline: per sensor, the limits of every indicator, how much data
backs them, and the slow drift applied since they were learnt.

A baseline is learnt from **snapshots**: each file or each second of a longer record
(:func:`snapshot_windows`) is one; route snapshots of 1 s every 10 minutes are the normal
case. At least :data:`MIN_SNAPSHOTS` are needed; fewer than :data:`THIN_SNAPSHOTS` make a
*thin* baseline (accepted, with a note: its limits are mostly the floors of
:mod:`desktop.baseline.limits`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.baseline.anomaly import AnomalyModel, fit_anomaly
from desktop.baseline.indicators import MIN_SNAPSHOT_S, Indicators
from desktop.baseline.limits import Limits, fit_limits

#: Fewest snapshots a baseline is learnt from.
MIN_SNAPSHOTS = 3
#: Below this many snapshots a baseline is "thin".
THIN_SNAPSHOTS = 30
#: Length of the snapshots a long record is cut into, s.
WINDOW_S = 1.0
#: Format version of the stored baseline (the optional ``anomaly`` model of each sensor
#: came later within version 1: older files load without it).
VERSION = 1
#: The note of a baseline stored before the anomaly model existed.
OLD_NOTE = ("learnt before the per-machine anomaly model: the anomaly score is the "
            "distance to the limits; learn the baseline again for the model")


def snapshot_windows(x: np.ndarray, fs: float, window_s: float = WINDOW_S,
                     max_windows: int | None = None) -> list[np.ndarray]:
    """``x`` ``(n,)`` cut into consecutive ``window_s``-second snapshots ``(m,)``; a
    record shorter than ``window_s`` but at least 0.5 s is one snapshot; a trailing piece
    under 0.5 s is dropped. ``max_windows`` keeps that many, evenly spread. Raises
    :class:`AnalysisError` for a record shorter than 0.5 s."""
    a = np.asarray(x, dtype=np.float64)
    n = a.shape[0]
    size = max(1, round(window_s * fs))
    if n < MIN_SNAPSHOT_S * fs:
        raise AnalysisError(f"a snapshot needs at least {MIN_SNAPSHOT_S:g} s of signal; "
                            f"got {n / fs:.3g} s")
    if n <= size:
        return [a]
    starts = [s for s in range(0, n, size) if n - s >= MIN_SNAPSHOT_S * fs]
    if max_windows is not None and len(starts) > max_windows:
        pick = np.linspace(0, len(starts) - 1, max_windows).round().astype(int)
        starts = [starts[i] for i in pick]
    return [a[s:s + size] for s in starts]


@dataclass
class SensorBaseline:
    """One sensor's baseline: ``unit`` and ``rate`` (Hz) of the data it was learnt from,
    ``limits`` (indicator → :class:`Limits` as learnt), ``drift`` (indicator → ln offset
    of the centre applied since, see :mod:`desktop.baseline.drift`), ``snapshots`` and
    ``seconds`` of data, ``created`` (ISO 8601 UTC) and ``notes``; ``anomaly``: the
    per-machine anomaly model (:mod:`desktop.baseline.anomaly`), None for a thin
    baseline or one stored before it existed (the score is then the distance to the
    limits)."""

    sensor: str
    unit: str
    rate: float
    limits: dict[str, Limits]
    snapshots: int
    seconds: float
    created: str = ""
    notes: list[str] = field(default_factory=list)
    drift: dict[str, float] = field(default_factory=dict)
    drift_updates: int = 0
    anomaly: AnomalyModel | None = None
    #: fault model name → its batch-norm statistics and open-set thresholds re-estimated
    #: on these snapshots (AdaBN, ``desktop.ml.training.machine_adabn``; JSON as is)
    adabn: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def thin(self) -> bool:
        """True when fewer than :data:`THIN_SNAPSHOTS` snapshots back the limits."""
        return self.snapshots < THIN_SNAPSHOTS

    def current(self, name: str) -> Limits:
        """The limits of ``name`` with the drift applied (KeyError if unknown)."""
        lim = self.limits[name]
        off = self.drift.get(name, 0.0)
        return lim if off == 0.0 else lim.moved_to(lim.centre * math.exp(off))

    def to_json(self) -> dict[str, object]:
        return {"sensor": self.sensor, "unit": self.unit, "rate": self.rate,
                "snapshots": self.snapshots, "seconds": round(self.seconds, 3),
                "created": self.created, "thin": self.thin, "notes": list(self.notes),
                "limits": {k: v.to_json() for k, v in self.limits.items()},
                "drift": {k: round(v, 6) for k, v in self.drift.items()},
                "drift_updates": self.drift_updates,
                **({"anomaly": self.anomaly.to_json()} if self.anomaly is not None else {}),
                **({"adabn": self.adabn} if self.adabn else {})}

    @classmethod
    def from_json(cls, doc: Any) -> SensorBaseline:
        try:
            limits = {str(k): Limits.from_json(v) for k, v in dict(doc["limits"]).items()}
            drift = {str(k): float(v) for k, v in dict(doc.get("drift") or {}).items()}
            notes = [str(n) for n in doc.get("notes") or []]
            anomaly = (AnomalyModel.from_json(doc["anomaly"]) if doc.get("anomaly")
                       else None)
            n = int(doc["snapshots"])
            adabn = {str(k): dict(v) for k, v in dict(doc.get("adabn") or {}).items()}
            if anomaly is None and n >= THIN_SNAPSHOTS and OLD_NOTE not in notes:
                notes.append(OLD_NOTE)  # stored before the anomaly model existed
            return cls(str(doc["sensor"]), str(doc["unit"]), float(doc["rate"]), limits,
                       n, float(doc["seconds"]), str(doc.get("created", "")), notes,
                       drift, int(doc.get("drift_updates") or 0), anomaly, adabn)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AnalysisError(f"stored baseline is damaged ({exc!r}); learn it again "
                                "with linewatch baseline") from None


def fit_sensor_baseline(sensor: str, unit: str, rate: float,
                        snapshots: list[Indicators], seconds: float) -> SensorBaseline:
    """Learn one sensor's baseline from the indicators of its healthy ``snapshots``
    (``seconds`` of signal in all). Indicators missing from some snapshots are learnt
    from those that have them. Raises :class:`AnalysisError` for fewer than
    :data:`MIN_SNAPSHOTS` snapshots."""
    n = len(snapshots)
    if n < MIN_SNAPSHOTS:
        raise AnalysisError(f"a baseline needs at least {MIN_SNAPSHOTS} snapshots of at "
                            f"least {MIN_SNAPSHOT_S:g} s for sensor {sensor}; got {n}")
    names = sorted({k for s in snapshots for k in s.values})
    limits = {k: fit_limits(k, [s.values[k] for s in snapshots if k in s.values])
              for k in names}
    notes = []
    if n < THIN_SNAPSHOTS:
        notes.append(f"thin baseline: {n} snapshots ({seconds:.1f} s); the limits are "
                     f"mostly the floors (alert x2, alarm x4); learn at least "
                     f"{THIN_SNAPSHOTS} healthy snapshots for statistical limits")
    if not any(k.startswith("env_") for k in names):
        notes.append("no bearing or shaft speed: no envelope indicators, so no fault "
                     "location (give the machine profile a bearing and a speed)")
    anomaly = fit_anomaly([s.values for s in snapshots])
    if anomaly is None and n >= THIN_SNAPSHOTS:
        notes.append("no anomaly model (too few snapshots with every indicator): the "
                     "anomaly score is the distance to the limits")
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return SensorBaseline(sensor, unit, float(rate), limits, n, float(seconds), created,
                          notes, anomaly=anomaly)


@dataclass
class MachineBaseline:
    """All sensors' baselines of machine ``machine`` (sensor name → baseline)."""

    machine: str
    sensors: dict[str, SensorBaseline]

    def to_json(self) -> dict[str, object]:
        return {"version": VERSION, "machine": self.machine,
                "sensors": {k: v.to_json() for k, v in self.sensors.items()}}

    @classmethod
    def from_json(cls, doc: Any) -> MachineBaseline:
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            raise AnalysisError("stored baseline has an unknown format; learn it again")
        sensors = doc.get("sensors")
        if not isinstance(sensors, dict):
            raise AnalysisError("stored baseline has no sensors; learn it again")
        return cls(str(doc.get("machine", "")),
                   {str(k): SensorBaseline.from_json(v) for k, v in sensors.items()})


def sensor_for_channel(base: MachineBaseline, channel: str) -> SensorBaseline | None:
    """The baseline of the sensor on ``channel``: its name exactly, case-insensitively,
    or as the one sensor name the channel name contains (``DE`` for ``X097_DE_time``)."""
    if channel in base.sensors:
        return base.sensors[channel]
    low = channel.lower()
    same = [s for k, s in base.sensors.items() if k.lower() == low]
    if len(same) == 1:
        return same[0]
    part = [s for k, s in base.sensors.items() if k.lower() in low]
    return part[0] if len(part) == 1 else None
