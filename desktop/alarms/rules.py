"""Alarm rules of the plant's own: limits on any channel, independent of any model.

A rules file is a CSV with exactly this header::

    name,channel,kind,limit,delay_s,hysteresis,severity,latch

one rule per row:

* ``name`` — what the alarm is called (unique); ``channel`` — the channel it watches.
* ``kind`` — ``high`` (value above ``limit``), ``low`` (value below ``limit``) or ``rate``
  (rate of change: |Δvalue/Δt| above ``limit``, in the channel's unit per second).
* ``delay_s`` — seconds the condition must hold without a break before the alarm is raised
  (empty: 0, raised at the first sample over the limit).
* ``hysteresis`` — in the channel's unit (per second for ``rate``): a raised alarm clears
  only once the value is back past ``limit`` by this much (``high``: below
  ``limit - hysteresis``; ``low``: above ``limit + hysteresis``), so a value hovering at
  the limit does not raise and clear over and over (empty: 0).
* ``severity`` — free text shown and logged (e.g. ``warning``, ``alarm``; empty:
  ``alarm``).
* ``latch`` — ``yes``: the alarm stays latched after its condition clears, until someone
  acknowledges it; ``no`` (or empty): it ends when the condition clears.

A NaN sample (a gap) neither raises nor clears. Lines that are empty or start with ``#``
are ignored; a bad cell is refused with one line naming the file, line and column and
what to write (:class:`RulesError`).

:func:`evaluate` runs the rules over a whole recording (vectorised: the state machine only
visits the samples where a condition changes), returning raise and clear events with the
sample time and value.

Why not the baseline's :class:`desktop.baseline.alarms.AlarmLatch`: it judges route
snapshots against per-indicator alert/alarm limits, counts its delay in snapshots and
clears below a fixed ratio (limit / 1.25) of positive indicator values; a plant limit
needs a delay in seconds on samples at any rate, low limits, signed values and a
hysteresis in engineering units. Both share the same meaning of delay, hysteresis and
latching, so a rules file and a machine baseline raise alike.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from desktop.core.errors import LinewatchError

HEADER = ("name", "channel", "kind", "limit", "delay_s", "hysteresis", "severity", "latch")
RULE_KINDS = ("high", "low", "rate")
MAX_RULES = 1000
MAX_RULES_BYTES = 1 << 20


class RulesError(LinewatchError):
    """A rules file that cannot be used, or a rule naming a channel the signal lacks."""


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


def _fail(path: Path, line: int, column: str | None, problem: str, todo: str) -> RulesError:
    where = f"{path}:{line}"
    if column is not None:
        where += f", column {HEADER.index(column) + 1} ({column})"
    return RulesError(f"alarm rules {where}: {problem}; {todo}")


def _number(path: Path, line: int, column: str, text: str, default: float | None,
            minimum: float | None = None) -> float:
    text = text.strip()
    if not text:
        if default is None:
            raise _fail(path, line, column, "it is empty", "write a number (e.g. 80.5)")
        return default
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, line, column, f"{text!r} is not a number",
                    "write a decimal number with a '.' (e.g. 80.5)") from None
    if not math.isfinite(value):
        raise _fail(path, line, column, f"{text!r} is not a finite number",
                    "write a decimal number")
    if minimum is not None and value < minimum:
        raise _fail(path, line, column, f"{value:g} is negative", "write 0 or more")
    return value


def read_rules(path: str | Path) -> tuple[Rule, ...]:
    """Read and check a rules file; :class:`RulesError` (one line) for anything wrong."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_RULES_BYTES:
            raise RulesError(f"alarm rules {path}: larger than {MAX_RULES_BYTES >> 20} MB; "
                             "give the rules CSV")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RulesError(f"alarm rules {path}: no such file; give the rules CSV with "
                         "--rules FILE") from None
    except UnicodeDecodeError as exc:
        raise RulesError(f"alarm rules {path}: not UTF-8 text ({exc.reason}); save it as "
                         "UTF-8 CSV") from None
    except OSError as exc:
        raise RulesError(f"alarm rules {path}: cannot read it ({exc.strerror or exc})") from None
    reader = csv.reader(text.splitlines())
    header = None
    rules: list[Rule] = []
    names: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = tuple(c.strip().lower() for c in row)
                if header != HEADER:
                    raise _fail(path, line, None, f"the header is {','.join(header)!r}",
                                f"the first line must be exactly {','.join(HEADER)}")
                continue
            if len(row) != len(HEADER):
                raise _fail(path, line, None, f"{len(row)} columns instead of {len(HEADER)}",
                            "give every row the columns of the header (empty cells are fine)")
            cells = dict(zip(HEADER, row, strict=True))
            name = cells["name"].strip()
            if not name or name in names:
                raise _fail(path, line, "name", "the rule name is empty" if not name else
                            f"the rule name {name!r} is used twice",
                            "give every rule its own name")
            channel = cells["channel"].strip()
            if not channel:
                raise _fail(path, line, "channel", "no channel", "name the channel to watch")
            kind = cells["kind"].strip().lower()
            if kind not in RULE_KINDS:
                raise _fail(path, line, "kind", f"{cells['kind']!r} is not a rule kind",
                            "write high, low or rate")
            limit = _number(path, line, "limit", cells["limit"], None)
            if kind == "rate" and limit <= 0:
                raise _fail(path, line, "limit", "a rate limit must be positive",
                            "write the largest allowed change per second")
            latch_text = cells["latch"].strip().lower()
            if latch_text not in ("", "yes", "no", "true", "false", "1", "0"):
                raise _fail(path, line, "latch", f"{cells['latch']!r} is not yes or no",
                            "write yes (latched until acknowledged) or no")
            rules.append(Rule(
                name, channel, kind, limit,
                _number(path, line, "delay_s", cells["delay_s"], 0.0, 0.0),
                _number(path, line, "hysteresis", cells["hysteresis"], 0.0, 0.0),
                cells["severity"].strip() or "alarm",
                latch_text in ("yes", "true", "1"), line))
            names.add(name)
            if len(rules) > MAX_RULES:
                raise _fail(path, line, None, f"more than {MAX_RULES} rules",
                            "split the rules over several files")
    except csv.Error as exc:
        raise _fail(path, reader.line_num, None, f"not valid CSV ({exc})",
                    "check the quotes on that line") from None
    if not rules:
        raise RulesError(f"alarm rules {path}: no rules; the first line must be "
                         f"{','.join(HEADER)} and each further line one rule")
    return tuple(rules)


class RuleState:
    """One rule's state over a stream: feed blocks of samples, get its events.

    The state carried from block to block is whether the alarm is raised, when the current
    run over the limit began (for the delay) and the last sample (for the rate of change),
    so feeding a signal in any pieces gives the same events as feeding it whole.
    """

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.active = False
        self.run_start: float | None = None  # time the current run over the limit began
        self.seen = 0
        self._last: tuple[float, float] | None = None

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
                on = signal > rule.limit
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
            self.active, i = False, clear + 1
        return events


def evaluate_rule(rule: Rule, times: np.ndarray, values: np.ndarray) -> list[RuleEvent]:
    """Raise/clear events of one rule over one whole channel (``times`` in s)."""
    return RuleState(rule).feed(times, values)


def check_channels(rules: Sequence[Rule], channels: Sequence[str]) -> None:
    """:class:`RulesError` naming the first rule whose channel is not in ``channels``."""
    for rule in rules:
        if rule.channel not in channels:
            raise RulesError(f"rule {rule.name!r} (line {rule.line}) watches channel "
                             f"{rule.channel!r}, which this signal lacks; its channels: "
                             f"{', '.join(channels)}")


def evaluate(rules: Sequence[Rule], channels: Sequence[str], times: np.ndarray,
             values: np.ndarray) -> list[RuleEvent]:
    """Every rule over a signal (``values`` is ``(n, len(channels))``), events in time
    order. Raises :class:`RulesError` for a rule whose channel the signal lacks."""
    names = list(channels)
    check_channels(rules, names)
    events: list[RuleEvent] = []
    for rule in rules:
        events += evaluate_rule(rule, times, values[:, names.index(rule.channel)])
    events.sort(key=lambda e: (e.time_s, e.kind != "clear", e.rule))
    return events
