"""One labelled event: "this label holds from start_s to end_s in that recording".

Times are seconds from the recording's first sample, not wall-clock times, so a label stays
valid when the recording is replayed, copied to another PC or opened offline.

Validation happens when an event is made, not when it is saved: the UI, the importer and the
store then all reject the same bad spans with the same message, and a ``LabelEvent`` that
exists is always one the store can hold.
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from desktop.core.errors import LinewatchError, MissingFileError


class LabelError(LinewatchError):
    """A label cannot be made, stored, imported or exported (bad span, damaged store …)."""


class MissingLabelFileError(LabelError, MissingFileError):
    """A label file to import that does not exist: bad input, exit code 2."""


def _default_author() -> str:
    """The OS login name: who labelled what matters when colleagues merge label files.

    ``getpass.getuser`` raises when no login name can be found (some containers and
    services); a label is still worth keeping then, so the author is left blank.
    """
    try:
        return getpass.getuser()
    except Exception:
        return ""


def utc_now() -> str:
    """The current time in the one ISO 8601 form the store keeps (UTC, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def normalize_timestamp(value: str | datetime, what: str = "time") -> str:
    """``value`` as ISO 8601 UTC with microseconds, the form every stored time has.

    One fixed form means times compare correctly as text, which is what lets the store
    filter ``created >= since`` in SQL. A time without a zone is taken as UTC.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        # Texts repeat (every event of an import gets the same "created"): parse once.
        normal = _normalize_text(value)
        if normal is None:
            raise LabelError(f"{what} {value!r} is not an ISO 8601 date and time "
                             "(like 2024-05-01T14:30:00Z)")
        return normal
    else:
        raise LabelError(f"{what} must be an ISO 8601 text, not {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@functools.lru_cache(maxsize=1024)
def _normalize_text(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LabelError(f"{name} must be a number of seconds, not {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds):
        raise LabelError(f"{name} must be a finite number of seconds, not {value!r}")
    return seconds


#: The fields of an event besides its id, in the order the store keeps them.
FIELDS = ("recording", "start_s", "end_s", "label", "channel", "note", "source", "author",
          "created", "updated")


def checked_fields(recording: object, start_s: object, end_s: object, label: object,
                   channel: object, note: object, source: object, author: object,
                   created: object, updated: object) -> tuple[Any, ...]:
    """The one validation rule for an event, as a tuple in :data:`FIELDS` order with
    times as floats, the label and channel stripped and both stamps normalised.

    :class:`LabelEvent` runs it on every event it makes; a bulk import runs it on each row
    directly (no object per row), so both refuse exactly the same rows with the same words.
    """
    for name, value in (("recording", recording), ("label", label), ("channel", channel),
                        ("note", note), ("source", source), ("author", author)):
        if not isinstance(value, str):
            raise LabelError(f"{name} must be text, not {value!r}")
    start = _seconds(start_s, "start_s")
    end = _seconds(end_s, "end_s")
    if start < 0:
        # Times count from the recording's first sample: before it there is no signal.
        raise LabelError(f"start_s {start:g} s is before the recording's first sample; "
                         "label times count from 0 s")
    if not start < end:
        raise LabelError(f"a label must end after it starts: start_s {start:g} s, "
                         f"end_s {end:g} s")
    # Stripped so "unbalance " and "unbalance" are one class in the quick keys and in
    # training, not two.
    assert isinstance(label, str) and isinstance(recording, str) and isinstance(channel, str)
    label = label.strip()
    if not label:
        raise LabelError("a label needs a name (like 'unbalance' or 'normal')")
    if not recording.strip():
        raise LabelError("a label needs the recording it describes")
    return (recording, start, end, label, channel.strip(), note, source,
            author, normalize_timestamp(created, "created"),  # type: ignore[arg-type]
            normalize_timestamp(updated, "updated"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class LabelEvent:
    """A labelled span of one recording (optionally of one channel).

    Frozen so an event handed to the UI or to an undo command cannot change behind the
    store's back; change one with ``dataclasses.replace`` (which validates again) and
    :meth:`LabelStore.update`.
    """

    id: int | None
    recording: str
    start_s: float
    end_s: float
    label: str
    channel: str = ""
    note: str = ""
    source: str = ""
    author: str = field(default_factory=_default_author)
    created: str = field(default_factory=utc_now)
    updated: str = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if self.id is not None and (isinstance(self.id, bool) or not isinstance(self.id, int)):
            raise LabelError(f"a label event id must be a whole number, not {self.id!r}")
        fields = checked_fields(self.recording, self.start_s, self.end_s, self.label,
                                self.channel, self.note, self.source, self.author,
                                self.created, self.updated)
        for name, value in zip(FIELDS, fields, strict=True):
            object.__setattr__(self, name, value)

    @classmethod
    def from_store(cls, values: dict[str, object]) -> LabelEvent:
        """An event read back from the label store, without validating it again.

        The store only holds events that passed validation when they were written (and its
        CHECK constraints), possibly under an older, looser rule (labels before 0 s were
        once allowed): such a row must still list, export and delete, so it is not refused
        on the way out. Editing it validates as usual.
        """
        event = object.__new__(cls)
        for name in cls.__dataclass_fields__:
            object.__setattr__(event, name, values[name])
        return event

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, object]:
        """Every field, JSON-ready (the shape ``labels list --json`` and JSON export use)."""
        return dataclasses.asdict(self)
