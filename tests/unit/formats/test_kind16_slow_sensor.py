"""Issue #23 kind 16: a slow sensor's lines (one every 0.3 s) are stamped at their own
arrival from the first line on.

The cause was a second-long pause on the acquisition thread at the first data line and
at the recording's first flush (``to_numpy``/``pa.array`` import pandas on first use):
lines sent meanwhile reached the host as one burst and got times milliseconds apart. A
test process that has imported pandas already cannot see it, so each check runs in a
fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

_FIRST_LINES = """
import sys, time
from desktop.formats.base import make_parser
parser = make_parser()
parser.resync()
parser.feed(b"temp,hum\\n")
t0 = time.perf_counter()
block = parser.feed(b"20,40\\n")
took = time.perf_counter() - t0
assert block.values.tolist() == [[20.0, 40.0]], block.values
import numpy as np
from desktop.core.types import ChannelSpec
from desktop.recording.writer import RecordingWriter
import tempfile, pathlib
out = pathlib.Path(tempfile.mkdtemp()) / "r.parquet"
writer = RecordingWriter(out, (ChannelSpec("temp"),), None, "test", fsync=False)
writer.write(np.array([0.0, 0.3]), np.array([[20.0], [21.0]]))
t1 = time.perf_counter()
writer.flush()
flushed = time.perf_counter() - t1
writer.close(finalize=False)
print(round(took, 4), round(flushed, 4), "pandas" in sys.modules)
"""


def test_first_data_line_and_first_flush_are_quick_in_a_fresh_process() -> None:
    done = subprocess.run([sys.executable, "-c", _FIRST_LINES], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    took, flushed, pandas = done.stdout.split()
    assert pandas == "False", "the parser or the writer imported pandas on the hot path"
    assert float(took) < 0.15 and float(flushed) < 0.15


_LIVE = """
import sys, threading, time, tempfile
from pathlib import Path
sys.path.insert(0, "tests")
import numpy as np
from support.ptydevice import PtyDevice
from desktop.formats.base import make_parser
from desktop.sources.serial_port import SerialSource
from desktop.streams.acquisition import Acquisition
from desktop.recording.readers import read_recording
tmp = Path(tempfile.mkdtemp())
dev = PtyDevice(tmp / "tty"); dev.plug()
acq = Acquisition(SerialSource(str(dev.link), parser=make_parser()), history_s=60)
acq.open(); acq.start_recording(tmp / "r.parquet")
stop = threading.Event()
def loop():
    while not stop.is_set():
        acq.step(0.02)
th = threading.Thread(target=loop, daemon=True); th.start()
for line in [b"flow,level\\n"] + [f"{i},{100 - i}\\n".encode() for i in range(8)]:
    dev.write(line); time.sleep(0.3)
stop.set(); th.join(); acq.close(); dev.unplug()
rec = read_recording(tmp / "r.parquet")
print(rec.values[:, 0].astype(int).tolist())
print(" ".join(f"{s:.3f}" for s in np.diff(rec.timestamps)))
"""


@pytest.mark.slow
def test_slow_sensor_lines_keep_their_arrival_times_from_the_first() -> None:
    done = subprocess.run([sys.executable, "-c", _LIVE], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    values, steps = done.stdout.strip().splitlines()
    assert values == str(list(range(8)))
    assert [float(s) for s in steps.split()] == pytest.approx([0.3] * 7, abs=0.06)
