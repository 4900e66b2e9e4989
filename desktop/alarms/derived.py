"""What a rule watches, from a channel's samples: the samples themselves, or one value per
1-s block (an indicator, the ISO 20816 velocity RMS, the machine baseline's verdict).

:func:`bind_rule` checks a rule against the signal it will judge (the channel's unit, the
machine profile or baseline it names) and returns the rule with its limit resolved and a
*series*: ``feed(times, values) → (times, values)`` of what the rule's
:class:`~desktop.alarms.rules.RuleState` is fed, and ``flush()`` for the last piece of a
finished file. Both work on a stream in pieces (the live watcher) as on a whole file.

Blocks are :data:`BLOCK_S` seconds (the baseline's snapshot length,
:data:`desktop.baseline.model.WINDOW_S`) from the first sample: ``[t0 + k·1 s, t0 +
(k+1)·1 s)``; a block's value is stamped with its last sample's time (the moment it can
be judged) and is judged once a later sample shows it complete. NaN samples are left out;
a block with under half its samples finite is a gap (NaN: neither raises nor clears). The
rate of a block is the source's (``rate``) or, for timestamped rows, estimated from the
block's own times. Values per block:

- ``rms``, ``peak``, ``crest_factor``, ``kurtosis``:
  :func:`desktop.analysis.trend.block_stats` (as ``linewatch trend``'s rows);
- ``vel_rms`` and ``zone`` rules: the 10–1000 Hz velocity RMS in mm/s
  (:func:`desktop.analysis.severity.velocity_rms`, the call the baseline's indicators make,
  band clipped to the Nyquist frequency; ISO 20816-1:2016 and -3:2022 clause 4), from a
  ``g``, ``m/s2`` or ``mm/s`` channel;
- ``baseline`` rules: the block judged against the machine's learnt baseline through
  :meth:`desktop.baseline.rows.MachineRows.channel` (the 1-s snapshot verdict of
  ``predict --machine``); the value is the worst indicator's ratio to its alert (or
  alarm) limit, so 1.0 is the limit and ``hysteresis`` is a fraction of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from desktop.alarms.rules import (
    MODEL_KINDS,
    Rule,
    RuleEvent,
    RulesError,
    bind_channels,
    evaluate_rule,
)
from desktop.analysis.errors import AnalysisError
from desktop.baseline.model import WINDOW_S

BLOCK_S = WINDOW_S
#: Indicators a rule can watch on samples, one value per block.
SAMPLE_INDICATORS = ("rms", "peak", "crest_factor", "kurtosis", "vel_rms")
_EMPTY = (np.empty(0), np.empty(0))


class RawSeries:
    """The samples as they are (``high``/``low``/``rate`` without an indicator)."""

    def feed(self, times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(times, dtype=np.float64), np.asarray(values, dtype=np.float64)

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        return _EMPTY


class BlockSeries:
    """One value per :data:`BLOCK_S` block of samples (module doc); ``measure(x, fs)``
    gives a block's value from its finite samples ``x`` ``(n,)`` at ``fs`` Hz and may
    raise :class:`AnalysisError` (turned into a :class:`RulesError` naming ``where``)."""

    def __init__(self, measure: Callable[[np.ndarray, float], float], rate: float | None,
                 where: str, block_s: float = BLOCK_S) -> None:
        self.measure = measure
        self.rate = rate if rate and rate > 0 else None
        self.where = where
        self.block_s = block_s
        self.start: float | None = None
        self._t = np.empty(0)
        self._v = np.empty(0)

    def _value(self, t: np.ndarray, v: np.ndarray) -> float:
        fs = self.rate
        if fs is None:
            span = float(t[-1] - t[0]) if t.size > 1 else 0.0
            if span <= 0:
                return math.nan
            fs = (t.size - 1) / span
        finite = v[np.isfinite(v)]
        if finite.size < 0.5 * self.block_s * fs or finite.size < 2:
            return math.nan
        try:
            return float(self.measure(finite, fs))
        except AnalysisError as exc:
            raise RulesError(f"{self.where}: {exc}") from None

    def feed(self, times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.concatenate([self._t, np.asarray(times, dtype=np.float64)])
        v = np.concatenate([self._v, np.asarray(values, dtype=np.float64)])
        if not t.size:
            return _EMPTY
        if self.start is None:
            self.start = float(t[0])
        out_t: list[float] = []
        out_v: list[float] = []
        i = 0
        while True:
            j = int(np.searchsorted(t, self.start + self.block_s, side="left"))
            if j >= t.size:
                break
            if j > i:
                out_t.append(float(t[j - 1]))
                out_v.append(self._value(t[i:j], v[i:j]))
            i = j
            self.start += max(1, math.floor((t[j] - self.start) / self.block_s)) * self.block_s
        self._t, self._v = t[i:], v[i:]
        return np.asarray(out_t), np.asarray(out_v)

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """The last, unfinished block of a finished file, if at least half a block."""
        t, v = self._t, self._v
        self._t, self._v = np.empty(0), np.empty(0)
        if t.size < 2 or t[-1] - t[0] < 0.5 * self.block_s * (1 - 1e-9) - self._dt(t):
            return _EMPTY
        return np.asarray([t[-1]]), np.asarray([self._value(t, v)])

    def _dt(self, t: np.ndarray) -> float:
        return 1 / self.rate if self.rate else float(np.median(np.diff(t)))


def _stat(name: str) -> Callable[[np.ndarray, float], float]:
    from desktop.analysis.trend import block_stats

    def measure(x: np.ndarray, fs: float) -> float:
        return float(getattr(block_stats(x, fs), name))

    return measure


def _velocity(unit: str) -> Callable[[np.ndarray, float], float]:
    from desktop.analysis.severity import velocity_rms

    def measure(x: np.ndarray, fs: float) -> float:
        return velocity_rms(x, fs, unit, (10.0, min(1000.0, fs / 2)))

    return measure


def _profile(rule: Rule) -> Any:
    from desktop.diagnosis.profiles import ProfileStore

    try:
        return ProfileStore().load(rule.machine)
    except (AnalysisError, OSError, ValueError) as exc:  # DiagnosisError is one
        raise RulesError(f"{rule.where}: machine {rule.machine!r}: {exc}") from None


def zone_rule(rule: Rule) -> Rule:
    """A ``zone`` rule with its boundary (mm/s) resolved from its machine's profile when
    the rule names no class; :class:`RulesError` when the profile has no ISO class."""
    if rule.kind != "zone" or math.isfinite(rule.limit):
        return rule
    from desktop.alarms.rulefile import zone_boundary

    prof = _profile(rule)
    if not (prof.group and prof.foundation):
        raise RulesError(f"{rule.where}: machine {rule.machine!r} has no ISO 20816 class; "
                         "write it in the rule's class column (e.g. 2/rigid) or give the "
                         "profile --group and --foundation")
    mclass = (int(prof.group), str(prof.foundation))
    return replace(rule, limit=zone_boundary(mclass, rule.level),
                   target=f"{mclass[0]}/{mclass[1]}")


def _vibration_unit(rule: Rule, unit: str) -> str:
    from desktop.analysis.severity import parse_unit

    if not unit and rule.machine:
        unit = str(_profile(rule).unit)
    try:
        parse_unit(unit)
    except AnalysisError:
        raise RulesError(f"{rule.where}: channel {rule.channel!r} is in "
                         f"{unit or 'no unit'!r}; velocity RMS needs a vibration channel in "
                         "g, m/s2 or mm/s") from None
    return unit


def _baseline(rule: Rule, cache: dict[str, Any]) -> Callable[[np.ndarray, float], float]:
    from desktop.baseline.rows import machine_rows

    if rule.machine not in cache:
        try:
            cache[rule.machine] = machine_rows(rule.machine)
        except AnalysisError as exc:
            raise RulesError(f"{rule.where}: {exc}") from None
    rows = cache[rule.machine]
    if rows is None:
        raise RulesError(f"{rule.where}: machine {rule.machine!r} has no learnt baseline; "
                         f"learn one with linewatch baseline {rule.machine} FILES")
    if rows.sensor_of(rule.channel) is None:
        raise RulesError(f"{rule.where}: machine {rule.machine!r} has no baseline for "
                         f"channel {rule.channel!r} (sensors with one: "
                         f"{', '.join(rows.baseline.sensors) or 'none'})")

    def measure(x: np.ndarray, fs: float) -> float:
        row = rows.channel(x, fs, rule.channel).at(0.0, x.shape[0] / fs)
        return worst_ratio(row.get("indicators") or {}, rule.level)

    return measure


def worst_ratio(indicators: dict[str, Any], level: str) -> float:
    """The largest ``value / limit`` over a baseline verdict's indicators (name →
    ``{"value", "alert", "alarm"}``) for ``level``; NaN when there are none."""
    ratios = [float(row["value"]) / float(row[level]) for row in indicators.values()
              if isinstance(row, dict) and row.get(level)]
    return max(ratios) if ratios else math.nan


def bind_rule(rule: Rule, unit: str = "", rate: float | None = None,
              cache: dict[str, Any] | None = None) -> tuple[Rule, RawSeries | BlockSeries]:
    """The rule with its limit resolved and the series it watches on a channel in ``unit``
    sampled at ``rate`` Hz (None: timestamped rows). Raises :class:`RulesError` for a
    model rule (``class``/``score`` judge verdicts, not samples), an unknown indicator,
    a channel without a vibration unit, a machine without a profile, ISO class or
    baseline. ``cache``: machine baselines already loaded (shared by a rule set)."""
    if rule.kind in MODEL_KINDS:
        raise RulesError(f"{rule.where}: a {rule.kind} rule judges a model's verdicts, not "
                         "samples; use it with predict --rules or a model in the window")
    if rule.on_samples:
        return rule, RawSeries()
    if rule.kind == "zone":
        bound = zone_rule(rule)
        return bound, BlockSeries(_velocity(_vibration_unit(rule, unit)), rate, rule.where)
    if rule.kind == "baseline":
        return rule, BlockSeries(_baseline(rule, {} if cache is None else cache), rate,
                                 rule.where)
    if rule.indicator not in SAMPLE_INDICATORS:
        raise RulesError(f"{rule.where}: indicator {rule.indicator!r} is not computed from "
                         f"samples; write one of {', '.join(SAMPLE_INDICATORS)} (other "
                         "names are read from predict/trend rows)")
    measure = (_velocity(_vibration_unit(rule, unit)) if rule.indicator == "vel_rms"
               else _stat(rule.indicator))
    return rule, BlockSeries(measure, rate, rule.where)


def evaluate(rules: Sequence[Rule], channels: Sequence[str], times: np.ndarray,
             values: np.ndarray, units: Sequence[str] | None = None,
             rate: float | None = None) -> list[RuleEvent]:
    """Every rule over a whole signal (``values`` is ``(n, len(channels))``, ``times`` in
    s, ``units`` per channel, ``rate`` in Hz or None for timestamped rows), events in time
    order. Indicator, zone and baseline rules judge 1-s blocks
    (:mod:`desktop.alarms.derived`). Raises :class:`RulesError` for a rule whose channel
    the signal lacks or that cannot judge it (:func:`bind_rule`)."""
    names = list(channels)
    rules = bind_channels(rules, names)  # DE for "DE accel" (rules.resolve_channel)
    cache: dict[str, object] = {}
    events: list[RuleEvent] = []
    for rule in rules:
        col = names.index(rule.channel)
        bound, series = bind_rule(rule, units[col] if units else "", rate, cache)
        t1, v1 = series.feed(times, values[:, col])
        t2, v2 = series.flush()
        events += evaluate_rule(bound, np.concatenate([t1, t2]), np.concatenate([v1, v2]))
    events.sort(key=lambda e: (e.time_s, e.kind != "clear", e.rule))
    return events
