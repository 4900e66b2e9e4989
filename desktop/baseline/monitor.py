"""Learning and monitoring one machine's sensors: what the ``baseline`` and ``trend``
commands (and a live worker) run, without files or Qt.

- :class:`SensorSetup`: what is known about a sensor (unit, bearing, speed or speed range,
  ISO machine class) — built from a machine profile (issue 21) by the CLI.
- :func:`learn`: snapshots ``(n,)`` → :class:`~desktop.baseline.model.SensorBaseline`.
- :class:`SensorMonitor`: feeds snapshots in time order through the judgement
  (:func:`~desktop.baseline.judge.judge`), the alarm latch
  (:class:`~desktop.baseline.alarms.AlarmLatch`) and the drift rule
  (:func:`~desktop.baseline.drift.apply_drift`), one :class:`Row` each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from desktop.analysis.bearings import BearingGeometry
from desktop.baseline.alarms import AlarmEvent, AlarmLatch
from desktop.baseline.drift import apply_drift
from desktop.baseline.indicators import Indicators, compute_indicators
from desktop.baseline.judge import Judgement, judge
from desktop.baseline.model import SensorBaseline, fit_sensor_baseline


@dataclass(frozen=True)
class SensorSetup:
    """A sensor as the baseline sees it: ``sensor`` (the channel name), ``unit`` (``g``,
    ``m/s2`` or ``mm/s``), its bearing ``geometry`` (None: no envelope indicators), the
    shaft ``rpm`` (None: from ``rpm_range``, r/min, searched in the spectrum) and the ISO
    20816-3 ``machine_class`` ``(group, foundation)`` (None: no zone)."""

    sensor: str
    unit: str = "g"
    geometry: BearingGeometry | None = None
    rpm: float | None = None
    rpm_range: tuple[float, float] | None = None
    machine_class: tuple[int, str] | None = None

    def indicators(self, x: np.ndarray, fs: float, rpm: float | None = None) -> Indicators:
        """The indicators of one snapshot ``x`` ``(n,)`` at ``fs`` Hz; ``rpm`` (e.g. the
        file's own RPM variable) overrides the setup's speed."""
        return compute_indicators(x, fs, self.unit, geometry=self.geometry,
                                  rpm=rpm if rpm is not None else self.rpm,
                                  rpm_range=self.rpm_range, machine_class=self.machine_class)


def learn(setup: SensorSetup, snapshots: Iterable[np.ndarray], fs: float,
          progress: Callable[[int], None] | None = None) -> SensorBaseline:
    """The baseline of ``setup``'s sensor from healthy ``snapshots`` (each ``(n,)`` at
    ``fs`` Hz, ≥ 0.5 s). ``progress(i)`` is called after each (it may raise to cancel).
    Raises :class:`~desktop.analysis.errors.AnalysisError` as
    :func:`~desktop.baseline.model.fit_sensor_baseline`."""
    inds = []
    seconds = 0.0
    for i, x in enumerate(snapshots):
        inds.append(setup.indicators(x, fs))
        seconds += x.shape[0] / fs
        if progress is not None:
            progress(i)
    return fit_sensor_baseline(setup.sensor, setup.unit, fs, inds, seconds)


@dataclass(frozen=True)
class Row:
    """One judged snapshot: its ``time`` label, the :class:`Judgement`, the sensor's
    latched ``state`` after it and the ``event`` it raised (None if none)."""

    time: str
    judgement: Judgement
    state: str
    event: AlarmEvent | None
    indicators: Indicators


@dataclass
class SensorMonitor:
    """Judges one sensor's snapshots in time order against ``baseline``; ``drift``
    False freezes the baseline (no slow update)."""

    setup: SensorSetup
    baseline: SensorBaseline
    drift: bool = True
    latch: AlarmLatch = field(init=False)

    def __post_init__(self) -> None:
        self.latch = AlarmLatch(self.setup.sensor)

    def feed(self, x: np.ndarray, fs: float, time: str = "",
             rpm: float | None = None) -> Row:
        """Judge one snapshot ``x`` ``(n,)`` at ``fs`` Hz (``rpm``: a measured speed)."""
        ind = self.setup.indicators(x, fs, rpm)
        return self.feed_indicators(ind, time)

    def feed_indicators(self, ind: Indicators, time: str = "") -> Row:
        """Judge already computed indicators (same rules as :meth:`feed`)."""
        j = judge(ind, self.baseline)
        event = self.latch.update(j, time)
        if self.drift:
            apply_drift(self.baseline, ind, j.level, self.latch.latched)
        return Row(time, j, self.latch.latched, event, ind)
