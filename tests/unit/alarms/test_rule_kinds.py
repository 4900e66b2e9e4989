"""Alarm rules of every kind: ISO 20816 zone, machine baseline, 1-s block indicators on
samples and on opened files; a model's class and anomaly score, baseline level and
indicators on predict/trend rows; old rules files still load."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from desktop.alarms.derived import evaluate
from desktop.alarms.filecheck import check_file, log_file_events
from desktop.alarms.log import AlarmLog
from desktop.alarms.rows import EVENTS_KEY, ROW_KEY, check_rows, log_rows_events
from desktop.alarms.rulefile import read_rules
from desktop.alarms.rules import HEADER, HEADER_V1, Rule, RulesError

FS = 5000.0
G = 9.80665


def vibration(levels_mm_s: list[float], seconds_each: float = 3.0, f: float = 100.0,
              seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Acceleration in g whose 10-1000 Hz velocity RMS is each level (mm/s) in turn: a
    sine at ``f`` Hz (v_rms = a_rms / 2πf) plus a little noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for level in levels_mm_s:
        n = int(seconds_each * FS)
        t = np.arange(n) / FS
        a_peak = level / 1000 * 2 * math.pi * f * math.sqrt(2) / G  # g
        parts.append(a_peak * np.sin(2 * math.pi * f * t) + rng.normal(0, 0.002, n))
    x = np.concatenate(parts)
    return np.arange(x.size) / FS, x


def write_rules(path: Path, *rows: str, header: tuple[str, ...] = HEADER) -> Path:
    path.write_text(",".join(header) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_old_eight_column_files_and_short_rows_still_load(tmp_path: Path) -> None:
    old = read_rules(write_rules(tmp_path / "old.csv", "hot,t,high,80,1,2,alarm,yes",
                                 header=HEADER_V1))
    assert old[0] == Rule("hot", "t", "high", 80, 1, 2, "alarm", True, 2)
    new = read_rules(write_rules(tmp_path / "new.csv", "hot,t,high,80,1,2,alarm,yes",
                                 "loud,de,high,0.5,,,,,rms",
                                 "rough,de,zone,c,2,0.3,alarm,yes,,,2/rigid"))
    assert new[0] == old[0]
    assert (new[1].indicator, new[2].level, new[2].limit, new[2].target) == (
        "rms", "C", 2.8, "2/rigid")  # ISO 20816-3 group 2 rigid: B/C at 2.8 mm/s
    with pytest.raises(RulesError, match=r"new\.csv:2: 12 columns instead of 11"):
        read_rules(write_rules(tmp_path / "new.csv", "r,t,high,3,,,,,,,,"))


def test_zone_rule_on_velocity_rms_of_one_second_blocks() -> None:
    times, x = vibration([1.0, 4.0, 4.0, 1.0])  # zone A, C for 6 s, A again
    rule = read_rules_one("rough,acc,zone,C,2,0.5,alarm,yes,,,2/rigid")
    events = evaluate([rule], ["acc"], times, x[:, None], ["g"], FS)
    assert [e.kind for e in events] == ["raise", "clear"]
    raised, cleared = events
    # the first zone-C block ends at 4.0 s; held 2 s more (delay) -> the block ending at 6 s
    assert raised.time_s == pytest.approx(6.0, abs=0.01)
    assert raised.value == pytest.approx(4.0, rel=0.05) and raised.latch
    assert cleared.time_s == pytest.approx(10.0, abs=0.01)  # first zone-A block
    assert cleared.value == pytest.approx(1.0, rel=0.1) and cleared.latched
    with pytest.raises(RulesError, match="velocity RMS needs a vibration channel"):
        evaluate([rule], ["acc"], times, x[:, None], ["degC"], FS)


def read_rules_one(row: str) -> Rule:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return read_rules(write_rules(Path(d) / "r.csv", row))[0]


def test_indicator_rules_judge_blocks_and_stream_in_pieces_like_whole() -> None:
    from desktop.alarms.derived import bind_rule
    from desktop.alarms.rules import RuleState

    times, x = vibration([0.5, 3.0, 0.5], seconds_each=4.0)
    rule = read_rules_one("loud,acc,high,0.05,0,0.01,alarm,,rms")
    whole = evaluate([rule], ["acc"], times, x[:, None], ["g"], FS)
    assert [(e.kind, round(e.time_s)) for e in whole] == [("raise", 5), ("clear", 9)]
    bound, series = bind_rule(rule, "g", None)  # timestamped: rate from the times
    state = RuleState(bound)
    pieces = []
    for a in range(0, x.size, 1237):
        pieces += state.feed(*series.feed(times[a:a + 1237], x[a:a + 1237]))
    assert [(e.kind, e.time_s) for e in pieces] == [(e.kind, e.time_s) for e in whole]
    with pytest.raises(RulesError, match="indicator 'env_bpfo' is not computed from samples"):
        evaluate([read_rules_one("e,acc,high,2,,,,,env_bpfo")], ["acc"], times, x[:, None],
                 ["g"], FS)


def _machine_with_baseline(name: str = "pump") -> None:
    from desktop.baseline.monitor import SensorSetup, learn
    from desktop.baseline.store import BaselineStore
    from desktop.diagnosis.profiles import MachineProfile, ProfileStore

    ProfileStore().save(MachineProfile(name, group=2, foundation="rigid", unit="g"))
    _, healthy = vibration([1.0] * 8, seconds_each=1.0, seed=11)
    snaps = [healthy[i * 5000:(i + 1) * 5000] for i in range(8)]
    BaselineStore().put_sensor(name, learn(SensorSetup("acc", "g", None, None, None,
                                                       (2, "rigid")), snaps, FS))


def test_baseline_and_machine_zone_rules_on_an_opened_file(tmp_path: Path,
                                                           linewatch_home: Path) -> None:
    _machine_with_baseline()
    times, x = vibration([1.0, 5.0, 1.0], seconds_each=4.0)
    rec = tmp_path / "pump.csv"
    rec.write_text("time_s,acc\n" + "\n".join(f"{t:.4f},{v:.6f}" for t, v in zip(
        times, x, strict=True)) + "\n", encoding="utf-8")
    rules = read_rules(write_rules(
        tmp_path / "rules.csv",
        "over baseline,acc,baseline,alert,1,0.2,warning,yes,,pump",
        "rough,acc,zone,C,1,0.3,alarm,no,,pump",  # ISO class from the machine's profile
        "hot,acc,high,5,,,,"))
    check = check_file(rec, rules)
    got = [(e.rule, e.kind, round(e.time_s)) for e in check.events]
    assert ("over baseline", "raise", 6) in got and ("over baseline", "clear", 9) in got
    assert ("rough", "raise", 6) in got and ("rough", "clear", 9) in got
    over = next(e for e in check.events if e.rule == "over baseline")
    assert over.value >= 1.0  # worst indicator / its alert limit
    with AlarmLog(tmp_path / "log.sqlite3") as log:
        assert log_file_events(log, check) == 2
        assert log_file_events(log, check) == 0  # once, however often it is checked
    with pytest.raises(RulesError, match=r"no machine 'nope'"):
        check_file(rec, [Rule("b", "acc", "baseline", 1.0, machine="nope", level="alert")])


def test_model_rules_need_verdicts_on_a_file(tmp_path: Path) -> None:
    rec = tmp_path / "r.csv"
    rec.write_text("time_s,acc\n" + "\n".join(f"{i / 100},{0}" for i in range(300)) + "\n",
                   encoding="utf-8")
    rule = Rule("outer", "acc", "class", 0.8, target="outer_race")
    with pytest.raises(RulesError, match="judges a model's verdicts"):
        check_file(rec, [rule])
    assert check_file(rec, [rule], skip_model_rules=True).skipped == ("outer",)
    verdicts = [{"start_s": i * 0.5, "end_s": i * 0.5 + 0.5,
                 "class": "outer_race" if 2 <= i < 4 else "normal", "probability": 0.9}
                for i in range(6)]
    check = check_file(rec, [rule], verdicts=verdicts, verdict_channel="acc")
    assert [(e.kind, e.time_s) for e in check.events] == [("raise", 1.5), ("clear", 2.5)]


def predict_rows() -> list[dict[str, object]]:
    classes = ["normal", "normal", "outer_race", "outer_race", "outer_race", "normal"]
    probs = [0.99, 0.97, 0.7, 0.95, 0.9, 0.99]
    return [{"start_s": i * 0.5, "end_s": i * 0.5 + 0.5, "class": c, "probability": p,
             "location": "x", "score": 1.0 + 2 * (c != "normal")}
            for i, (c, p) in enumerate(zip(classes, probs, strict=True))]


def test_class_and_score_rules_on_predict_rows() -> None:
    rows = predict_rows()
    rules = [Rule("outer race", "DE", "class", 0.8, target="outer_race"),
             Rule("odd", "DE", "score", 2.5, delay_s=0.4),
             Rule("unsure", "DE", "high", 0.98, indicator="probability")]
    check = check_rows(rules, rows, channel="DE")
    assert [(e.rule, e.kind, e.index) for e in check.events] == [
        ("unsure", "raise", 0), ("unsure", "clear", 1), ("odd", "raise", 3),
        ("outer race", "raise", 3), ("odd", "clear", 5), ("outer race", "clear", 5),
        ("unsure", "raise", 5)]  # odd: the score held 0.5 s >= its 0.4 s delay at row 3
    before = [dict(r) for r in rows]
    check.annotate(rows)
    assert [r[ROW_KEY] for r in rows] == [["unsure"], [], [], ["outer race", "odd"],
                                          ["outer race", "odd"], ["unsure"]]
    assert all({k: v for k, v in r.items() if k != ROW_KEY} == b
               for r, b in zip(rows, before, strict=True))  # no other key changes
    assert EVENTS_KEY == "alarm_events" and check.events_json()[0]["rule"] == "unsure"


def test_rows_refuse_rules_they_cannot_feed() -> None:
    rows = predict_rows()
    with pytest.raises(RulesError, match="watches channel 'FE'; these rows are of DE"):
        check_rows([Rule("x", "FE", "score", 1)], rows, channel="DE")
    with pytest.raises(RulesError, match=r"baseline verdict .*run with --machine NAME"):
        check_rows([Rule("b", "DE", "baseline", 1.0, machine="m", level="alert")], rows,
                   channel="DE")
    with pytest.raises(RulesError, match="without an indicator watches samples"):
        check_rows([Rule("h", "DE", "high", 1)], rows, channel="DE")


def test_trend_machine_rows_by_sensor_with_time_labels(tmp_path: Path) -> None:
    def row(day: int, sensor: str, vel: float, level: str) -> dict[str, object]:
        return {"file": f"f{day}.csv", "time": f"2026-03-{day:02d} 10:00:00",
                "sensor": sensor, "level": level, "anomaly": vel / 2,
                "indicators": {"vel_rms": {"value": vel, "alert": 2.0, "alarm": 4.0}}}

    rows = [row(d, s, v, lv) for d, (v, lv) in enumerate(
        [(1.0, "ok"), (2.5, "alert"), (4.5, "alarm"), (1.2, "ok")], start=1)
        for s in ("DE", "FE")]
    rules = [Rule("de alarm", "DE", "baseline", 1.0, machine="m", level="alarm"),
             Rule("fe zone", "FE", "zone", 2.8, target="2/rigid", level="C"),
             Rule("fe anomaly", "FE", "score", 1.0, indicator="anomaly")]
    check = check_rows(rules, rows)
    got = {(e.rule, e.kind, rows[e.index]["time"]) for e in check.events}
    assert got == {("de alarm", "raise", "2026-03-03 10:00:00"),
                   ("de alarm", "clear", "2026-03-04 10:00:00"),
                   ("fe zone", "raise", "2026-03-03 10:00:00"),
                   ("fe zone", "clear", "2026-03-04 10:00:00"),
                   ("fe anomaly", "raise", "2026-03-02 10:00:00"),
                   ("fe anomaly", "clear", "2026-03-04 10:00:00")}
    with AlarmLog(tmp_path / "log.sqlite3") as log:
        assert log_rows_events(log, check, tmp_path / "route", source="trend") == 3
        assert log_rows_events(log, check, tmp_path / "route", source="trend") == 0
        (alarm,) = log.alarms(rule="de alarm")
        assert alarm.raised.startswith("2026-03-03T10:00:00")
