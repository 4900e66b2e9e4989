"""Alarm state of one sensor over a sequence of judged snapshots: delay, hysteresis,
and a latch that only an acknowledgement clears.

Per level (alert, alarm) a counter of consecutive snapshots at or above that level:

- it counts up while a snapshot is at or above the level;
- **hysteresis**: it is reset only when the indicators that raised it are clearly below
  the level — each under its limit divided by :data:`HYSTERESIS` (−2 dB); while one of
  them stays in that band it holds (per indicator: another indicator near its own limit
  does not keep a count that it did not raise);
- **delay**: the level is *active* once the counter reaches ``delay`` (default 3
  snapshots for alert and for alarm: 30 min on a 10-minute route, so two transient
  knocks in consecutive snapshots do not raise anything);
- **latch**: the raised level never drops by itself, whatever the snapshots do (an
  impulsive fault's kurtosis falls as the damage spreads; an alarm that clears itself
  while the fault grows is switched off by the plant). :meth:`AlarmLatch.acknowledge`
  sets the latched level to what is active now (so an acknowledged fault that persists
  stays raised, marked acknowledged) and a higher level raises it again.

Each raise is an :class:`AlarmEvent` naming the sensor, the level, the worst indicator
and the evidence (indicator values over their limits, envelope lines). Its location is
the bearing location named most often by the snapshots over their limits since the
episode began (one snapshot's evidence can be wrong; the run of them rarely is).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from desktop.baseline.judge import BEARING_LOCATIONS, LEVELS, Judgement

#: Clear-below factor: a counter resets when every ratio to its limit is under 1/1.25.
HYSTERESIS = 1.25


@dataclass(frozen=True)
class AlarmEvent:
    """A raise: ``index`` of the snapshot (and its ``time`` label), ``sensor``,
    ``level`` (``alert``/``alarm``), the worst ``indicator``, ``location`` and
    ``evidence`` (the judgement's)."""

    index: int
    time: str
    sensor: str
    level: str
    indicator: str
    location: str
    evidence: dict[str, object]

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "time": self.time, "sensor": self.sensor,
                "level": self.level, "indicator": self.indicator,
                "location": self.location, "evidence": self.evidence}


@dataclass
class AlarmLatch:
    """One sensor's alarm state (module docstring)."""

    sensor: str
    delay_alert: int = 3
    delay_alarm: int = 3
    latched: str = "ok"
    acknowledged: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {"alert": 0, "alarm": 0})
    events: list[AlarmEvent] = field(default_factory=list)
    seen: int = 0
    episode: Counter[str] = field(default_factory=Counter)
    hot: dict[str, set[str]] = field(default_factory=lambda: {"alert": set(), "alarm": set()})

    def active(self) -> str:
        """The level whose counter has reached its delay now (``ok`` if none)."""
        if self.counts["alarm"] >= self.delay_alarm:
            return "alarm"
        if self.counts["alert"] >= self.delay_alert:
            return "alert"
        return "ok"

    def update(self, j: Judgement, time: str = "") -> AlarmEvent | None:
        """Feed one judged snapshot; returns the event when the latched level rises."""
        index = self.seen
        self.seen += 1
        if j.level != "ok" and j.location in BEARING_LOCATIONS:
            self.episode[j.location] += 1
        for name in ("alert", "alarm"):
            rows = j.indicators
            over = [k for k, row in rows.items() if row["value"] >= row[name]]
            if over:
                self.counts[name] += 1
                self.hot[name].update(over)
            elif not any(rows[k]["value"] * HYSTERESIS >= rows[k][name]
                         for k in self.hot[name] if k in rows):
                self.counts[name] = 0
                self.hot[name].clear()
        if self.counts["alert"] == 0 and self.latched == "ok":
            self.episode.clear()
        now = self.active()
        if LEVELS.index(now) <= LEVELS.index(self.latched):
            return None
        self.latched = now
        self.acknowledged = False
        indicator = j.exceeded[0] if j.exceeded else ""
        location = self.episode.most_common(1)[0][0] if self.episode else j.location
        event = AlarmEvent(index, time, self.sensor, now, indicator, location,
                           dict(j.evidence))
        self.events.append(event)
        return event

    @property
    def location(self) -> str:
        """The bearing location named most often by the snapshots over their limits in
        the current episode (``""`` when none named one): it firms up as evidence
        accumulates after the event was raised."""
        return self.episode.most_common(1)[0][0] if self.episode else ""

    def acknowledge(self) -> str:
        """Acknowledge: the latched level becomes the active one (``ok`` when the
        condition has cleared); returns it."""
        self.latched = self.active()
        self.acknowledged = self.latched != "ok"
        return self.latched
