"""Acknowledgements of a machine's baseline alarms that outlive one ``trend`` run.

``trend --machine`` judges a route's snapshots from the first every time it runs, so the
latch (:class:`~desktop.baseline.alarms.AlarmLatch`) would raise an alarm that someone
has already seen again on every run. An acknowledgement is therefore stored, beside the
baselines in ``<user data>/machines/baselines/acks/NAME.json`` (one JSON list per
machine, written atomically), and replayed by every ``trend`` run.

The rule (:func:`apply_acks`): an acknowledgement with time ``at`` (the snapshots' own
clock: the time in the file names, else their content's, else their mtime) and
``sensor`` (``*``: every sensor of the machine) acts **after the last snapshot at or
before** ``at`` — exactly as if the operator had pressed Acknowledge then:
:meth:`~desktop.baseline.alarms.AlarmLatch.acknowledge` sets the latched level to the
one active at that moment (``ok`` when the condition had cleared; a persisting fault stays
raised, marked ``acknowledged``). It never lowers what comes later: a higher level, or a
condition that clears and comes back after it, raises a fresh event. An acknowledgement
earlier than the first snapshot judged does nothing. Learning a new baseline keeps the
acknowledgements (they name times, not a baseline); :meth:`AckStore.clear` drops them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.analysis.errors import AnalysisError
from desktop.diagnosis.profiles import check_name

ALL_SENSORS = "*"
MAX_ACK_BYTES = 4 << 20


@dataclass(frozen=True)
class Ack:
    """One acknowledgement: ``sensor`` (or ``*``), ``at`` (naive, the snapshots'
    clock), ``user``, ``comment`` and ``logged`` (when it was stored, ISO 8601 UTC)."""

    sensor: str
    at: dt.datetime
    user: str = ""
    comment: str = ""
    logged: str = ""

    def covers(self, sensor: str) -> bool:
        return self.sensor in (ALL_SENSORS, sensor)

    def to_json(self) -> dict[str, str]:
        return {"sensor": self.sensor, "at": self.at.isoformat(sep=" ", timespec="seconds"),
                "user": self.user, "comment": self.comment, "logged": self.logged}

    @classmethod
    def from_json(cls, doc: Any) -> Ack:
        try:
            return cls(str(doc["sensor"]), dt.datetime.fromisoformat(str(doc["at"])),
                       str(doc.get("user", "")), str(doc.get("comment", "")),
                       str(doc.get("logged", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise AnalysisError(f"a stored acknowledgement is damaged ({exc!r}); remove it "
                                "with linewatch baseline ack --clear") from None


class AckStore:
    """The acknowledgements in ``folder`` (default
    ``<user data>/machines/baselines/acks``)."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is None:
            from desktop.core.paths import data_dir

            folder = data_dir() / "machines" / "baselines" / "acks"
        self.folder = Path(folder)

    def path(self, machine: str) -> Path:
        return self.folder / f"{check_name(machine)}.json"

    def load(self, machine: str) -> list[Ack]:
        """The machine's acknowledgements in time order (``[]`` when none)."""
        from desktop.core.jsonfile import read_json_file

        p = self.path(machine)
        if not p.is_file():
            return []
        try:
            doc = read_json_file(p, max_bytes=MAX_ACK_BYTES)
        except (OSError, ValueError) as exc:
            raise AnalysisError(f"acknowledgements of '{machine}' cannot be read: {exc}"
                                ) from None
        if not isinstance(doc, list):
            raise AnalysisError(f"{p} is not a list of acknowledgements")
        return sorted((Ack.from_json(d) for d in doc), key=lambda a: a.at)

    def add(self, machine: str, ack: Ack) -> Path:
        """Store ``ack`` (kept with the machine's earlier ones)."""
        from desktop.core.atomic import atomic_write_text

        acks = [*self.load(machine), ack]
        self.folder.mkdir(parents=True, exist_ok=True)
        p = self.path(machine)
        atomic_write_text(p, json.dumps([a.to_json() for a in acks], indent=1) + "\n")
        return p

    def clear(self, machine: str) -> int:
        """Drop every acknowledgement of ``machine``; returns how many there were."""
        n = len(self.load(machine))
        self.path(machine).unlink(missing_ok=True)
        return n


def acknowledge(machine: str, sensor: str = ALL_SENSORS, at: dt.datetime | None = None,
                user: str = "", comment: str = "", store: AckStore | None = None) -> Ack:
    """Store an acknowledgement of ``machine``'s baseline alarms on ``sensor`` (``*``:
    all) at ``at`` (default: now, local time, as file modification times are); the next
    ``trend`` applies it by the rule of the module docstring. Returns it."""
    when = (at or dt.datetime.now()).replace(microsecond=0)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    logged = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    ack = Ack(sensor or ALL_SENSORS, when, user, comment, logged)
    (store or AckStore()).add(machine, ack)
    return ack


@dataclass
class AckReplay:
    """Replays stored acknowledgements through a trend (:func:`apply_acks`)."""

    acks: list[Ack]
    started: bool = False

    def before(self, when: dt.datetime) -> list[Ack]:
        """Take the acknowledgements earlier than ``when`` (the next snapshot's time): the
        ones to apply now, after the snapshots judged so far. Before the first snapshot
        they are dropped (nothing to acknowledge)."""
        due = [a for a in self.acks if a.at < when]
        self.acks = [a for a in self.acks if a.at >= when]
        if not self.started:
            self.started = True
            return []
        return due

    def rest(self) -> list[Ack]:
        """Take the acknowledgements after the last snapshot (apply them at the end)."""
        due, self.acks = self.acks, []
        return due if self.started else []


def apply_acks(due: list[Ack], monitors: dict[str, Any], last_rows: dict[str, dict[str, Any]]
               ) -> None:
    """Apply ``due`` to each sensor's :class:`~desktop.baseline.monitor.SensorMonitor`
    in ``monitors`` and mark that sensor's latest row (``last_rows``): its ``state``
    becomes the level after the acknowledgement, ``acknowledged`` True while it stays
    raised, ``ack`` the acknowledgement."""
    for ack in due:
        for sensor, mon in monitors.items():
            if not ack.covers(sensor):
                continue
            state = mon.latch.acknowledge()
            row = last_rows.get(sensor)
            if row is not None:
                row.update(state=state, acknowledged=mon.latch.acknowledged,
                           ack=ack.to_json())
