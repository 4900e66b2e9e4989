"""Alarm rules over a whole recording: ``linewatch alarms check`` and the window's opened
files (run as a long job: ``fn(..., task)``, see :mod:`desktop.core.tasks`).

:func:`check_file` reads the recording (any registered format), runs the rules and
returns their events in the file's own time (its time column, or sample index / rate).
Indicator, zone and baseline rules judge the file's 1-s blocks
(:mod:`desktop.alarms.derived`); ``class`` and ``score`` rules judge the file's verdicts,
given as ``predict`` rows (:mod:`desktop.alarms.rows`), or are refused — or, asked to,
skipped and listed in :attr:`FileCheck.skipped`.
:func:`log_file_events` writes them to the alarm log once: an alarm already logged for the
same recording, rule and moment is not logged again, so checking a file twice (or opening
it again in the window) does not double its alarms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import MODEL_KINDS, Rule, RuleEvent, RulesError, evaluate
from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.core.types import WALL_CLOCK_MIN_S
from desktop.recording.registry import read_recording


@dataclass(frozen=True)
class FileCheck:
    """The rules' events over one recording, with what is needed to log them."""

    path: Path
    samples: int
    source: str
    start_time: str
    events: tuple[RuleEvent, ...]
    skipped: tuple[str, ...] = ()  # model rules not judged (no verdicts were given)

    @property
    def raised(self) -> int:
        return sum(e.kind == "raise" for e in self.events)


def check_file(path: Path | str, rules: Sequence[Rule], task: TaskState | None = None, *,
               verdicts: Sequence[dict[str, Any]] | None = None, verdict_channel: str = "",
               skip_model_rules: bool = False) -> FileCheck:
    """Run ``rules`` over the recording at ``path``; ``verdicts``: a model's rows of it
    (``predict``'s ``windows``, of channel ``verdict_channel``) for ``class``/``score``
    rules.

    Raises :class:`~desktop.alarms.rules.RulesError` for a rule whose channel the file
    lacks or that cannot judge it, a model rule without ``verdicts`` (unless
    ``skip_model_rules``), :class:`InputError` for a file with no time axis, and the
    readers' errors.
    """
    path = Path(path).expanduser()
    model = [r for r in rules if r.kind in MODEL_KINDS]
    if model and verdicts is None and not skip_model_rules:
        raise RulesError(f"{model[0].where}: a {model[0].kind} rule judges a model's "
                         "verdicts, not samples; check the file with predict --rules, or "
                         "leave the rule out")
    rules = [r for r in rules if r.kind not in MODEL_KINDS]
    if task is not None:
        task.report(0.0, f"reading {path.name}")
    rec = read_recording(path)
    if rec.timestamps is not None:
        times = np.asarray(rec.timestamps, dtype=np.float64)
    elif rec.sample_rate:
        times = np.arange(rec.samples, dtype=np.float64) / float(rec.sample_rate)
    else:
        raise InputError(f"{path} has no time column and no sample rate; rate-of-change "
                         "and delays need time")
    if task is not None:
        task.report(0.6, f"judging {rec.samples:,} samples")
    events = evaluate(rules, [c.name for c in rec.channels], times, rec.values,
                      [c.unit for c in rec.channels], rec.effective_rate()) if rules else []
    skipped: tuple[str, ...] = ()
    if model and verdicts is not None:
        from desktop.alarms.rows import check_rows

        events += check_rows(model, verdicts, verdict_channel).events
        events.sort(key=lambda e: (e.time_s, e.kind != "clear", e.rule))
    elif model:
        skipped = tuple(r.name for r in model)
    return FileCheck(path, rec.samples, rec.source, rec.start_time, tuple(events), skipped)


def event_time(time_s: float, start_time: str) -> str | None:
    """The wall-clock time (ISO UTC) of a sample at ``time_s``: Unix-epoch times as they
    are, else the recording's start + ``time_s``; None when neither is known."""
    if time_s >= WALL_CLOCK_MIN_S:
        moment = datetime.fromtimestamp(time_s, UTC)
    else:
        try:
            moment = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment += timedelta(seconds=time_s)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_file_events(log: AlarmLog, check: FileCheck) -> int:
    """Log the raises and clears of ``check`` not logged before; returns how many alarms
    were added."""
    recording = str(check.path)
    known = {(e.rule, e.time_s) for e in log.entries(kinds=("raise",), recording=recording)}
    added = 0
    open_ids: dict[str, int] = {}
    for e in check.events:
        when = event_time(e.time_s, check.start_time)
        if e.kind == "raise":
            if (e.rule, e.time_s) in known:
                continue
            entry = log.raise_alarm(e.rule, e.channel, e.value, severity=e.severity,
                                    source=check.source, recording=recording,
                                    time_s=e.time_s, time=when, latch=e.latch)
            open_ids[e.rule] = entry.id
            added += 1
        elif e.rule in open_ids:
            log.clear_alarm(open_ids.pop(e.rule), e.value, time=when, time_s=e.time_s)
    return added
