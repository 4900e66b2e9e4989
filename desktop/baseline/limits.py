"""Alert and alarm limits of one indicator from its healthy baseline values.

The rule (statistical limits with floors relative to the baseline level):

For the baseline values ``v_1..v_n > 0`` take logarithms ``y_i = ln v_i``; the centre is
their mean ``μ`` and the spread ``s = max(std(y, ddof=1), S_MIN)`` (``S_MIN`` for one
value). With the small-sample inflation ``c_n = sqrt(1 + 1/n)`` (the factor of a
prediction interval for one new value):

    alert = exp(μ + max(K_ALERT · c_n · s, ln F_ALERT))
    alarm = exp(μ + max(K_ALARM · c_n · s, ln F_ALARM))

with ``K_ALERT = 3``, ``K_ALARM = 6`` and the floors, relative to the baseline level
``exp(μ)`` (its geometric mean):

- level indicators (RMS, velocity, peak, band RMS): alert ≥ ×2 (+6 dB), alarm ≥ ×4
  (+12 dB);
- envelope levels at fault frequencies (already a ratio to the local floor): the same ×2
  and ×4;
- shape indicators (crest factor, kurtosis, which move less: a Gaussian signal has 3–4 and
  3): alert ≥ ×1.5, alarm ≥ ×2.

Where it comes from. ISO 17359:2018 (Condition monitoring and diagnostics of machines —
General guidelines) and ISO 13373-1:2002 (Vibration condition monitoring — General
procedures) ask for alert and alarm criteria set from the machine's own baseline and its
normal spread where absolute limits do not fit; ISO 20816-1:2016 (its annex on setting
operational limits) likewise sets the alert above the machine's own baseline rather than
at a fixed value. Mean + k·σ "statistical alarms" on trended route data and the
rule of thumb that a doubling of a vibration level (+6 dB) deserves attention and a
fourfold rise (+12 dB) action are those of route-based practice as taught in
P. Girdhar & C. Scheffer, "Practical Machinery Vibration Analysis and Predictive
Maintenance", Newnes 2004 (trending and alarm limits) and R. B. Randall,
"Vibration-based Condition Monitoring", Wiley 2011 (chapter 1, trend analysis: a change
of about 6 dB is significant). Check the exact clauses in your copies. The constants
here are ours within that practice: compare them with your plant's standard before
relying on them.

Log values because vibration levels are close to log-normal over a route (a level that
doubles is as notable at 1 mm/s as at 4 mm/s), and because the floors are then offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.baseline.indicators import kind_of

K_ALERT = 3.0
K_ALARM = 6.0
#: Smallest log spread, ≈ 10 % (the repeatability of a route measurement).
S_MIN = math.log(1.1)
#: (alert, alarm) floor factors by indicator kind (module docstring).
FLOORS: dict[str, tuple[float, float]] = {
    "level": (2.0, 4.0), "envelope": (2.0, 4.0), "shape": (1.5, 2.0)}


@dataclass(frozen=True)
class Limits:
    """One indicator's baseline: ``centre`` (geometric mean, the indicator's unit),
    ``spread`` (std of ln values), ``alert`` and ``alarm`` limits, ``n`` values."""

    centre: float
    spread: float
    alert: float
    alarm: float
    n: int

    @property
    def log_alert_offset(self) -> float:
        """``ln(alert / centre)`` (> 0): the distance the drift rule keeps."""
        return math.log(self.alert / self.centre)

    def to_json(self) -> dict[str, float | int]:
        return {"centre": _r(self.centre), "spread": _r(self.spread),
                "alert": _r(self.alert), "alarm": _r(self.alarm), "n": self.n}

    @classmethod
    def from_json(cls, doc: Any) -> Limits:
        try:
            c, s, a, m = (float(doc[k]) for k in ("centre", "spread", "alert", "alarm"))
            n = int(doc["n"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnalysisError(f"a stored limit lacks or garbles {exc}") from None
        if not (0 < c < a <= m):
            raise AnalysisError("a stored limit is not 0 < centre < alert <= alarm")
        return cls(c, s, a, m, n)

    def moved_to(self, centre: float) -> Limits:
        """The same offsets (in log) around a new ``centre`` (the drift rule)."""
        r = centre / self.centre
        return Limits(centre, self.spread, self.alert * r, self.alarm * r, self.n)


def _r(v: float) -> float:
    return float(f"{v:.6g}")


def fit_limits(name: str, values: np.ndarray | list[float]) -> Limits:
    """:class:`Limits` of indicator ``name`` from its baseline ``values`` ``(n,)`` by the
    rule of the module docstring. Raises :class:`AnalysisError` when no value is positive
    and finite."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        raise AnalysisError(f"no usable baseline value for {name}")
    y = np.log(v)
    mu = float(np.mean(y))
    s = float(np.std(y, ddof=1)) if v.size > 1 else 0.0
    s = max(s, S_MIN)
    c = math.sqrt(1 + 1 / v.size)
    fa, fm = FLOORS[kind_of(name)]
    alert = math.exp(mu + max(K_ALERT * c * s, math.log(fa)))
    alarm = math.exp(mu + max(K_ALARM * c * s, math.log(fm)))
    return Limits(math.exp(mu), s, alert, alarm, int(v.size))
