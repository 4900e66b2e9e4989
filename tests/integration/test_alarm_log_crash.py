"""A process logging alarms is killed with SIGKILL: the alarm log reopens whole.

The child raises, clears and acknowledges alarms as fast as it can, each entry in its own
transaction, and prints the entry's id only after its commit returned. Comments are a few
kilobytes so an entry spans several pages: a torn write would show as a row whose fields do
not match what the child wrote. Every printed id must be in the log, exactly as written.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from desktop.alarms.log import AlarmLog

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path

    from desktop.alarms.log import AlarmLog

    log = AlarmLog(Path(sys.argv[1]))
    k = int(sys.argv[2])
    print("ready", flush=True)
    while True:
        raised = log.raise_alarm(f"rule{k % 5}", f"ch{k % 3}", float(k), severity="alarm")
        print(raised.id, k, "raise", flush=True)
        cleared = log.clear_alarm(raised.id, k + 0.5)
        print(cleared.id, k, "clear", flush=True)
        ack = log.acknowledge(raised.id, "child", f"{k}:" + "é," * (k % 2000))
        print(ack.id, k, "acknowledge", flush=True)
        k += 1
""")


def run_and_kill(path: Path, first: int, lines_before_kill: int) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(first)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        lines = [proc.stdout.readline() for _ in range(lines_before_kill)]
        time.sleep(random.uniform(0.0, 0.02))  # land the kill anywhere in a transaction
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        lines += proc.stdout.readlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return [line for line in lines if line.endswith("\n")]


def test_the_alarm_log_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "alarms.sqlite3"
    confirmed: dict[int, tuple[int, str]] = {}
    k = 0
    for round_ in range(3):
        for line in run_and_kill(path, k, lines_before_kill=30 + 20 * round_):
            entry_id, index, kind = line.split()
            confirmed[int(entry_id)] = (int(index), kind)
        k = max(i for i, _ in confirmed.values()) + 1
    with AlarmLog(path) as log:
        assert log.integrity() == "ok"
        stored = {e.id: e for e in log.entries()}
        # every entry the child saw committed is there, as written
        for entry_id, (index, kind) in confirmed.items():
            entry = stored[entry_id]
            assert entry.kind == kind and entry.rule == f"rule{index % 5}"
            if kind == "acknowledge":
                assert entry.comment == f"{index}:" + "é," * (index % 2000)
        # and the log keeps working after the crashes
        more = log.raise_alarm("after", "x", 1.0)
        assert more.id > max(stored)
        assert all(a.rule for a in log.alarms())
