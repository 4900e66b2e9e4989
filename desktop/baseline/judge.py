"""One snapshot judged against a sensor's baseline: level, location, indicators, score.

- ``level``: ``alarm`` when any indicator is at or above its alarm limit, else ``alert``
  when any is at or above its alert limit, else ``ok`` (limits with the drift applied,
  :meth:`~desktop.baseline.model.SensorBaseline.current`).
- ``location`` (issue 21's words): ``normal`` when ok; otherwise the location of the
  diagnosis (a fault ``present`` by issue 21's evidence threshold) when it names one,
  else the bearing part of the envelope indicator (``env_bpfo`` → ``outer_race``,
  ``env_bpfi`` → ``inner_race``, ``env_bsf`` → ``ball``, ``env_ftf`` → ``cage``) that
  is furthest above its alert limit, when one is; else ``unknown`` (a level rose
  without bearing lines: look at unbalance, looseness, the process).
- ``anomaly``: with the sensor's anomaly model (:mod:`desktop.baseline.anomaly`,
  ``anomaly_method`` ``"t2"``) its Hotelling T² over its held-out limit, 1 at the limit;
  without one (a thin baseline, or one stored before the model existed; ``"limits"``)
  the distance to the limits ``max_j ln(v_j / centre_j) / ln(alert_j / centre_j)`` —
  0 at the baseline centre, 1 at an alert limit, about 2 at an alarm limit set by the
  floors. The level comes from the limits only.
- ``evidence``: the indicators over their alert limit (worst first) and, for the
  location, the envelope lines found (harmonic order, Hz, SNR dB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from desktop.baseline.evidence import LOCATION_OF
from desktop.baseline.indicators import Indicators
from desktop.baseline.model import SensorBaseline

LEVELS = ("ok", "alert", "alarm")
BEARING_LOCATIONS = frozenset(LOCATION_OF.values())


@dataclass(frozen=True)
class Judgement:
    """A snapshot's verdict (module docstring). ``indicators``: name → ``{"value",
    "alert", "alarm"}``; ``exceeded``: names over their alert limit, worst first;
    ``ratio``: name → value / alert limit."""

    level: str
    location: str
    anomaly: float
    indicators: dict[str, dict[str, float]]
    exceeded: list[str]
    ratio: dict[str, float]
    evidence: dict[str, object] = field(default_factory=dict)
    zone: str = ""
    anomaly_method: str = "limits"

    def to_json(self) -> dict[str, object]:
        return {"level": self.level, "location": self.location,
                "anomaly": round(self.anomaly, 4), "anomaly_method": self.anomaly_method,
                "indicators": self.indicators,
                "evidence": self.evidence, "zone": self.zone}


def _r(v: float) -> float:
    return float(f"{v:.5g}")


def judge(ind: Indicators, base: SensorBaseline) -> Judgement:
    """Judge one snapshot's indicators against ``base`` (module docstring). Indicators
    the baseline does not have (another rate, no bearing then) are left out."""
    table: dict[str, dict[str, float]] = {}
    ratio: dict[str, float] = {}
    score = 0.0
    level = 0
    for name, value in ind.values.items():
        if name not in base.limits:
            continue
        lim = base.current(name)
        table[name] = {"value": _r(value), "alert": _r(lim.alert), "alarm": _r(lim.alarm)}
        ratio[name] = value / lim.alert
        if value >= lim.alarm:
            level = 2
        elif value >= lim.alert:
            level = max(level, 1)
        score = max(score, math.log(value / lim.centre) / lim.log_alert_offset)
    exceeded = sorted((k for k, r in ratio.items() if r >= 1.0), key=lambda k: -ratio[k])
    location = "normal"
    evidence: dict[str, object] = {}
    if level > 0:
        env = [k for k in exceeded if k.startswith("env_")]
        if ind.location in BEARING_LOCATIONS:
            location = ind.location
        else:
            location = LOCATION_OF.get(env[0][4:], "unknown") if env else "unknown"
        evidence["exceeded"] = [{"indicator": k, "value": table[k]["value"],
                                 "limit": table[k]["alarm" if ratio[k] * table[k]["alert"]
                                                  >= table[k]["alarm"] else "alert"]}
                                for k in exceeded]
        if env:
            evidence["lines"] = ind.lines.get(env[0][4:], [])
    if ind.rpm is not None:
        evidence["rpm"] = round(ind.rpm, 1)
    method = "limits"
    if base.anomaly is not None:
        t2 = base.anomaly.score(ind.values, base.drift)
        if t2 is not None:
            score, method = t2, "t2"
    return Judgement(LEVELS[level], location, max(score, 0.0), table, exceeded, ratio,
                     evidence, ind.zone, method)
