"""Alarm rules over ``predict`` and ``trend`` rows (``--rules FILE``), and over a model's
verdicts of an opened file.

:func:`check_rows` runs a rule set over a list of JSON rows (each a ``dict``, as the
commands print them) in their order and returns a :class:`RowsCheck`: the raise/clear
events and, per row, the rules whose alarm is up at that row (raised, not yet cleared).
:meth:`RowsCheck.annotate` adds that list under :data:`ROW_KEY` to each row (no other key
changes); :meth:`RowsCheck.events_json` is the top-level :data:`EVENTS_KEY` list;
:func:`log_rows_events` writes the events to the alarm log once (as
:func:`desktop.alarms.filecheck.log_file_events`).

A row's **time** is its ``end_s`` (the moment the window or block was complete), else its
``start_s``, else its ``time`` label (``trend --machine``: ISO date-time, read as UTC, as
Unix seconds). Its **channel** is its ``sensor`` (``trend --machine``), else the
``channel`` the caller gives (the one ``predict``/``trend`` judged). What a rule reads
from a row (module doc of :mod:`desktop.alarms.rules`):

- ``high``/``low``/``rate``: the row's number under ``indicator`` (``rms``, ``kurtosis``,
  ``probability``, …), else that indicator's ``value`` in the row's ``indicators``
  (``--machine`` rows: ``vel_rms``, ``env_bpfo``, …);
- ``zone``: ``vel_rms`` (``indicators``) or ``velocity_rms_mm_s``, in mm/s;
- ``baseline``: the worst ``value / alert`` (or ``/ alarm``) of the row's ``indicators``
  (:func:`desktop.alarms.derived.worst_ratio`), else its ``level`` (1 at or above the
  rule's level, 0 below);
- ``class``: ``probability`` when the row's ``class`` or ``location`` is the rule's
  class, else 0;
- ``score``: ``score`` (an anomaly model's), or with ``indicator`` ``anomaly`` the
  baseline's ``anomaly``.

A rule that reads nothing from any row, or whose channel no row has, is refused
(:class:`~desktop.alarms.rules.RulesError`, naming the rule, its line and what to do); a
row that lacks the value (``null``) is a gap (neither raises nor clears).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from desktop.alarms.checked import FileCheck, log_file_events
from desktop.alarms.derived import worst_ratio, zone_rule
from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import (
    Rule,
    RuleEvent,
    RulesError,
    RuleState,
    check_targets,
    resolve_channel,
)

#: The key added to each row: the names of the rules whose alarm is up at that row.
ROW_KEY = "alarms"
#: The top-level key suggested for the events (``RowsCheck.events_json``).
EVENTS_KEY = "alarm_events"
LEVELS = ("ok", "alert", "alarm")


def row_time(row: dict[str, Any], index: int) -> float:
    """A row's time in s (module doc); :class:`RulesError` when it has none."""
    for key in ("end_s", "start_s"):
        value = row.get(key)
        if isinstance(value, int | float):
            return float(value)
    label = row.get("time")
    if isinstance(label, str):
        try:
            moment = dt.datetime.fromisoformat(label.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            return moment.timestamp()
    raise RulesError(f"row {index + 1} has no end_s, start_s or ISO time; alarm rules need "
                     "the time of each row")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _indicator(row: dict[str, Any], name: str) -> float | None:
    found = _number(row.get(name))
    if found is not None:
        return found
    table = row.get("indicators")
    if isinstance(table, dict) and isinstance(table.get(name), dict):
        return _number(table[name].get("value"))
    return None


def row_value(rule: Rule, row: dict[str, Any]) -> float | None:
    """What ``rule`` watches in ``row`` (module doc); None when the row does not carry it.
    ``class`` rules read 0 from a verdict of another class."""
    kind = rule.kind
    if kind == "zone":
        found = _indicator(row, "vel_rms")
        return found if found is not None else _number(row.get("velocity_rms_mm_s"))
    if kind == "baseline":
        table = row.get("indicators")
        if isinstance(table, dict) and table:
            ratio = worst_ratio(table, rule.level)
            if math.isfinite(ratio):
                return ratio
        level = row.get("level")
        if level in LEVELS:
            return 1.0 if LEVELS.index(str(level)) >= LEVELS.index(rule.level) else 0.0
        return None
    if kind == "class":
        if "class" not in row:
            return None
        probability = _number(row.get("probability"))
        hit = rule.target in (row["class"], row.get("location"))
        return (probability if hit else 0.0) if probability is not None else None
    if kind == "score":
        return _number(row.get("anomaly" if rule.indicator == "anomaly" else "score"))
    if not rule.indicator:
        raise RulesError(f"{rule.where}: a {kind} rule without an indicator watches "
                         "samples; predict/trend rows have none: write the row's column or "
                         "indicator in the indicator column (e.g. rms, kurtosis, "
                         "probability)")
    return _indicator(row, rule.indicator)


_WHAT = {
    "zone": "velocity RMS (vel_rms or velocity_rms_mm_s); run with --machine NAME (its "
            "indicators) or use the rule on samples",
    "baseline": "baseline verdict (level, indicators); run with --machine NAME",
    "class": "model class; use class rules with predict",
    "score": "score; an anomaly model's predict rows carry score, --machine rows anomaly "
             "(indicator anomaly)",
}


@dataclass(frozen=True)
class RowsCheck:
    """The events of a rule set over rows, and per row the rules up at it."""

    events: tuple[RuleEvent, ...]
    alarms: tuple[tuple[str, ...], ...]

    def annotate(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add :data:`ROW_KEY` (the rules up at each row, a list) to ``rows`` in place."""
        for row, names in zip(rows, self.alarms, strict=True):
            row[ROW_KEY] = list(names)

    def events_json(self) -> list[dict[str, object]]:
        """The events as JSON objects (:meth:`RuleEvent.to_json`; ``index`` is the row)."""
        return [e.to_json() for e in self.events]

    @property
    def raised(self) -> int:
        return sum(e.kind == "raise" for e in self.events)


def check_rows(rules: Sequence[Rule], rows: Sequence[dict[str, Any]], channel: str = "",
               classes: Sequence[str] | None = None, locations: Sequence[str] = (),
               source: str = "") -> RowsCheck:
    """Run ``rules`` over ``rows`` (module doc); ``channel``: the channel the rows are of
    when they do not name a ``sensor``; ``classes``/``locations``: the model's, when known
    (a ``class`` rule naming neither is refused, :func:`~desktop.alarms.rules.check_targets`;
    ``source``: the rules file, for that message). Raises :class:`RulesError` for such a
    rule, a rule no row can feed (its channel, or the value it reads, is in no row) or a
    row without a time."""
    if classes is not None:
        check_targets(rules, classes, locations, source)
    times = np.array([row_time(r, i) for i, r in enumerate(rows)], dtype=np.float64)
    chans = [str(r.get("sensor") or channel) for r in rows]
    up: list[set[str]] = [set() for _ in rows]
    events: list[RuleEvent] = []
    for rule in rules:
        resolved = resolve_channel(rule, sorted(set(chans)))  # DE for "DE accel"
        idx = [i for i, c in enumerate(chans) if c == resolved]
        if not idx:
            have = ", ".join(sorted(set(chans))) or "none"
            raise RulesError(f"{rule.where} watches channel {rule.channel!r}; these rows are "
                             f"of {have}: leave the rule out or judge that channel")
        picked = [row_value(rule, rows[i]) for i in idx]
        if all(v is None for v in picked):
            what = _WHAT.get(rule.kind, f"{rule.indicator!r} column or indicator")
            raise RulesError(f"{rule.where}: no row carries its {what}")
        if resolved is not None and resolved != rule.channel:
            rule = replace(rule, channel=resolved)
        bound = zone_rule(rule) if rule.kind == "zone" else rule
        values = np.array([math.nan if v is None else v for v in picked], dtype=np.float64)
        found = RuleState(bound).feed(times[idx], values)
        for e in found:
            events.append(RuleEvent(e.rule, e.channel, e.kind, idx[e.index], e.time_s,
                                    e.value, e.severity, e.latched, e.latch))
        start: int | None = None
        for e in found:
            if e.kind == "raise":
                start = e.index
            elif start is not None:
                for k in range(start, e.index):
                    up[idx[k]].add(rule.name)
                start = None
        if start is not None:
            for k in range(start, len(idx)):
                up[idx[k]].add(rule.name)
    order = {r.name: k for k, r in enumerate(rules)}
    events.sort(key=lambda e: (e.time_s, e.kind != "clear", e.rule))
    return RowsCheck(tuple(events),
                     tuple(tuple(sorted(s, key=order.__getitem__)) for s in up))


def log_rows_events(log: AlarmLog, check: RowsCheck, recording: str | Path,
                    source: str = "", start_time: str = "") -> int:
    """Write ``check``'s events to ``log`` once (an alarm already logged for the same
    recording, rule and moment is not logged again); returns how many alarms were added.
    ``recording``: the file the rows are of; ``start_time``: its ISO start, so relative
    row times become wall-clock times (Unix-second times are used as they are)."""
    return log_file_events(log, FileCheck(Path(recording), 0, source, start_time,
                                          check.events))
