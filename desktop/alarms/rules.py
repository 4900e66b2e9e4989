"""Alarm rules of the plant's own: limits on any channel, independent of any model.

A rules file is a CSV with this header (the last three columns are optional: a file with
only the first eight, as written before they existed, still loads, and a row may leave
them out)::

    name,channel,kind,limit,delay_s,hysteresis,severity,latch,indicator,machine,class

one rule per row:

* ``name`` — what the alarm is called (unique); ``channel`` — the channel it watches (in
  ``predict``/``trend`` rows: the channel judged, or a ``trend --machine`` row's sensor):
  its name, or a unique case-insensitive part of it (``DE`` for ``DE accel``,
  :func:`resolve_channel`).
* ``kind`` and ``limit``, with what the rule watches:

  ========  ==================================  ===========================================
  kind      limit                               raised while
  ========  ==================================  ===========================================
  high      a number, the channel's unit        value > limit
  low       a number                            value < limit
  rate      a positive number, unit per second  |Δvalue/Δt| > limit
  zone      ``B``, ``C`` or ``D``               the ISO 20816 zone of the velocity RMS is at
                                                or above that zone (velocity ≥ its lower
                                                boundary, mm/s)
  baseline  ``alert`` or ``alarm``              an indicator of the machine's learnt
                                                baseline is at or above that limit (value:
                                                the worst indicator / its limit, 1 at it)
  class     a probability in (0, 1]             a model's verdict is ``class`` (the
                                                verdict's class or its location) with at
                                                least that probability
  score     a number                            the anomaly score ≥ limit
  ========  ==================================  ===========================================

  ``high``/``low``/``rate`` watch the channel's samples, or with ``indicator`` one
  indicator per 1-s block (:data:`~desktop.alarms.derived.SAMPLE_INDICATORS`: ``rms``,
  ``peak``, ``crest_factor``, ``kurtosis``, ``vel_rms``) or a ``predict``/``trend`` row's
  column or indicator of that name. ``zone`` needs the machine class in ``class``
  (``GROUP/FOUNDATION``: ``1/rigid``, ``1/flexible``, ``2/rigid``, ``2/flexible``) or a
  ``machine`` whose profile has it; boundaries: ISO 20816-3:2022 Annex A (= ISO
  10816-3:2009 Tables A.1/A.2, :data:`desktop.analysis.severity.ZONE_LIMITS_MM_S`), on the
  10–1000 Hz velocity RMS of each 1-s block (ISO 20816-1:2016 / -3 clause 4), or a row's
  ``vel_rms``. ``baseline`` names the ``machine`` whose learnt baseline
  (:mod:`desktop.baseline`) judges each 1-s snapshot, or reads a ``--machine`` row's
  indicators. ``class`` and ``score`` judge a model's verdicts (``predict`` rows, the
  window's verdict lane): ``score`` reads the row's ``score`` (an anomaly model), or with
  ``indicator`` ``anomaly`` the baseline's anomaly score of a ``--machine`` row.
* ``delay_s`` — seconds the condition must hold without a break before the alarm is raised
  (empty: 0, raised at the first sample over the limit).
* ``hysteresis`` — in the unit of the value watched (per second for ``rate``, mm/s for
  ``zone``, a fraction of the limit for ``baseline``, a probability for ``class``): a
  raised alarm clears only once the value is back past the limit by this much (``high``:
  below ``limit - hysteresis``; ``low``: above ``limit + hysteresis``), so a value
  hovering at the limit does not raise and clear over and over (empty: 0).
* ``severity`` — free text shown and logged (e.g. ``warning``, ``alarm``; empty:
  ``alarm``).
* ``latch`` — ``yes``: the alarm stays latched after its condition clears, until someone
  acknowledges it; ``no`` (or empty): it ends when the condition clears.

A NaN sample (a gap) neither raises nor clears. Lines that are empty or start with ``#``
are ignored; a bad cell is refused with one line naming the file, line and column and
what to write (:class:`RulesError`).

:func:`desktop.alarms.derived.evaluate` runs the sample rules over a whole recording
(vectorised: the state machine only visits the samples where a condition changes), returning
raise and clear
events with the sample time and value; :mod:`desktop.alarms.derived` turns samples into
the 1-s block values that indicator, zone and baseline rules watch, and
:mod:`desktop.alarms.rows` runs rules over ``predict``/``trend`` rows.

Why not the baseline's :class:`desktop.baseline.alarms.AlarmLatch`: it judges route
snapshots against per-indicator alert/alarm limits, counts its delay in snapshots and
clears below a fixed ratio (limit / 1.25) of positive indicator values; a plant limit
needs a delay in seconds on samples at any rate, low limits, signed values and a
hysteresis in engineering units. Both share the same meaning of delay, hysteresis and
latching, so a rules file and a machine baseline raise alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from desktop.core.errors import UsageError

#: The header of a rules file written before indicator/machine/class existed (still read).
HEADER_V1 = ("name", "channel", "kind", "limit", "delay_s", "hysteresis", "severity",
             "latch")
#: The header a rules file is written with (the rules dialog); the last three optional.
HEADER = (*HEADER_V1, "indicator", "machine", "class")
RULE_KINDS = ("high", "low", "rate", "zone", "baseline", "class", "score")
#: Kinds that judge a model's verdicts (rows), never samples.
MODEL_KINDS = ("class", "score")
#: Kinds raised at or above the limit (a zone boundary belongs to the zone above it, a
#: baseline limit and a probability are reached, not passed); high and rate pass it.
AT_OR_ABOVE = ("zone", "baseline", "class", "score")
MAX_RULES = 1000
MAX_RULES_BYTES = 1 << 20


class RulesError(UsageError):
    """A rules file that cannot be used, or a rule naming a channel the signal lacks: bad
    input, exit code 2 on the command line (as every other refused input)."""


@dataclass(frozen=True)
class Rule:
    """One alarm rule (see the module doc)."""

    name: str
    channel: str
    kind: str
    limit: float
    delay_s: float = 0.0
    hysteresis: float = 0.0
    severity: str = "alarm"
    latch: bool = False
    line: int = 0
    indicator: str = ""  # an indicator per 1-s block / a row's column (module doc)
    machine: str = ""  # zone: the profile's machine class; baseline: whose baseline
    target: str = ""  # class: the model's class; zone: GROUP/FOUNDATION ("" from machine)
    level: str = ""  # zone: B, C or D; baseline: alert or alarm

    @property
    def on_samples(self) -> bool:
        """True when the rule watches the samples themselves (no block, no model)."""
        return (self.kind in ("high", "low", "rate") and not self.indicator)

    @property
    def where(self) -> str:
        """``rule 'NAME' (line N)`` for messages."""
        return f"rule {self.name!r}" + (f" (line {self.line})" if self.line else "")


@dataclass(frozen=True)
class RuleEvent:
    """A rule's alarm being raised or cleared at sample ``index`` (time ``time_s``)."""

    rule: str
    channel: str
    kind: str  # "raise" or "clear"
    index: int
    time_s: float
    value: float
    severity: str
    latched: bool  # a clear of a latching rule: the alarm stays up until acknowledged
    latch: bool = False  # the rule latches (its alarms stay up until acknowledged)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["value"] = self.value if math.isfinite(self.value) else None
        return data


class RuleState:
    """One rule's state over a stream: feed blocks of samples, get its events.

    The state carried from block to block is whether the alarm is raised, when the current
    run over the limit began (for the delay) and the last sample (for the rate of change),
    so feeding a signal in any pieces gives the same events as feeding it whole.

    A latching rule raises once and stays one alarm until acknowledged: when its condition
    clears it emits one clear (``latched``: the alarm stays up), and while it is
    :attr:`latched` a new run over the limit is not a new alarm (no event at all) until
    :meth:`acknowledge` (the live watcher calls it once the log shows the acknowledgement;
    a whole file has no acknowledgement, so a latching rule raises at most once in it).
    """

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.active = False
        self.run_start: float | None = None  # time the current run over the limit began
        self.seen = 0
        self.latched = False  # a latching rule's alarm cleared, not acknowledged yet
        self._last: tuple[float, float] | None = None

    def acknowledge(self) -> None:
        """The latched alarm was acknowledged: the next run over the limit raises anew
        (its delay counted from the next block fed)."""
        self.latched, self.run_start = False, None

    def _signal(self, times: np.ndarray, values: np.ndarray) -> np.ndarray:
        if self.rule.kind != "rate":
            return values
        t, v = times, values
        if self._last is not None:
            t = np.concatenate([[self._last[0]], times])
            v = np.concatenate([[self._last[1]], values])
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.abs(np.diff(v) / np.diff(t))
        if self._last is None:
            rate = np.concatenate([[np.nan], rate])
        rate[~np.isfinite(rate)] = np.nan
        return rate

    def feed(self, times: np.ndarray, values: np.ndarray) -> list[RuleEvent]:
        """Events of the samples ``times`` (s, increasing) / ``values`` of this channel."""
        rule = self.rule
        times = np.asarray(times, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        n = len(times)
        if n == 0:
            return []
        signal = self._signal(times, values)
        self._last = (float(times[-1]), float(values[-1]))
        with np.errstate(invalid="ignore"):
            if rule.kind == "low":
                on = signal < rule.limit
                off = signal > rule.limit + rule.hysteresis
            else:
                on = signal >= rule.limit if rule.kind in AT_OR_ABOVE else signal > rule.limit
                off = signal < rule.limit - rule.hysteresis
        on_idx = np.flatnonzero(on)
        off_idx = np.flatnonzero(off)
        not_on = np.flatnonzero(~on)  # NaN counts as a break of the condition
        offset = self.seen
        self.seen += n
        events: list[RuleEvent] = []

        def event(kind: str, k: int) -> RuleEvent:
            return RuleEvent(rule.name, rule.channel, kind, offset + int(k), float(times[k]),
                             float(values[k]), rule.severity, kind == "clear" and rule.latch,
                             rule.latch)

        i = 0
        if self.run_start is not None and not on[0]:
            self.run_start = None
        while i < n:
            if self.latched:  # one alarm until acknowledged: nothing new until then
                self.run_start = None
                break
            if not self.active:
                # the next run of samples over the limit, and whether it lasts long enough
                p = int(np.searchsorted(on_idx, i))
                if p == len(on_idx):
                    self.run_start = None
                    break
                start = int(on_idx[p])
                q = int(np.searchsorted(not_on, start))
                end = int(not_on[q]) if q < len(not_on) else n  # first sample after it
                began = (self.run_start if self.run_start is not None and start == 0
                         else float(times[start]))
                m = start + int(np.searchsorted(times[start:end],
                                                began + rule.delay_s - 1e-12))
                if m >= end:
                    self.run_start = began if end == n else None
                    i = end
                    continue
                events.append(event("raise", m))
                self.active, self.run_start, i = True, None, m + 1
            # raised: the next sample clearly back past the limit clears it
            r = int(np.searchsorted(off_idx, i))
            if r == len(off_idx):
                break
            clear = int(off_idx[r])
            events.append(event("clear", clear))
            self.active, self.latched, i = False, rule.latch, clear + 1
        return events


def evaluate_rule(rule: Rule, times: np.ndarray, values: np.ndarray) -> list[RuleEvent]:
    """Raise/clear events of one rule over one whole channel (``times`` in s)."""
    return RuleState(rule).feed(times, values)


def resolve_channel(rule: Rule, channels: Sequence[str]) -> str | None:
    """The channel of ``channels`` that ``rule`` watches: its name exactly, else the one
    channel it names case-insensitively, else the one channel whose name contains it
    case-insensitively (``DE`` for ``DE accel``, as machine profiles and ``trend --channel``
    match, :func:`desktop.baseline.model.sensor_for_channel`); None when none does.
    :class:`RulesError` naming the candidates when several do."""
    if rule.channel in channels:
        return rule.channel
    low = rule.channel.lower()
    for found in ([c for c in channels if c.lower() == low],
                  [c for c in channels if low in c.lower()]):
        if len(found) == 1:
            return found[0]
        if found:
            raise RulesError(f"{rule.where} watches channel {rule.channel!r}, which names "
                             f"several channels: {', '.join(found)}; write the full name")
    return None


def bind_channels(rules: Sequence[Rule], channels: Sequence[str]) -> tuple[Rule, ...]:
    """``rules`` with each channel resolved to one of ``channels``
    (:func:`resolve_channel`); :class:`RulesError` naming the first rule whose channel the
    signal lacks (and the signal's channels) or names several."""
    bound = []
    for rule in rules:
        found = resolve_channel(rule, channels)
        if found is None:
            raise RulesError(f"rule {rule.name!r} (line {rule.line}) watches channel "
                             f"{rule.channel!r}, which this signal lacks; its channels: "
                             f"{', '.join(channels)}")
        bound.append(rule if found == rule.channel else replace(rule, channel=found))
    return tuple(bound)


def check_channels(rules: Sequence[Rule], channels: Sequence[str]) -> None:
    """:class:`RulesError` naming the first rule whose channel is not in ``channels``
    (:func:`bind_channels`)."""
    bind_channels(rules, channels)

def check_targets(rules: Sequence[Rule], classes: Sequence[str], locations: Sequence[str],
                  source: str = "") -> None:
    """:class:`RulesError` naming the first ``class`` rule whose class is neither one of
    the model's ``classes`` nor one of its ``locations`` (such a rule would never fire);
    ``source``: the rules file, for the message."""
    for rule in rules:
        if rule.kind == "class" and rule.target not in (*classes, *locations):
            where = f"alarm rules {source}:{rule.line}" if source else \
                f"alarm rules line {rule.line}"
            raise RulesError(
                f"{where}, column {HEADER.index('class') + 1} (class): rule {rule.name!r} "
                f"names {rule.target!r}, neither a class nor a location of the model; "
                f"write one of its classes: {', '.join(classes) or 'none'}; or locations: "
                f"{', '.join(sorted(set(locations))) or 'none'}")
