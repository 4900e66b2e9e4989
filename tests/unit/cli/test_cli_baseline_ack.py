"""``linewatch baseline-ack NAME``: a stored acknowledgement that every later
``trend --machine`` applies; ``--clear`` drops them; bad input one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.baseline.acks import AckStore
from desktop.cli import main


def _trend(capsys: pytest.CaptureFixture[str], route_dir: Path) -> list[dict]:
    assert main(["trend", str(route_dir), "--machine", "pump", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["rows"]


def test_ack_then_trend_then_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.baseline.test_cli_baseline import _routes

    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm-range", "1500", "1900",
                 "--channel", "de", "--unit", "g"]) == 0
    base, route_dir = _routes(tmp_path)
    assert main(["baseline", "pump", *map(str, base)]) == 0
    capsys.readouterr()
    before = _trend(capsys, route_dir)
    assert before[-1]["state"] == "alarm" and not before[-1].get("acknowledged")
    assert main(["baseline-ack", "pump", "--sensor", "fe"]) == 2
    assert "no baseline sensor 'fe' (sensors: de)" in capsys.readouterr().err

    assert main(["baseline-ack", "pump", "--sensor", "de", "--at", "2004-02-12 15:00",
                 "--user", "ana", "--comment", "bearing ordered", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"machine": "pump", "ack": {**doc["ack"], "sensor": "de",
                                              "at": "2004-02-12 15:00:00", "user": "ana",
                                              "comment": "bearing ordered"}}
    after = _trend(capsys, route_dir)
    assert after[-1]["acknowledged"] is True and after[-1]["ack"]["user"] == "ana"
    assert after[:-1] == before[:-1]

    assert main(["baseline-ack", "pump"]) == 0  # now, every sensor
    assert "sensor * acknowledged" in capsys.readouterr().out
    assert len(AckStore().load("pump")) == 2
    assert main(["baseline-ack", "pump", "--clear"]) == 0
    assert "2 acknowledgement(s) cleared" in capsys.readouterr().out
    assert AckStore().load("pump") == [] and _trend(capsys, route_dir) == before


@pytest.mark.parametrize(("argv", "says"), [
    (["nobody"], "no machine 'nobody' (machines: pump)"),
    (["pump", "--at", "yesterday"], "--at 'yesterday' is not a date-time"),
    (["pump", "--clear", "--at", "2004-02-12"], "leave out --at"),
    (["pump"], "machine 'pump' has no baseline, so no baseline alarms to acknowledge "
               "(machines with baselines: none yet); learn one with linewatch baseline pump"),
    (["pump", "--sensor", "de"], "machine 'pump' has no baseline"),
])
def test_bad_input_is_one_line_exit_2(argv: list[str], says: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de"]) == 0
    capsys.readouterr()
    assert main(["baseline-ack", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1
    assert AckStore().load("pump") == []


def test_ack_names_the_machines_that_have_baselines(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    from desktop.baseline.store import BaselineStore

    for name in ("pump", "fan"):
        assert main(["machine", "add", name, "--bearing", "6205", "--rpm", "1800"]) == 0
    store = BaselineStore()
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path("fan").write_text("{}")  # only its name is read here
    capsys.readouterr()
    assert main(["baseline-ack", "pump"]) == 2
    assert "(machines with baselines: fan)" in capsys.readouterr().err
    assert AckStore().load("pump") == []
