"""``--rules FILE`` and ``--write-log`` on ``predict``, ``trend`` and ``trend --machine``
(issue 25): each row gets ``alarms``, the JSON ``alarm_events``; nothing else changes; a
rule no row can feed, a bad file or a folder is refused in one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import HEADER
from desktop.cli import main

FS = 12000.0


def _rules(path: Path, *rows: str) -> Path:
    path.write_text(",".join(HEADER) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def rec(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 0.2, int(FS * 3))
    x[int(FS * 2):] *= 8.0  # the last second much louder
    path = tmp_path / "pump.parquet"
    pq.write_table(pa.table({"time_s": np.arange(x.size) / FS, "de": x}), path)
    return path


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_predict_rules_annotate_rows_and_add_events(rec: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    rules = _rules(tmp_path / "r.csv", "any,de,high,0,,,warning,,probability")
    plain = _json(capsys, "predict", str(rec), "--json")
    doc = _json(capsys, "predict", str(rec), "--json", "--rules", str(rules))
    assert set(doc) == set(plain) | {"alarm_events"}
    assert {k: v for k, v in doc.items() if k not in ("windows", "alarm_events")} == \
        {k: v for k, v in plain.items() if k != "windows"}
    for w, p in zip(doc["windows"], plain["windows"], strict=True):
        assert {k: w[k] for k in p} == p and w["alarms"] == ["any"]
    (event,) = doc["alarm_events"]
    assert event["rule"] == "any" and event["kind"] == "raise" and event["index"] == 0
    assert main(["predict", str(rec), "--rules", str(rules), "--write-log"]) == 0
    text = capsys.readouterr().out
    assert "alarm raise any [warning] de" in text and "1 raised (logged)" in text
    with AlarmLog() as log:
        (alarm,) = log.alarms()
    assert alarm.rule == "any" and alarm.source == "predict" and alarm.recording == str(rec)


def test_predict_rules_refused_in_one_line(rec: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    other = _rules(tmp_path / "o.csv", "hot,fe,high,0,,,,,probability")
    bad = _rules(tmp_path / "b.csv", "hot,de,above,1,,,,")
    for argv, says in ((["--rules", str(other)], "watches channel 'fe'"),
                       (["--rules", str(bad)], "'above' is not a rule kind"),
                       (["--write-log"], "--write-log needs --rules")):
        assert main(["predict", str(rec), *argv]) == 2
        lines = capsys.readouterr().err.strip().splitlines()  # (the channel note first)
        assert says in lines[-1] and all(ln.startswith("linewatch: ") for ln in lines)
    assert main(["predict", str(tmp_path), "--rules", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not folders" in err and len(err.splitlines()) == 1


def test_trend_rules(rec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = _rules(tmp_path / "r.csv", "loud,de,high,1.0,,0.1,alarm,,rms")
    plain = _json(capsys, "trend", str(rec), "--channel", "de", "--block", "0.5", "--json")
    doc = _json(capsys, "trend", str(rec), "--channel", "de", "--block", "0.5", "--json",
                "--rules", str(rules), "--write-log")
    assert [{k: r[k] for k in p} for r, p in zip(doc["trend"], plain["trend"], strict=True)
            ] == plain["trend"]
    assert [r["alarms"] for r in doc["trend"]] == [[]] * 4 + [["loud"]] * 2
    assert [(e["kind"], e["index"]) for e in doc["alarm_events"]] == [("raise", 4)]
    with AlarmLog() as log:
        assert [a.source for a in log.alarms()] == ["trend"]
    assert main(["trend", str(rec), "--channel", "de", "--block", "0.5", "--rules",
                 str(rules)]) == 0
    assert "alarm raise loud [alarm] de" in capsys.readouterr().out
    kurt = _rules(tmp_path / "k.csv", "k,de,zone,C,,,,,,,2/rigid")
    assert main(["trend", str(rec), "--channel", "de", "--rules", str(kurt)]) == 2
    assert "no row carries its velocity RMS" in capsys.readouterr().err


def test_trend_machine_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.baseline.test_cli_baseline import _routes

    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm-range", "1500", "1900",
                 "--channel", "de", "--unit", "g"]) == 0
    base, route_dir = _routes(tmp_path)
    assert main(["baseline", "pump", *map(str, base)]) == 0
    capsys.readouterr()
    rules = _rules(tmp_path / "r.csv", "worn,de,baseline,alarm,,,alarm,,,pump")
    plain = _json(capsys, "trend", str(route_dir), "--machine", "pump", "--json")
    doc = _json(capsys, "trend", str(route_dir), "--machine", "pump", "--json", "--rules",
                str(rules))
    assert set(doc) == {"machine", "rows", "alarm_events"}
    assert [{k: r[k] for k in p} for r, p in zip(doc["rows"], plain["rows"], strict=True)
            ] == plain["rows"]
    assert doc["rows"][0]["alarms"] == [] and doc["rows"][-1]["alarms"] == ["worn"]
    assert doc["alarm_events"][0]["kind"] == "raise"
    assert main(["trend", str(route_dir), "--machine", "pump", "--rules", str(rules)]) == 0
    assert "UTC (row" in capsys.readouterr().out


def test_record_refuses_a_rule_the_source_cannot_feed_before_recording(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.parquet"
    missing = _rules(tmp_path / "m.csv", "hot,speed,high,1,,,,")
    assert main(["record", "--source", "demo", "--seconds", "30", "--rules", str(missing),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == ("linewatch: --rules: rule 'hot' (line 2) watches channel 'speed', which "
                   "this signal lacks; its channels: DE accel, FE accel")
    assert not out.exists()
    # the README's example names DE: the demo's "DE accel", resolved as machine profiles do
    de = _rules(tmp_path / "de.csv", "DE shaking,DE,high,1000,,,warning,,rms")
    assert main(["record", "--source", "demo", "--seconds", "1", "--rules", str(de),
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["alarms"]["error"] is None and out.exists()


def test_predict_refuses_a_class_the_model_lacks(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    mat = Path(__file__).parents[2] / "fixtures/cwru/12k_Drive_End_IR007_1_106.mat"
    typo = _rules(tmp_path / "t.csv", "inner,X106_DE_time,class,0.8,0,0.1,alarm,yes,,,inner_rce")
    assert main(["predict", str(mat), "--rules", str(typo)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"linewatch: alarm rules {typo}:2, column 11 (class): rule 'inner' "
                          "names 'inner_rce', neither a class nor a location")
    assert "inner_007" in err and "inner_race" in err
    location = _rules(tmp_path / "l.csv", "ir,DE,class,0.8,0,0.1,alarm,yes,,,inner_race")
    assert main(["predict", str(mat), "--rules", str(location)]) == 0
    assert "alarms: 1 rules, 1 raised" in capsys.readouterr().out
