"""LabelEvent: a bad span or label is refused when the event is made, with a clear message."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from desktop.core.errors import LinewatchError
from desktop.labels.event import LabelError, LabelEvent, normalize_timestamp


def make(**changes: object) -> LabelEvent:
    values: dict[str, object] = {"id": None, "recording": "run.parquet", "start_s": 1.0,
                                 "end_s": 2.5, "label": "unbalance"}
    values.update(changes)
    return LabelEvent(**values)  # type: ignore[arg-type]


def test_defaults_fill_author_and_utc_times() -> None:
    event = make()
    assert event.channel == "" and event.note == "" and event.source == ""
    assert isinstance(event.author, str)
    created = datetime.fromisoformat(event.created)
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(seconds=5)
    assert event.duration_s == pytest.approx(1.5)


def test_label_error_is_a_linewatch_error() -> None:
    assert issubclass(LabelError, LinewatchError)


@pytest.mark.parametrize(("start", "end", "words"), [
    (2.0, 1.0, "end after it starts"),
    (1.0, 1.0, "end after it starts"),
    (math.nan, 1.0, "finite"),
    (0.0, math.inf, "finite"),
    (-math.inf, 0.0, "finite"),
    ("1", 2.0, "number"),
    (True, 2.0, "number"),
])
def test_bad_spans_are_refused(start: object, end: object, words: str) -> None:
    with pytest.raises(LabelError, match=words):
        make(start_s=start, end_s=end)


@pytest.mark.parametrize("label", ["", "   ", "\t\n"])
def test_an_empty_label_is_refused(label: str) -> None:
    with pytest.raises(LabelError, match="needs a name"):
        make(label=label)


def test_empty_recording_and_non_text_fields_are_refused() -> None:
    with pytest.raises(LabelError, match="recording"):
        make(recording=" ")
    with pytest.raises(LabelError, match="note must be text"):
        make(note=5)
    with pytest.raises(LabelError, match="whole number"):
        make(id="7")


def test_label_and_channel_are_stripped_and_ints_become_floats() -> None:
    event = make(label=" unbalance ", channel=" ch1 ", start_s=1, end_s=3)
    assert event.label == "unbalance" and event.channel == "ch1"
    assert isinstance(event.start_s, float) and event.end_s == 3.0


def test_replace_validates_again() -> None:
    event = make()
    with pytest.raises(LabelError):
        dataclasses.replace(event, end_s=0.5)
    assert dataclasses.replace(event, label="misalignment").label == "misalignment"


def test_events_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().label = "x"  # type: ignore[misc]


def test_timestamps_are_normalised_to_one_utc_form() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert normalize_timestamp("2024-05-01T14:30:00+02:00") == "2024-05-01T12:30:00.000000+00:00"
    assert normalize_timestamp("2024-05-01T12:30:00Z") == "2024-05-01T12:30:00.000000+00:00"
    assert normalize_timestamp("2024-05-01T12:30:00") == "2024-05-01T12:30:00.000000+00:00"
    assert (normalize_timestamp(datetime(2024, 5, 1, 14, 30, tzinfo=plus_two))
            == "2024-05-01T12:30:00.000000+00:00")
    assert make(created="2024-05-01T12:30:00Z").created == "2024-05-01T12:30:00.000000+00:00"
    with pytest.raises(LabelError, match="ISO 8601"):
        make(created="yesterday")
