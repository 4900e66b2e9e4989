"""Alarm rules on a live stream: read new samples from the ring buffer, log raise/clear.

:class:`RuleWatcher` follows a ring buffer (``streams.ring.RingBuffer``) with a cursor
(``since``), feeds each rule's channel to its :class:`~desktop.alarms.rules.RuleState`
and writes every raise and clear to the :class:`~desktop.alarms.log.AlarmLog` as it
happens, with the recording and the seconds into it (the recording's own time
convention: seconds from the first sample, Unix-epoch times kept as they are). It owns no
thread: ``linewatch record --rules`` calls :meth:`RuleWatcher.poll` after each read.
Indicator, zone and baseline rules are bound to their channel (its unit) at the first
samples and judge 1-s blocks (:mod:`desktop.alarms.derived`); ``class``/``score`` rules
judge a model's verdicts, fed with :meth:`RuleWatcher.feed_verdicts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import (
    MODEL_KINDS,
    Rule,
    RuleEvent,
    RulesError,
    RuleState,
    bind_channels,
    check_targets,
    resolve_channel,
)
from desktop.core.types import WALL_CLOCK_MIN_S


class CursorBuffer(Protocol):
    """What the watcher needs of a ring buffer (``streams.ring.RingBuffer``): ``since``."""

    def since(self, cursor: int) -> Any: ...


class RuleWatcher:
    """Evaluates rules on the samples a ring buffer receives (see the module doc)."""

    def __init__(self, rules: Sequence[Rule], log: AlarmLog | None, source: str = "",
                 recording: str = "",
                 on_event: Callable[[RuleEvent], None] | None = None,
                 anchor: Callable[[], tuple[str, float] | None] | None = None,
                 cursor: int = 0, rate: float | None = None) -> None:
        """``anchor``: the window's label anchor (recording, its first sample's time), read
        at each event, so alarms carry the recording being written and the seconds into
        it exactly as labels do; ``cursor``: the first buffer index to judge; ``rate``:
        the source's rate in Hz (None: block rates from the samples' times)."""
        self.rules = tuple(r for r in rules if r.kind not in MODEL_KINDS)
        self.model_rules = tuple(r for r in rules if r.kind in MODEL_KINDS)
        self.model_states = [RuleState(rule) for rule in self.model_rules]
        self.anchor = anchor
        self.rate = rate
        self.states = [RuleState(rule) for rule in self.rules]
        self._series: list[Any] = []
        self.log = log
        self.source = source
        self.recording = recording
        self.on_event = on_event
        self.on_error: Callable[[str], None] | None = None
        self.rules_source = ""  # the rules file, named in a refusal
        self.runner: Any = None  # an ActionRunner (record --actions), closed with us
        self.cursor = cursor
        self.lost = 0  # samples overwritten before they were judged (a stalled caller)
        self.error = ""
        self.events: list[RuleEvent] = []
        self._t0: float | None = None
        self._columns: list[int] | None = None
        self._open: dict[str, int] = {}
        self._latched: dict[str, int] = {}  # latching rule -> its alarm, until acknowledged

    def poll(self, buffer: CursorBuffer | None) -> list[RuleEvent]:
        """Judge what arrived since the last call; returns (and logs) its events. A rule
        naming a channel the source lacks stops the watcher with :attr:`error` set."""
        if buffer is None or self.error:
            return []
        self._sync_acknowledged()
        snap = buffer.since(self.cursor)
        self.cursor = snap.end_index
        self.lost += snap.lost
        if not len(snap.times):
            return []
        if self._columns is None:
            names = [c.name for c in snap.channels]
            try:
                self.bind(names, [c.unit for c in snap.channels])
            except RulesError as exc:
                return self._fail(exc)
        if self._t0 is None:
            self._t0 = float(snap.times[0])
        events: list[RuleEvent] = []
        values = np.asarray(snap.values, dtype=np.float64)
        assert self._columns is not None
        try:
            for state, series, column in zip(self.states, self._series, self._columns,
                                             strict=True):
                events += state.feed(*series.feed(snap.times, values[:, column]))
        except RulesError as exc:  # a block the rule cannot judge (too slow a channel)
            return self._fail(exc)
        return self._emit(events)

    @property
    def unbound(self) -> bool:
        """True until the rules are bound to the source's channels (:meth:`bind`)."""
        return self._columns is None and not self.error

    def bind(self, names: list[str], units: list[str]) -> None:
        """Bind the sample rules to the source's channels ``names`` (units ``units``):
        each rule's channel resolved (:func:`~desktop.alarms.rules.resolve_channel`: ``DE``
        for ``DE accel``) and bound to its unit. Called at the first samples, or earlier
        by a caller that knows the channels (``record`` refuses before recording).
        Raises :class:`RulesError` for a channel the source lacks (naming the rule, its
        channel and the source's channels) or a rule that cannot judge its channel."""
        from desktop.alarms.derived import bind_rule

        self.rules = bind_channels(self.rules, names)
        self._columns = [names.index(rule.channel) for rule in self.rules]
        cache: dict[str, object] = {}
        bound = [bind_rule(rule, units[c], self.rate, cache)
                 for rule, c in zip(self.rules, self._columns, strict=True)]
        self.states = [RuleState(rule) for rule, _ in bound]
        self._series = [series for _, series in bound]

    def _fail(self, exc: RulesError) -> list[RuleEvent]:
        self.error = f"alarm rules not evaluated: {exc}"
        if self.on_error is not None:
            self.on_error(self.error)
        return []

    def feed_verdicts(self, rows: list[dict[str, Any]], channel: str = "",
                      classes: Sequence[str] | None = None, locations: Sequence[str] = ()
                      ) -> list[RuleEvent]:
        """Judge the ``class``/``score`` rules on new verdict rows of ``channel`` (each
        with ``end_s`` in buffer time, ``class``, ``location``, ``probability``, ``score``:
        the ``predict`` row keys); returns (and logs) their events. ``classes`` /
        ``locations``: the loaded model's, when known: a ``class`` rule naming neither
        stops the watcher with :attr:`error` set (it could never fire)."""
        from desktop.alarms.rows import row_time, row_value

        if not rows or not self.model_rules or self.error:
            return []
        if classes is not None:
            try:
                check_targets(self.model_rules, classes, locations, self.rules_source)
            except RulesError as exc:
                self._fail(exc)
                return []
        self._sync_acknowledged()
        times = np.array([row_time(r, i) for i, r in enumerate(rows)], dtype=np.float64)
        events: list[RuleEvent] = []
        for rule, state in zip(self.model_rules, self.model_states, strict=True):
            if resolve_channel(rule, [channel]) is None:
                continue
            got = [row_value(rule, r) for r in rows]
            events += state.feed(times, np.array([np.nan if v is None else v for v in got],
                                                 dtype=np.float64))
        return self._emit(events)

    def _sync_acknowledged(self) -> None:
        """Release the latched rules whose alarm someone acknowledged in the log, so their
        next run over the limit is a new alarm (one query per latched rule)."""
        if self.log is None or not self._latched:
            return
        for state in (*self.states, *self.model_states):
            alarm = self._latched.get(state.rule.name)
            if state.latched and alarm is not None and self.log.acknowledged(alarm):
                state.acknowledge()
                del self._latched[state.rule.name]

    def _emit(self, events: list[RuleEvent]) -> list[RuleEvent]:
        events.sort(key=lambda e: (e.time_s, e.kind != "clear", e.rule))
        for event in events:
            self._log(event)
            if self.on_event is not None:
                self.on_event(event)
        self.events += events
        return events

    def time_s(self, t: float) -> float:
        """A buffer time as the recording stores it."""
        if t >= WALL_CLOCK_MIN_S or self._t0 is None:
            return t
        return t - self._t0

    def _log(self, event: RuleEvent) -> None:
        if self.log is None:
            return
        recording: str = self.recording
        time_s: float | None = self.time_s(event.time_s)
        if self.anchor is not None:  # the window: as labels, or nothing when not recording
            anchor = self.anchor()
            recording = anchor[0] if anchor else ""
            time_s = event.time_s - anchor[1] if anchor else None
        if event.kind == "raise":
            entry = self.log.raise_alarm(event.rule, event.channel, event.value,
                                         severity=event.severity, source=self.source,
                                         recording=recording, time_s=time_s,
                                         latch=event.latch)
            self._open[event.rule] = entry.id
            if event.latch:
                self._latched[event.rule] = entry.id
        elif event.rule in self._open:
            self.log.clear_alarm(self._open.pop(event.rule), event.value, time_s=time_s)

    def summary(self) -> dict[str, object]:
        """Figures for ``record``'s summary: raised, cleared, lost samples, error."""
        return {"raised": sum(e.kind == "raise" for e in self.events),
                "cleared": sum(e.kind == "clear" for e in self.events),
                "unjudged_samples": self.lost, "error": self.error or None}

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()
        if self.log is not None:
            self.log.close()


def record_watcher(rules_path: str, source: str, out: object,
                   say: Callable[[str], None], actions_path: str | None = None
                   ) -> RuleWatcher:
    """The watcher of ``linewatch record --rules FILE [--actions FILE]``: rules (and
    actions) read and refused before anything connects, events logged to the default
    alarm log and announced by ``say``; a raise runs its rule's actions, if any."""
    from desktop.alarms.actions import ActionRunner, read_actions
    from desktop.alarms.rulefile import read_rules

    rules = read_rules(rules_path)
    model = [r for r in rules if r.kind in MODEL_KINDS]
    if model:  # record runs no model: such a rule would never be judged
        raise RulesError(f"{model[0].where} in {rules_path}: a {model[0].kind} rule judges "
                         "a model's verdicts, and record runs no model; leave it out here "
                         "(use it with predict --rules or in the window)")
    actions = read_actions(actions_path) if actions_path else {}
    unknown = sorted(set(actions) - {r.name for r in rules})
    if unknown:
        from desktop.alarms.actions import ActionsError

        raise ActionsError(f"actions {actions_path}: no rule named {unknown[0]!r} in "
                           f"{rules_path}")
    runner = ActionRunner(actions, say) if actions else None

    def announce(event: RuleEvent) -> None:
        value = f"{event.value:g}" if np.isfinite(event.value) else "nan"
        what = "ALARM" if event.kind == "raise" else "cleared"
        latched = " (latched until acknowledged)" if event.latched else ""
        say(f"{what}: {event.rule} [{event.severity}] {event.channel} = {value}{latched}")
        if runner is not None:
            runner(event)

    watcher = RuleWatcher(rules, AlarmLog(), source=source, recording=str(out),
                          on_event=announce)
    watcher.on_error = say
    watcher.runner = runner
    return watcher
