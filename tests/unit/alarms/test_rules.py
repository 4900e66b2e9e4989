"""Alarm rules: high/low limits and rate of change with delay, hysteresis and latching, a
rules file refused line by line, and `linewatch alarms check` on a recording."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.alarms.derived import evaluate
from desktop.alarms.log import AlarmLog
from desktop.alarms.rulefile import read_rules
from desktop.alarms.rules import HEADER, Rule, RulesError, evaluate_rule
from desktop.cli import main

T = np.arange(0, 10, 0.5)  # 20 samples, 2 Hz


def kinds(events) -> list[tuple[str, float]]:
    return [(e.kind, e.time_s) for e in events]


def test_high_limit_with_delay_and_hysteresis() -> None:
    v = np.array([50, 81, 82, 70, 85, 86, 87, 88, 79, 78, 75, 74, 60, 90, 91, 92, 60, 50,
                  50, 50], dtype=float)
    # over 80 at 0.5-1.0 s (too short for a 1 s delay), again from 2.0 s: raised at 3.0 s;
    # 79 and 78 are inside the 5-unit band, 74 (5.5 s) clears; 90.. from 6.5 s raises at 7.5
    events = evaluate_rule(Rule("hot", "t", "high", 80, delay_s=1.0, hysteresis=5), T, v)
    assert kinds(events) == [("raise", 3.0), ("clear", 5.5), ("raise", 7.5), ("clear", 8.0)]
    assert events[0].value == 87 and not events[1].latched


def test_no_delay_low_limit_nan_gaps_and_latching() -> None:
    v = np.array([5, 4, 2, 2, np.nan, 2, 2, 3.5, 4.5, 5] + [5] * 10, dtype=float)
    events = evaluate_rule(Rule("dry", "lvl", "low", 3, hysteresis=1, latch=True), T, v)
    assert kinds(events) == [("raise", 1.0), ("clear", 4.0)]
    assert events[1].latched and events[1].value == 4.5
    # with a delay, the NaN gap breaks the run: 1.0-1.5 s and 2.5-3.0 s are each too short
    held = evaluate_rule(Rule("dry", "lvl", "low", 3, delay_s=1.0), T, v)
    assert held == []


def test_rate_of_change() -> None:
    v = np.concatenate([np.full(10, 20.0), 20 + 3 * np.arange(1, 6), np.full(5, 35.0)])
    events = evaluate_rule(Rule("jump", "t", "rate", 4.0, hysteresis=1.0), T, v)  # 6 /s
    assert kinds(events) == [("raise", 5.0), ("clear", 7.5)]


def test_evaluate_names_a_missing_channel() -> None:
    with pytest.raises(RulesError, match="watches channel 'x', which this signal lacks"):
        evaluate([Rule("r", "x", "high", 1)], ["a", "b"], T, np.zeros((len(T), 2)))


@pytest.mark.parametrize(("row", "says"), [
    ("r,t,above,1,,,,", "column 3 (kind): 'above' is not a rule kind; write high, low, "
                        "rate, zone, baseline, class or score"),
    ("r,t,zone,E,,,,,,,2/rigid", "column 4 (limit): 'E' is not a zone; write B, C or D"),
    ("r,t,zone,C,,,,,,,3/rigid", "column 11 (class): '3/rigid' is not a machine class"),
    ("r,t,zone,C,,,,", "column 11 (class): no machine class; write GROUP/FOUNDATION"),
    ("r,t,baseline,alert,,,,", "column 10 (machine): no machine; name the machine"),
    ("r,t,baseline,high,,,,,,pump", "column 4 (limit): 'high' is not a baseline level"),
    ("r,t,class,0.8,,,,", "column 11 (class): no class"),
    ("r,t,class,1.5,,,,,,,outer_race", "column 4 (limit): 1.5 is not a probability"),
    ("r,t,score,3,,,,,energy", "column 9 (indicator): 'energy' is not a score"),
    ("r,t,high,3,,,,,,pump", "column 10 (machine): a high rule uses no machine"),
    ("r,t,high,3,,,,,r m s", "column 9 (indicator): 'r m s' is not an indicator name"),
    ("r,t,high,,,,,", "column 4 (limit): it is empty"),
    ("r,t,rate,0,,,,", "column 4 (limit): a rate limit must be positive"),
    ("r,t,high,1,-2,,,", "column 5 (delay_s): -2 is negative"),
    ("r,t,high,1,,x,,", "column 6 (hysteresis): 'x' is not a number"),
    ("r,t,high,1,,,,maybe", "column 8 (latch): 'maybe' is not yes or no"),
    ("r,,high,1,,,,", "column 2 (channel): no channel"),
])
def test_a_bad_rules_file_is_refused_in_one_line(tmp_path: Path, row: str, says: str) -> None:
    path = tmp_path / "rules.csv"
    path.write_text(",".join(HEADER) + "\n" + row + "\n", encoding="utf-8")
    with pytest.raises(RulesError) as info:
        read_rules(path)
    assert f"{path}:2, {says}" in str(info.value) and "\n" not in str(info.value)


def test_check_a_recording_and_log_what_it_raised(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "oven.csv"
    temp = np.concatenate([np.full(40, 60.0), np.full(40, 95.0), np.full(40, 60.0)])
    rows = [f"{t:.1f},{v},{1.0}" for t, v in zip(np.arange(120) * 0.1, temp, strict=True)]
    rec.write_text("time_s,temp,flow\n" + "\n".join(rows) + "\n", encoding="utf-8")
    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(HEADER) + "\n"
                     "# the oven's own limits\n"
                     "oven hot,temp,high,90,0.5,5,alarm,yes\n"
                     "no flow,flow,low,0.5,1,,warning,\n", encoding="utf-8")
    log_path = tmp_path / "alarms.sqlite3"
    code = main(["alarms", "--log", str(log_path), "check", str(rec), "--rules", str(rules),
                 "--write-log", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["raised"] == 1
    assert [(e["kind"], e["time_s"]) for e in out["events"]] == [("raise", 4.5),
                                                                  ("clear", 8.0)]
    assert out["events"][1]["latched"] is True
    with AlarmLog(log_path) as log:
        (alarm,) = log.alarms()
    assert (alarm.rule, alarm.channel, alarm.value, alarm.time_s) == ("oven hot", "temp",
                                                                      95.0, 4.5)
    assert alarm.recording == str(rec) and alarm.clear_value == 60.0 and alarm.needs_ack
    # checked again: the same alarm is not logged twice
    assert main(["alarms", "--log", str(log_path), "check", str(rec), "--rules", str(rules),
                 "--write-log"]) == 0
    with AlarmLog(log_path) as log:
        assert len(log.alarms()) == 1 and len(log.entries()) == 2
    assert main(["alarms", "check", str(rec), "--rules", str(rules)]) == 0
    text = capsys.readouterr().out
    assert "latched: stays up until acknowledged" in text and "1 alarms raised" in text


@pytest.mark.parametrize("kind", ["high", "low", "rate"])
def test_feeding_in_pieces_gives_the_same_events_as_whole(kind: str) -> None:
    from desktop.alarms.rules import RuleState

    rng = np.random.default_rng(7)
    t = np.cumsum(rng.uniform(0.05, 0.15, 3000))
    v = np.cumsum(rng.normal(0, 1, 3000))
    v[rng.integers(0, 3000, 40)] = np.nan
    limit = {"high": 5.0, "low": -5.0, "rate": 12.0}[kind]
    rule = Rule("r", "c", kind, limit, delay_s=0.0 if kind == "rate" else 0.7,
                hysteresis=1.5)
    whole = evaluate_rule(rule, t, v)
    assert len(whole) > 4
    state = RuleState(rule)
    cuts = np.sort(rng.choice(np.arange(1, 3000), 60, replace=False))
    pieces = []
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, 3000], strict=True):
        pieces += state.feed(t[a:b], v[a:b])
    assert pieces == whole
