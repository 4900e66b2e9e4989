"""Serial throughput through a real pseudo-terminal: our chunked reader vs readline().

Run: .venv/bin/python bench/bench_serial_pty.py [--lines N] [--json]

A writer thread pushes N lines of 8 columns (with ~1 % garbage) into the pty master as
fast as the pty accepts them (a pty applies back-pressure, so nothing can be lost on the
wire); the reader on the slave side must deliver every valid line. "Ours" is
SerialSource (chunked reads + the vectorised parser); the naive baseline is the common
pyserial idiom: ``readline()`` then ``line.split(',')`` and ``float()`` per field.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import serial

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.sources.serial_port import SerialSource  # noqa: E402
from tests.support.ptydevice import PtyDevice  # noqa: E402
from tests.support.streams import SensorStream  # noqa: E402


def _feed(device: PtyDevice, payload: bytes) -> threading.Thread:
    thread = threading.Thread(target=device.write, args=(payload,), daemon=True)
    thread.start()
    return thread


def run_ours(n_lines: int) -> tuple[float, int]:
    stream = SensorStream(seed=1)
    payload = b"\n" + stream.header() + stream.lines(n_lines)
    with tempfile.TemporaryDirectory() as tmp:
        device = PtyDevice(Path(tmp) / "tty")
        device.plug()
        source = SerialSource(str(device.link))
        source.open()
        got: list[np.ndarray] = []
        received = 0
        started = time.perf_counter()
        writer = _feed(device, payload)
        idle_since = None
        while received < n_lines:
            block = source.read(0.05)
            if len(block):
                got.append(block.values[:, 0])
                received += len(block)
                idle_since = None
            elif not writer.is_alive():
                idle_since = idle_since or time.perf_counter()
                if time.perf_counter() - idle_since > 1.0:
                    break
        elapsed = time.perf_counter() - started
        source.close()
        device.unplug()
    counts = np.concatenate(got) if got else np.empty(0)
    lost = n_lines - int(np.sum(counts == np.arange(counts.size))) if counts.size else n_lines
    return n_lines / elapsed, lost


def run_naive(n_lines: int) -> tuple[float, int]:
    stream = SensorStream(seed=1)
    payload = b"\n" + stream.header() + stream.lines(n_lines)
    with tempfile.TemporaryDirectory() as tmp:
        device = PtyDevice(Path(tmp) / "tty")
        device.plug()
        port = serial.Serial(str(device.link), timeout=1.0)
        rows = []
        started = time.perf_counter()
        _feed(device, payload)
        while len(rows) < n_lines:
            line = port.readline()
            if not line:
                break
            try:
                parts = line.decode().strip().split(",")
                if len(parts) != 8:
                    continue
                values = [float(p) for p in parts]
                if all(np.isfinite(values)):
                    rows.append(values)
            except (UnicodeDecodeError, ValueError):
                continue
        elapsed = time.perf_counter() - started
        port.close()
        device.unplug()
    return len(rows) / elapsed, n_lines - len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--naive-lines", type=int, default=20_000,
                    help="the naive reader is slow; give it fewer lines")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ours, ours_lost = run_ours(args.lines)
    naive, naive_lost = run_naive(args.naive_lines)
    result = {"ours_lines_per_s": round(ours), "ours_lost": ours_lost,
              "naive_lines_per_s": round(naive), "naive_lost": naive_lost,
              "speedup": round(ours / naive, 1)}
    if args.json:
        print(json.dumps(result))
        return
    print(f"pty serial, 8 columns, ~1 % garbage ({args.lines:,} lines ours, "
          f"{args.naive_lines:,} naive)")
    print(f"  ours  (chunked read + vectorised parser): {ours:>10,.0f} lines/s, lost {ours_lost}")
    print(f"  naive (readline + split + float):         {naive:>10,.0f} lines/s, "
          f"lost {naive_lost}")
    print(f"  speed-up: {ours / naive:.1f}x")


if __name__ == "__main__":
    main()
