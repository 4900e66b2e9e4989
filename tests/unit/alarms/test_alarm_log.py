"""The alarm log: raise, clear and acknowledge in a real SQLite file; `linewatch alarms`."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from desktop.alarms.log import AlarmLog, AlarmLogError
from desktop.cli import main


def test_an_alarm_from_raise_to_clear_and_acknowledgement(tmp_path: Path) -> None:
    path = tmp_path / "alarms.sqlite3"
    with AlarmLog(path) as log:
        raised = log.raise_alarm("bearing temp high", "temp_de", 92.5, severity="alarm",
                                 source="modbus-tcp:10.0.0.5:502", recording="run.parquet",
                                 time_s=12.25)
        log.raise_alarm("flow low", "flow", 0.4, severity="warning")
        log.clear_alarm(raised.id, 71.0, time_s=40.0)
        ack = log.acknowledge(raised.id, "Ana", "fan belt replaced")
        assert (ack.kind, ack.user, ack.comment, ack.alarm_id) == (
            "acknowledge", "Ana", "fan belt replaced", raised.id)
        with pytest.raises(AlarmLogError, match="already acknowledged by Ana"):
            log.acknowledge(raised.id, "Bo")
        with pytest.raises(AlarmLogError, match="no alarm 99"):
            log.clear_alarm(99)
        with pytest.raises(AlarmLogError, match="who acknowledges"):
            log.acknowledge(2, " ")
    with AlarmLog(path) as log:  # reopened: all of it is on disk
        first, second = log.alarms()
        assert (first.rule, first.channel, first.value, first.time_s) == (
            "bearing temp high", "temp_de", 92.5, 12.25)
        assert first.cleared is not None and first.clear_value == 71.0 and not first.active
        assert (first.acknowledged_by, first.comment) == ("Ana", "fan belt replaced")
        assert second.active and second.needs_ack and second.acknowledged is None
        assert [a.rule for a in log.alarms(active_only=True)] == ["flow low"]
        assert [a.rule for a in log.alarms(limit=1)] == ["flow low"]
        assert [e.kind for e in log.entries()] == ["raise", "raise", "clear", "acknowledge"]
        assert [e.kind for e in log.entries(limit=2)] == ["clear", "acknowledge"]
        assert [e.kind for e in log.entries(rule="flow low")] == ["raise"]
        assert log.integrity() == "ok"
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_threads_write_at_once(tmp_path: Path) -> None:
    with AlarmLog(tmp_path / "a.sqlite3") as log:
        def raise_many(k: int) -> None:
            for i in range(25):
                log.raise_alarm(f"rule{k}", "ch", float(i))

        threads = [threading.Thread(target=raise_many, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(log.alarms()) == 100


def test_a_file_that_is_not_an_alarm_log_is_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(AlarmLogError, match="another program"):
        AlarmLog(other)
    assert other.read_bytes() == before
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(AlarmLogError, match="damaged or is not"):
        AlarmLog(junk)


def test_cli_list_export_and_ack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "alarms.sqlite3"
    with AlarmLog(path) as log:
        a = log.raise_alarm("=HYPERLINK(\"x\")", "-ch", 5.0, severity="alarm")
        log.raise_alarm("vibration", "de", 7.1)
    log_args = ["alarms", "--log", str(path)]
    assert main([*log_args, "ack", str(a.id), "--user", "@ops", "--comment", "+checked"]) == 0
    assert "acknowledged by @ops" in capsys.readouterr().out
    assert main([*log_args, "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [x["acknowledged_by"] for x in listed] == ["@ops", ""]
    assert main([*log_args, "list", "--unacknowledged"]) == 0
    out = capsys.readouterr().out
    assert "vibration on de = 7.1; ACTIVE; unacknowledged" in out and "HYPERLINK" not in out
    csv_out = tmp_path / "alarms.csv"
    assert main([*log_args, "export", str(csv_out)]) == 0
    rows = list(csv.reader(csv_out.open(encoding="utf-8")))
    assert rows[0][:3] == ["id", "raised", "rule"]
    first = dict(zip(rows[0], rows[1], strict=True))
    # the formula guard: text that a spreadsheet would run is written as text
    assert first["rule"] == "'=HYPERLINK(\"x\")" and first["channel"] == "'-ch"
    assert first["acknowledged_by"] == "'@ops" and first["comment"] == "'+checked"
    assert first["value"] == "5.0"
    json_out = tmp_path / "alarms.json"
    assert main([*log_args, "export", str(json_out), "--json", "--entries"]) == 0
    assert [e["kind"] for e in json.loads(json_out.read_text())] == [
        "raise", "raise", "acknowledge"]
    capsys.readouterr()
    assert main([*log_args, "export", str(json_out), "--json"]) == 1
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert main([*log_args, "ack", "42"]) == 1
    assert "no alarm 42" in capsys.readouterr().err


def test_a_latching_alarm_stays_up_until_acknowledged(tmp_path: Path) -> None:
    with AlarmLog(tmp_path / "a.sqlite3") as log:
        latched = log.raise_alarm("hot", "t", 95.0, latch=True)
        plain = log.raise_alarm("warm", "t", 85.0)
        log.clear_alarm(latched.id, 60.0)
        log.clear_alarm(plain.id, 60.0)
        assert [(a.rule, a.active, a.latched) for a in log.alarms()] == [
            ("hot", True, True), ("warm", False, False)]
        assert [a.rule for a in log.alarms(active_only=True)] == ["hot"]
        log.acknowledge(latched.id, "ana")
        assert log.alarms(active_only=True) == []


def test_a_version_1_log_is_upgraded_in_place(tmp_path: Path) -> None:
    from desktop.alarms.log import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0][1]:
        conn.execute(statement)
    conn.execute("INSERT INTO entries (time, kind, rule) VALUES ('2026-12-01T00:00:00Z', "
                 "'raise', 'old rule')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with AlarmLog(path) as log:
        (alarm,) = log.alarms()
        assert (alarm.rule, alarm.latch, alarm.active) == ("old rule", False, True)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


def test_since_and_until_compare_times_and_refuse_what_is_not_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "alarms.sqlite3"
    with AlarmLog(path) as log:
        log.raise_alarm("early", "de", 1.0, time="2026-12-08T00:32:00.733Z")
        log.raise_alarm("late", "de", 2.0, time="2026-12-08T00:45:10.000Z")
    args = ["alarms", "--log", str(path), "list", "--json"]

    def listed(*extra: str) -> list[str]:
        assert main([*args, *extra]) == 0
        return [a["rule"] for a in json.loads(capsys.readouterr().out)]

    assert listed("--since", "2026-12-08 00:40") == ["late"]  # space, not T: still a time
    assert listed("--since", "2026-12-08T00:40Z") == ["late"]
    assert listed("--since", "2026-12-08T01:40+01:00") == ["late"]  # an offset
    assert listed("--until", "2026-12-08 00:40:00") == ["early"]
    assert listed("--until", "2026-12-08") == ["early", "late"]  # the whole day
    assert listed("--until", "2026-12-07") == []
    for option, text in (("--since", "notadate"), ("--until", "garbage"),
                         ("--since", "08/12/2026")):
        assert main([*args, option, text]) == 2
        err = capsys.readouterr().err.strip()
        assert f"{option} {text!r} is not a date or time" in err and "\n" not in err
        assert f"e.g. {option} 2026-12-08" in err
    assert main(["alarms", "--log", str(path), "export", str(tmp_path / "x.csv"),
                 "--until", "garbage"]) == 2
    assert not (tmp_path / "x.csv").exists()
