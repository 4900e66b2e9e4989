"""Alarm rules over a whole recording: ``linewatch alarms check`` and the window's opened
files (run as a long job: ``fn(..., task)``, see :mod:`desktop.core.tasks`).

:func:`check_file` reads the recording (any registered format), runs the rules and
returns their events in the file's own time (its time column, or sample index / rate).
:func:`log_file_events` writes them to the alarm log once: an alarm already logged for the
same recording, rule and moment is not logged again, so checking a file twice (or opening
it again in the window) does not double its alarms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import Rule, RuleEvent, evaluate
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

    @property
    def raised(self) -> int:
        return sum(e.kind == "raise" for e in self.events)


def check_file(path: Path | str, rules: Sequence[Rule], task: TaskState | None = None
               ) -> FileCheck:
    """Run ``rules`` over the recording at ``path``.

    Raises :class:`~desktop.alarms.rules.RulesError` for a rule whose channel the file
    lacks, :class:`InputError` for a file with no time axis, and the readers' errors.
    """
    path = Path(path).expanduser()
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
    events = evaluate(rules, [c.name for c in rec.channels], times, rec.values)
    return FileCheck(path, rec.samples, rec.source, rec.start_time, tuple(events))


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
