"""`linewatch record` on a real pseudo-terminal: every valid line once, in order, across an
unplug/replug of the device, with the garbage counted by kind."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.recording.readers import read_recording
from tests.support.ptydevice import PtyDevice
from tests.support.streams import SensorStream

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """`linewatch record` in a subprocess, with its stderr state lines readable."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "desktop", "record", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def wait_for(self, word: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if word in line:
                return line
        raise AssertionError(f"recorder never said {word!r}; stderr: {''.join(self.stderr)}")

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, "".join(self.stderr)
        return json.loads(out.strip().splitlines()[-1])


def test_pty_stream_with_garbage_and_unplug_keeps_every_valid_line(tmp_path: Path) -> None:
    link = tmp_path / "ttyLW0"
    out = tmp_path / "rec.parquet"
    stream = SensorStream()
    device = PtyDevice(link)
    device.plug()
    rec = Recorder("--source", f"serial:{link}", "--out", str(out), "--json")
    try:
        rec.wait_for(": connected")
        # The first line after opening is treated as torn: send an empty one first, like
        # a device that was mid-line when the port opened.
        device.write(b"\n" + stream.header())
        started = time.monotonic()
        device.write_torn(stream.lines(100_000), stream.rng)
        phase1_s = time.monotonic() - started
        time.sleep(1.0)  # let the reader drain the pty before the cable is pulled

        device.unplug()
        rec.wait_for(": lost")
        rec.wait_for(": reconnecting")
        time.sleep(0.5)
        device.plug()
        rec.wait_for(": connected")
        device.write(b"\n")
        device.write_torn(stream.lines(20_000), stream.rng)
        time.sleep(1.0)
        summary = rec.stop()
    finally:
        if rec.proc.poll() is None:
            rec.proc.kill()
        device.__exit__()

    recording = read_recording(out)
    names = [c.name for c in recording.channels]
    assert names == ["count", "ax", "ay", "az", "gx", "gy", "gz", "temp"]
    counts = recording.values[:, 0]
    np.testing.assert_array_equal(counts, np.arange(120_000))  # each once, in order
    np.testing.assert_allclose(recording.values[:, 1], counts * 0.5)
    assert summary["samples"] == 120_000
    garbage = sum(stream.garbage.values())
    # The empty line sent after each (re)open is a torn fragment with nothing in it: the
    # parser drops it without counting, so only the garbage is counted.
    assert summary["malformed"] == garbage, summary
    for kind, n in stream.garbage.items():
        assert summary["malformed_by_kind"][kind] == n, (kind, summary)
    assert summary["dropped"] == 0
    print(f"\npty phase 1: 100,000 lines in {phase1_s:.2f} s "
          f"({100_000 / phase1_s:,.0f} lines/s written, 0 lost)")
