"""What a rules check over a recording found (:class:`FileCheck`), and writing its raises
and clears to the alarm log. Apart from :mod:`desktop.alarms.filecheck` (which reads the
file and runs the rules) so that :mod:`desktop.alarms.rows` can build and log checks too
without an import circle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import RuleEvent
from desktop.core.types import WALL_CLOCK_MIN_S


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
    were added. A latching rule's raise while an alarm of that rule on this recording is
    still unacknowledged is not a new alarm (latched until acknowledged)."""
    recording = str(check.path)
    known = {(e.rule, e.time_s) for e in log.entries(kinds=("raise",), recording=recording)}
    latched = {a.rule for a in log.alarms(recording=recording, unacknowledged_only=True)
               if a.latch}
    added = 0
    open_ids: dict[str, int] = {}
    for e in check.events:
        when = event_time(e.time_s, check.start_time)
        if e.kind == "raise":
            if (e.rule, e.time_s) in known or (e.latch and e.rule in latched):
                continue
            entry = log.raise_alarm(e.rule, e.channel, e.value, severity=e.severity,
                                    source=check.source, recording=recording,
                                    time_s=e.time_s, time=when, latch=e.latch)
            open_ids[e.rule] = entry.id
            added += 1
            if e.latch:
                latched.add(e.rule)
        elif e.rule in open_ids:
            log.clear_alarm(open_ids.pop(e.rule), e.value, time=when, time_s=e.time_s)
    return added
