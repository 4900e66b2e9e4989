"""Alarm rules over a real serial stream: `linewatch record --rules` on a pseudo-terminal
judges a sample limit and a 1-s RMS indicator rule live and logs their raise and clear."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.alarms.log import AlarmLog
from desktop.alarms.rules import HEADER
from tests.support.ptydevice import PtyDevice

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
RATE = 1000


def lines() -> bytes:
    """acc: 2 s quiet (RMS 0.07), 2 s loud (RMS 0.7), 2 s quiet; temp 20, 31 for 1 s."""
    rng = np.random.default_rng(5)
    out = [b"\n", b"acc,temp\n"]  # the first line after opening counts as torn
    for i in range(6 * RATE):
        t = i / RATE
        amp = 1.0 if 2 <= t < 4 else 0.1
        acc = amp * math.sin(2 * math.pi * 50 * t) + rng.normal(0, 0.01)
        temp = 31.0 if 3 <= t < 4 else 20.0
        out.append(f"{acc:.5f},{temp:.1f}\n".encode())
    return b"".join(out)


def test_rules_judge_a_pty_stream_live(tmp_path: Path, linewatch_home: Path) -> None:
    link = tmp_path / "ttyLW7"
    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(HEADER) + "\n"
                     "shaking,acc,high,0.4,1,0.1,alarm,yes,rms\n"
                     "warm,temp,high,30,0.2,2,warning,no\n", encoding="utf-8")
    out = tmp_path / "line.parquet"
    device = PtyDevice(link)
    device.plug()
    env = dict(os.environ, PYTHONPATH=str(ROOT), LINEWATCH_HOME=str(linewatch_home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop", "record", "--source", f"serial:{link}", "--rate",
         str(RATE), "--rules", str(rules), "--seconds", "5.5", "--out", str(out), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # write once the port is open, as a device would
            seen.append(line)
            if ": connected" in line:
                break
        device.write(lines())
        rest_out, rest_err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        device.unplug()
    err = "".join(seen) + rest_err
    assert proc.returncode == 0, err
    summary = json.loads(rest_out.strip().splitlines()[-1])
    assert summary["alarms"] == {"raised": 2, "cleared": 2, "unjudged_samples": 0,
                                 "error": None}
    assert "ALARM: shaking [alarm] acc = 0.70" in err
    with AlarmLog(linewatch_home / "data" / "alarms.sqlite3") as log:
        alarms = {a.rule: a for a in log.alarms()}
    shaking, warm = alarms["shaking"], alarms["warm"]
    # RMS blocks [2, 3) and [3, 4) s are loud: raised when the second ends (1 s delay)
    assert shaking.time_s == pytest.approx(3.999, abs=0.01) and shaking.needs_ack
    assert shaking.value == pytest.approx(0.707, abs=0.02)
    assert warm.time_s == pytest.approx(3.2, abs=0.01) and warm.clear_value == 20.0
