"""The slow-drift rule: how a baseline follows a healthy machine that changes slowly,
without ever learning a failure.

A machine's healthy level wanders over weeks (seasons, lubrication, a process that
changes). Refitting the baseline on recent data would, during a slow degradation, learn
the fault as normal. The rule instead (in the spirit of the exponentially weighted
baseline of SPC, e.g. D. C. Montgomery, "Introduction to Statistical Quality Control",
EWMA chapter, with the update gated by the verdict):

1. Only a snapshot judged ``ok`` updates the baseline, and only while the sensor's alarm
   state is ``ok`` (nothing latched, acknowledged or not): an alert, an alarm or a
   snapshot of a machine in alarm never moves it.
2. Each indicator's centre moves in log by an exponentially weighted step
   ``d ← d + α·(ln v − ln c₀ − d)`` with ``α = 1/`` :data:`DRIFT_SNAPSHOTS` (about two
   weeks of 10-minute snapshots): a step in the healthy level takes weeks to follow.
3. The total move is bounded: ``|d| ≤ ln`` :data:`DRIFT_MAX` (×1.5, +3.5 dB) from the
   learnt centre. A machine that moves further needs a new baseline, learnt on purpose
   (``linewatch baseline``), after someone has looked at it.
4. The limits move with the centre (same log offsets), so the alert stays ×2 above
   the current healthy level.
"""

from __future__ import annotations

import math

from desktop.baseline.indicators import Indicators
from desktop.baseline.model import SensorBaseline

#: The EWMA time constant, in snapshots (14 days × 144 snapshots a day).
DRIFT_SNAPSHOTS = 2016
#: The largest move of a centre from the learnt one, as a factor.
DRIFT_MAX = 1.5


def apply_drift(base: SensorBaseline, ind: Indicators, level: str, latched: str) -> bool:
    """Update ``base.drift`` in place from one snapshot's indicators when ``level`` (the
    snapshot's) and ``latched`` (the sensor's alarm state) are both ``ok``; returns True
    when it moved."""
    if level != "ok" or latched != "ok":
        return False
    alpha = 1.0 / DRIFT_SNAPSHOTS
    bound = math.log(DRIFT_MAX)
    for name, value in ind.values.items():
        lim = base.limits.get(name)
        if lim is None or not value > 0:
            continue
        d = base.drift.get(name, 0.0)
        d += alpha * (math.log(value / lim.centre) - d)
        base.drift[name] = max(-bound, min(bound, d))
    base.drift_updates += 1
    return True
