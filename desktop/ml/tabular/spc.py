"""A p-chart per class over the last N parts: the share of each class, with 3σ limits.

Live, only *accepted* parts are fed to it (a part the model refers to an inspector is not
counted as a defect of any class until someone labels it), so N is the last N accepted
parts.

For each class the centre line ``p̄`` is its expected share (by default its share of the
model's training parts, from the card's ``class_counts``); over a window of ``n`` parts
the share's standard error is ``sqrt(p̄(1 − p̄)/n)``, so the control limits are
``p̄ ± 3·sqrt(p̄(1 − p̄)/n)`` (the lower one floored at 0). Until ``n`` parts have been
seen, the limits use the number seen so far (a p-chart with a varying sample size), and
nothing is judged before ``min_parts`` parts.

A class is *out of control* while its share is above its upper limit; the chart's alarm is
on while any class is (named: the class furthest above its limit). Being under the lower
limit is drawn but does not alarm: fewer of one defect is not a reason to stop a line.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PChartPoint:
    """The chart after one more part."""

    parts: int                      # parts in the window (≤ n)
    shares: dict[str, float]        # class → share of the window
    upper: dict[str, float]         # class → upper control limit
    lower: dict[str, float]         # class → lower control limit
    over: list[str] = field(default_factory=list)  # classes above their upper limit
    crossed: list[str] = field(default_factory=list)  # classes that crossed with this part

    def to_json(self) -> dict[str, Any]:
        return {"parts": self.parts, "shares": self.shares, "upper": self.upper,
                "lower": self.lower, "over": self.over, "crossed": self.crossed}


class PChart:
    """Feed it one class per part (:meth:`add`); read the alarm from :attr:`alarm`."""

    def __init__(self, classes: list[str], centre: dict[str, float] | None = None,
                 window: int = 50, min_parts: int = 10) -> None:
        if window < 2:
            raise ValueError("a p-chart window needs at least 2 parts")
        self.classes = list(classes)
        self.window = int(window)
        self.min_parts = max(1, min(int(min_parts), self.window))
        uniform = 1.0 / max(len(self.classes), 1)
        centre = dict(centre or {})
        self.centre = {c: min(max(float(centre.get(c, uniform)), 1e-6), 1 - 1e-6)
                       for c in self.classes}
        self._recent: deque[str] = deque(maxlen=self.window)
        self._counts = {c: 0 for c in self.classes}
        self._over: set[str] = set()

    @classmethod
    def from_counts(cls, classes: list[str], counts: dict[str, Any] | None, window: int = 50,
                    min_parts: int = 10) -> PChart:
        """Centre lines from training class counts (uniform when there are none)."""
        valid = {c: float(v) for c, v in (counts or {}).items()
                 if c in classes and isinstance(v, int | float) and v >= 0}
        total = sum(valid.values())
        centre = {c: valid.get(c, 0.0) / total for c in classes} if total > 0 else None
        return cls(classes, centre, window, min_parts)

    def limits(self, n: int) -> tuple[dict[str, float], dict[str, float]]:
        upper, lower = {}, {}
        for c, p in self.centre.items():
            sigma = math.sqrt(p * (1 - p) / max(n, 1))
            upper[c] = min(1.0, p + 3 * sigma)
            lower[c] = max(0.0, p - 3 * sigma)
        return upper, lower

    def add(self, cls: str) -> PChartPoint:
        if len(self._recent) == self.window:
            old = self._recent[0]
            if old in self._counts:
                self._counts[old] -= 1
        self._recent.append(cls)
        if cls in self._counts:
            self._counts[cls] += 1
        n = len(self._recent)
        shares = {c: self._counts[c] / n for c in self.classes}
        upper, lower = self.limits(n)
        over = ({c for c in self.classes if shares[c] > upper[c]}
                if n >= self.min_parts else set())
        crossed = sorted(over - self._over, key=self.classes.index)
        self._over = over
        ordered = sorted(over, key=lambda c: shares[c] - upper[c], reverse=True)
        return PChartPoint(n, shares, upper, lower, ordered, crossed)

    @property
    def alarm(self) -> bool:
        return bool(self._over)


def describe(point: PChartPoint, cls: str) -> str:
    """``K_Scatch: 28 of the last 50 parts (56 %), above its limit 37 %``."""
    n = point.parts
    k = round(point.shares[cls] * n)
    return (f"{cls}: {k} of the last {n} parts ({point.shares[cls]:.0%}), above its "
            f"upper control limit {point.upper[cls]:.0%}")


__all__ = ["PChart", "PChartPoint", "describe"]
