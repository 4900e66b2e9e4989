"""A class rule matches a verdict's class or its location and is refused when it names
neither of the model's; a rule's channel resolves as machine profiles do (``DE`` for
``DE accel``), ambiguous names refused (issue 25)."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.alarms.derived import evaluate
from desktop.alarms.live import RuleWatcher
from desktop.alarms.rows import check_rows, row_value
from desktop.alarms.rules import Rule, RulesError, resolve_channel

CLASSES = ["normal", "inner_007", "outer_007"]
LOCATIONS = ["normal", "inner_race", "outer_race"]


def _rows(classes: list[str]) -> list[dict[str, object]]:
    return [{"end_s": float(k), "class": c, "location": c.split("_")[0] + "_race",
             "probability": 0.99} for k, c in enumerate(classes)]


def test_a_class_rule_matches_the_class_or_the_location() -> None:
    row = _rows(["inner_007"])[0]
    for target, value in (("inner_007", 0.99), ("inner_race", 0.99), ("outer_race", 0.0)):
        assert row_value(Rule("r", "de", "class", 0.8, target=target), row) == value
    check = check_rows([Rule("ir", "de", "class", 0.8, target="inner_race")],
                       _rows(["normal", "inner_007", "inner_007"]), "de", CLASSES, LOCATIONS)
    assert [(e.kind, e.index) for e in check.events] == [("raise", 1)]


def test_a_class_the_model_lacks_is_refused_in_one_line() -> None:
    typo = Rule("inner", "de", "class", 0.8, line=2, target="inner_rce")
    with pytest.raises(RulesError) as err:
        check_rows([typo], _rows(["inner_007"]), "de", CLASSES, LOCATIONS, "r.csv")
    assert str(err.value) == (
        "alarm rules r.csv:2, column 11 (class): rule 'inner' names 'inner_rce', neither a "
        "class nor a location of the model; write one of its classes: normal, inner_007, "
        "outer_007; or locations: inner_race, normal, outer_race")
    # classes unknown (a caller without a model card): not checked, as before
    assert check_rows([typo], _rows(["inner_007"]), "de").raised == 0
    # the live window: the watcher stops with the message for the status bar
    said: list[str] = []
    watcher = RuleWatcher([typo], None)
    watcher.on_error = said.append
    assert watcher.feed_verdicts(_rows(["inner_007"]), "de", CLASSES, LOCATIONS) == []
    assert said and "'inner_rce', neither a class nor a location" in said[0]


def test_rule_channels_resolve_like_machine_profiles() -> None:
    chans = ["DE accel", "FE accel", "temp"]
    assert resolve_channel(Rule("r", "DE accel", "high", 1), chans) == "DE accel"
    assert resolve_channel(Rule("r", "TEMP", "high", 1), chans) == "temp"
    assert resolve_channel(Rule("r", "de", "high", 1), chans) == "DE accel"
    assert resolve_channel(Rule("r", "speed", "high", 1), chans) is None
    with pytest.raises(RulesError, match="several channels: DE accel, FE accel"):
        resolve_channel(Rule("r", "accel", "high", 1, line=3), chans)
    t = np.arange(10) / 10.0
    values = np.zeros((10, 3))
    values[5:, 0] = 2.0
    (event,) = evaluate([Rule("hot", "DE", "high", 1)], chans, t, values)
    assert (event.kind, event.channel, event.time_s) == ("raise", "DE accel", 0.5)
    with pytest.raises(RulesError, match="'speed', which this signal lacks; its channels: "
                                         "DE accel, FE accel, temp"):
        evaluate([Rule("s", "speed", "high", 1)], chans, t, values)
    rows = [{"end_s": 1.0, "rms": 3.0}]
    check = check_rows([Rule("r", "DE", "high", 1, indicator="rms")], rows, "DE accel")
    assert check.events[0].channel == "DE accel"
