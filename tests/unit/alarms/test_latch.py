"""A latching rule's alarm stays one alarm until acknowledged: the state machine, the
whole-file log, rows and the live watcher (issue 25: 187 latched alarms in 6 s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop.alarms.checked import FileCheck, log_file_events
from desktop.alarms.live import RuleWatcher
from desktop.alarms.log import AlarmLog
from desktop.alarms.rows import check_rows
from desktop.alarms.rules import Rule, RuleEvent, RuleState, evaluate_rule

T = np.arange(0, 10, 0.5)  # 20 samples, 2 Hz
# over 1 at 0.5 s, back at 1.5 s, over again at 3.0 s and 6.0 s
V = np.array([0, 2, 2, 0, 0, 0, 2, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0], dtype=float)


def kinds(events: list[RuleEvent]) -> list[tuple[str, float]]:
    return [(e.kind, e.time_s) for e in events]


def test_a_latching_rule_raises_once_until_acknowledged() -> None:
    latching = Rule("hot", "t", "high", 1, latch=True)
    events = evaluate_rule(latching, T, V)
    assert kinds(events) == [("raise", 0.5), ("clear", 1.5)]
    assert events[1].latched
    # fed in pieces: the same one alarm
    state = RuleState(latching)
    pieces = [e for k in range(0, 20, 3) for e in state.feed(T[k:k + 3], V[k:k + 3])]
    assert kinds(pieces) == kinds(events)
    # acknowledged: the next run over the limit is a new alarm
    state = RuleState(latching)
    assert kinds(state.feed(T[:6], V[:6])) == [("raise", 0.5), ("clear", 1.5)]
    assert kinds(state.feed(T[6:8], V[6:8])) == []  # still latched
    state.acknowledge()
    assert kinds(state.feed(T[8:], V[8:])) == [("raise", 6.0), ("clear", 6.5)]
    # a rule that does not latch raises and clears as before
    plain = evaluate_rule(Rule("hot", "t", "high", 1), T, V)
    assert kinds(plain) == [("raise", 0.5), ("clear", 1.5), ("raise", 3.0), ("clear", 4.0),
                            ("raise", 6.0), ("clear", 6.5)]


def test_rows_and_the_log_keep_one_latched_alarm(tmp_path: Path) -> None:
    rows = [{"end_s": float(t), "rms": float(v)} for t, v in zip(T, V, strict=True)]
    rule = Rule("hot", "c", "high", 1, latch=True, indicator="rms")
    check = check_rows([rule], rows, "c")
    assert check.raised == 1
    # events from elsewhere (another run's) with a second raise: still one alarm logged
    again = RuleEvent("hot", "c", "raise", 12, 6.0, 2.0, "alarm", False, True)
    with AlarmLog(tmp_path / "a.sqlite") as log:
        recording = tmp_path / "r.parquet"
        assert log_file_events(log, FileCheck(recording, 20, "", "", (*check.events, again))
                               ) == 1
        assert log_file_events(log, FileCheck(recording, 20, "", "", (again,))) == 0
        [alarm] = log.alarms()
        assert alarm.latched
        log.acknowledge(alarm.id, "ana")
        assert log_file_events(log, FileCheck(recording, 20, "", "", (again,))) == 1


def test_the_live_watcher_releases_a_latch_once_acknowledged(tmp_path: Path) -> None:
    rule = Rule("inner", "c", "class", 0.5, latch=True, target="inner")

    def rows(start: float, classes: str) -> list[dict[str, object]]:
        return [{"end_s": start + k, "class": "inner" if c == "i" else "normal",
                 "probability": 0.9} for k, c in enumerate(classes)]

    log = AlarmLog(tmp_path / "a.sqlite")
    watcher = RuleWatcher([rule], log, source="demo", recording="r.csv")
    watcher.feed_verdicts(rows(0, "in"), "c")
    watcher.feed_verdicts(rows(2, "iinni"), "c")
    assert [a.rule for a in log.alarms()] == ["inner"]
    log.acknowledge(log.alarms()[0].id, "ana")
    watcher.feed_verdicts(rows(7, "ni"), "c")
    assert len(log.alarms()) == 2
    watcher.close()
