"""`linewatch record --rules`: alarm rules judged live on a Modbus device's stream (pymodbus's
own server), every raise and clear written to the alarm log as it happens."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import HEADER as RULES_HEADER
from desktop.cli import main
from desktop.recording.registry import read_recording
from desktop.sources.modbus_map import HEADER as MAP_HEADER
from tests.support.modbus_server import ModbusTestServer, free_port

pytestmark = pytest.mark.slow


def test_record_with_rules_logs_raise_and_clear(tmp_path: Path, linewatch_home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    (tmp_path / "map.csv").write_text(",".join(MAP_HEADER) + "\n"
                                      "temp,holding,0,int16,0.1,,degC,0.05,\n",
                                      encoding="utf-8")
    (tmp_path / "rules.csv").write_text(",".join(RULES_HEADER) + "\n"
                                        "too hot,temp,high,80,0.3,5,alarm,yes\n",
                                        encoding="utf-8")
    out = tmp_path / "oven.parquet"
    with ModbusTestServer(tcp_port=port) as server:
        server.set("holding", 0, [600])  # 60.0 degC

        def heat_then_cool() -> None:
            time.sleep(0.8)
            server.set("holding", 0, [900])  # 90.0 degC for ~1 s: raised after 0.3 s
            time.sleep(1.0)
            server.set("holding", 0, [700])  # 70.0: below 80 - 5, clears

        changer = threading.Thread(target=heat_then_cool)
        changer.start()
        code = main(["record", "--source", f"modbus-tcp:127.0.0.1:{port}",
                     "--map", str(tmp_path / "map.csv"), "--rules", str(tmp_path / "rules.csv"),
                     "--seconds", "3", "--out", str(out), "--json"])
        changer.join()
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert code == 0, captured.err
    assert summary["alarms"] == {"raised": 1, "cleared": 1, "unjudged_samples": 0,
                                 "error": None}
    assert "ALARM: too hot [alarm] temp = 90" in captured.err
    assert "cleared: too hot [alarm] temp = 70 (latched until acknowledged)" in captured.err
    with AlarmLog(linewatch_home / "data" / "alarms.sqlite3") as log:
        (alarm,) = log.alarms()
    assert (alarm.rule, alarm.channel, alarm.value, alarm.clear_value) == (
        "too hot", "temp", 90.0, 70.0)
    assert alarm.recording == str(out) and alarm.needs_ack
    # the logged moment is the recording's own time of that sample
    rec = read_recording(out)
    assert rec.timestamps is not None
    assert rec.timestamps.min() <= alarm.time_s <= rec.timestamps.max()


def test_actions_run_on_a_raise_without_a_shell(tmp_path: Path, linewatch_home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A configured command (argv, no shell: the alarm reaches it as environment text, so
    `$(…)` in a channel name stays text) and a Modbus coil written on the device."""
    import sys

    from pymodbus.client import ModbusTcpClient

    port = free_port()
    channel = "temp$(touch pwned)"
    (tmp_path / "map.csv").write_text(",".join(MAP_HEADER) + "\n"
                                      f"{channel},holding,0,int16,0.1,,degC,0.05,\n",
                                      encoding="utf-8")
    (tmp_path / "rules.csv").write_text(",".join(RULES_HEADER) + "\n"
                                        f"too hot,{channel},high,80,0,5,alarm,\n",
                                        encoding="utf-8")
    horn = tmp_path / "horn.txt"
    script = ("import os, pathlib, sys; pathlib.Path(sys.argv[1]).write_text("
              "os.environ['LINEWATCH_ALARM_RULE'] + '|' + os.environ['LINEWATCH_ALARM_CHANNEL']"
              " + '|' + os.environ['LINEWATCH_ALARM_VALUE'])")
    (tmp_path / "actions.json").write_text(json.dumps({
        "linewatch_actions": 1,
        "too hot": [{"type": "command", "argv": [sys.executable, "-c", script, str(horn)]},
                    {"type": "modbus_coil", "source": f"modbus-tcp:127.0.0.1:{port}",
                     "unit": 1, "address": 7, "value": True}]}), encoding="utf-8")
    with ModbusTestServer(tcp_port=port) as server:
        server.set("holding", 0, [900])
        code = main(["record", "--source", f"modbus-tcp:127.0.0.1:{port}",
                     "--map", str(tmp_path / "map.csv"), "--rules", str(tmp_path / "rules.csv"),
                     "--actions", str(tmp_path / "actions.json"), "--seconds", "1",
                     "--out", str(tmp_path / "r.parquet")])
        client = ModbusTcpClient("127.0.0.1", port=port)
        client.connect()
        coil = client.read_coils(7, count=1, device_id=1).bits[0]
        client.close()
    err = capsys.readouterr().err
    assert code == 0, err
    assert horn.read_text() == f"too hot|{channel}|90.0"
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    assert coil is True
    assert "action command" in err and "exit code 0" in err and "written" in err


def test_actions_need_rules_and_a_valid_file(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.alarms.actions import ActionsError, read_actions

    assert main(["record", "--source", "synth:1x10", "--actions", "a.json",
                 "--out", str(tmp_path / "x.parquet")]) == 2
    assert "--actions needs --rules" in capsys.readouterr().err
    bad = tmp_path / "a.json"
    for text, says in [('{"linewatch_actions": 1, "r": [{"type": "command", "argv": "horn on"}]}',
                        "'argv' must be a list of words"),
                       ('{"linewatch_actions": 1, "r": [{"type": "shell"}]}',
                        "'type' must be command or modbus_coil"),
                       ('{"r": []}', "not a Linewatch actions file")]:
        bad.write_text(text)
        with pytest.raises(ActionsError, match=says):
            read_actions(bad)
