"""One call for other commands (``diagnose --machine``, ``predict --machine``, a live
worker) to add ``level``, ``location`` and ``indicators`` to their rows.

    from desktop.baseline.hooks import machine_judge
    judge_row = machine_judge("pump 1")          # None when the machine has no baseline
    row.update(judge_row(x, fs, channel="DE"))   # per window, x (n,) at fs Hz

Judges each window on its own against the stored baseline (no latch, no drift: those
belong to a route in time order, :class:`~desktop.baseline.monitor.SensorMonitor`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.baseline.judge import judge
from desktop.baseline.monitor import SensorSetup
from desktop.baseline.store import BaselineStore


def setup_for(profile: Any, channel: str) -> SensorSetup:
    """The :class:`SensorSetup` of ``profile``'s sensor on ``channel`` (a
    :class:`desktop.diagnosis.profiles.MachineProfile`): its bearing when the profile has
    one, the profile's unit, fixed speed or speed range, and ISO class."""
    from desktop.diagnosis.verdict import DEFAULT_RPM_RANGE

    sp = profile.speed
    rpm = float(sp.rpm) if sp.kind == "rpm" else None
    rng = tuple(sp.rpm_range) if sp.kind == "rpm_range" and sp.rpm_range else DEFAULT_RPM_RANGE
    mclass = ((profile.group, profile.foundation)
              if profile.group and profile.foundation else None)
    geometry = None
    if profile.sensors:
        try:
            geometry = profile.sensor_for(channel).geometry()
        except AnalysisError:
            geometry = None
    return SensorSetup(channel, profile.unit, geometry, rpm, rng, mclass)


def machine_judge(machine: str) -> Callable[..., dict[str, object]] | None:
    """A function ``(x, fs, channel, rpm=None) → {"level", "location", "indicators",
    "anomaly", "evidence"}`` for ``machine``, or None when it has no stored baseline.
    The function raises :class:`AnalysisError` for a sensor without a baseline."""
    from desktop.diagnosis.profiles import ProfileStore

    store = BaselineStore()
    if not store.exists(machine):
        return None
    base = store.load(machine)
    profile = ProfileStore().load(machine)

    def run(x: np.ndarray, fs: float, channel: str, rpm: float | None = None
            ) -> dict[str, object]:
        sb = base.sensors.get(channel)
        if sb is None:
            known = ", ".join(base.sensors) or "none"
            raise AnalysisError(f"machine '{machine}' has no baseline for sensor {channel} "
                                f"(sensors with one: {known})")
        ind = setup_for(profile, channel).indicators(x, fs, rpm)
        return judge(ind, sb).to_json()

    return run


def adabn_entry(machine: str, channel: str, model: str) -> dict[str, Any] | None:
    """The AdaBN statistics of fault model ``model`` learnt with ``machine``'s baseline
    for the sensor on ``channel`` (``desktop.ml.inference.machine_stats`` applies them),
    or None when the machine, that sensor or those statistics were never learnt."""
    from desktop.baseline.model import sensor_for_channel

    store = BaselineStore()
    if not store.exists(machine):
        return None
    sb = sensor_for_channel(store.load(machine), channel)
    return sb.adabn.get(model) if sb is not None else None
