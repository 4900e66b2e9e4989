"""Next / previous alarm: jump the main view between the fault spans of the verdict lane.

A *fault span* is a run of consecutive non-normal verdicts (any fault class; ``normal``
and the model's ``unknown`` are not alarms) whose windows touch or overlap; it is named
after the class that holds most of it. Moving goes from the centre of the current view,
so pressing ``]`` on a span shown by ``]`` goes to the one after it. The labels, the
verdict lane and label editing are untouched: the view only moves.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Verdict locations that are not alarms.
NOT_ALARMS = frozenset({"normal", "unknown"})
#: Views and spans are compared with this slack (s): a view framed on a span by
#: ``show_span`` has the span's centre up to rounding.
EPS_S = 1e-3


@dataclass(frozen=True)
class FaultSpan:
    start_s: float
    end_s: float
    label: str  # the class that holds most of the span
    verdicts: int

    @property
    def centre(self) -> float:
        return 0.5 * (self.start_s + self.end_s)


def is_alarm(verdict: dict[str, Any]) -> bool:
    location = str(verdict.get("location", verdict.get("class", "normal")))
    return location not in NOT_ALARMS and str(verdict.get("class")) not in NOT_ALARMS


def fault_spans(verdicts: Sequence[dict[str, Any]], join_gap_s: float = 0.0
                ) -> list[FaultSpan]:
    """Fault spans of ``verdicts`` (time order, signal seconds), oldest first."""
    spans: list[FaultSpan] = []
    start = end = 0.0
    classes: Counter[str] = Counter()
    for v in verdicts:
        if not is_alarm(v):
            if classes:
                spans.append(FaultSpan(start, end, classes.most_common(1)[0][0],
                                       sum(classes.values())))
                classes = Counter()
            continue
        s, e = float(v["start_s"]), float(v["end_s"])
        if classes and s <= end + join_gap_s:
            end = max(end, e)
        else:
            if classes:
                spans.append(FaultSpan(start, end, classes.most_common(1)[0][0],
                                       sum(classes.values())))
                classes = Counter()
            start, end = s, e
        classes[str(v.get("class", "fault"))] += 1
    if classes:
        spans.append(FaultSpan(start, end, classes.most_common(1)[0][0],
                               sum(classes.values())))
    return spans


def step(spans: Sequence[FaultSpan], at_s: float, forward: bool) -> FaultSpan | None:
    """The span after (``forward``) or before the view centre ``at_s``, or None."""
    if forward:
        return next((s for s in spans if s.centre > at_s + EPS_S), None)
    return next((s for s in reversed(spans) if s.centre < at_s - EPS_S), None)


def go_to_alarm(window: Any, forward: bool) -> FaultSpan | None:
    """Move ``window.plot`` to the next/previous fault span; say so in the status bar."""
    plot = window.plot
    bar = window.statusBar()
    if not plot.verdicts:
        bar.showMessage("No verdicts to step through: pick a model in the Model panel", 6000)
        return None
    spans = fault_spans(plot.verdicts)
    if not spans:
        bar.showMessage(f"No alarms: all {len(plot.verdicts):,} verdicts are normal", 6000)
        return None
    if not plot.lanes:
        return None
    x0, x1 = plot.lanes[0].getViewBox().viewRange()[0]
    centre = plot.to_absolute(0.5 * (x0 + x1))
    span = step(spans, centre, forward)
    if span is None:
        bar.showMessage(f"No {'later' if forward else 'earlier'} alarm "
                        f"({len(spans)} fault span{'s' if len(spans) != 1 else ''})", 6000)
        return None
    plot.show_span(span.start_s, span.end_s)
    number = spans.index(span) + 1
    if plot.wall_clock:  # epoch seconds: say the local time
        shown = dt.datetime.fromtimestamp(span.start_s).strftime("%Y-%m-%d %H:%M:%S")
    else:
        shown = f"{span.start_s - plot.x_offset:.2f} s"
    bar.showMessage(f"Alarm {number} of {len(spans)}: {span.label} at {shown}, "
                    f"{span.end_s - span.start_s:.2f} s long ({span.verdicts} verdicts)",
                    8000)
    return span
