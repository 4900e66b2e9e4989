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
