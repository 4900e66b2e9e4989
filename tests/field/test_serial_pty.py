"""Serial inputs through a real pseudo-terminal: SerialSource → Acquisition → recording.

The device side writes only after the port is open (opening flushes what came before,
as on real hardware), exactly as a board that resets on open does.
"""

from __future__ import annotations

import binascii
import random
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.core.types import Recording
from desktop.formats.base import make_parser
from desktop.recording.readers import read_recording
from desktop.sources.serial_port import SerialSource
from desktop.streams.acquisition import Acquisition
from tests.field.support import field_case
from tests.support.ptydevice import PtyDevice

pytestmark = pytest.mark.slow


class Live:
    """A device on a pty and a recording acquisition reading it on a thread."""

    def __init__(self, tmp_path: Path, line_format: str = "auto") -> None:
        self.device = PtyDevice(tmp_path / "ttyFIELD")
        self.device.plug()
        self.out = tmp_path / "rec.parquet"
        self.source = SerialSource(str(self.device.link), parser=make_parser(line_format))
        self.acq = Acquisition(self.source, history_s=120)
        self.acq.open()
        self.acq.start_recording(self.out)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.acq.step(0.02)

    def wait_for(self, samples: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.acq.counters.received < samples and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> Recording:
        self._stop.set()
        self._thread.join(10)
        self.acq.close()
        self.device.unplug()
        return read_recording(self.out)


# -- a header as the very first line ---------------------------------------------------------
def test_field_header_first_is_kept(tmp_path: Path) -> None:
    data = field_case("serial-header-first.bin").read_bytes()
    live = Live(tmp_path)
    live.device.write_torn(data, random.Random(1))
    live.wait_for(1000)
    rec = live.stop()
    assert [c.name for c in rec.channels] == ["n", "a", "b"]
    assert rec.values[:, 0].tolist() == list(range(1000))
    assert live.acq.counters.malformed == 0


def test_a_board_printing_its_header_with_units_on_reset(tmp_path: Path) -> None:
    live = Live(tmp_path)
    lines = "id;temp [°C];rh(%)\n" + "".join(f"{i};{20 + i / 10};{40 + i % 7}\n"
                                             for i in range(300))
    live.device.write_torn(lines.encode(), random.Random(2), max_piece=40)
    live.wait_for(300)
    rec = live.stop()
    assert [(c.name, c.unit) for c in rec.channels] == [("id", ""), ("temp", "°C"),
                                                         ("rh", "%")]
    assert rec.values[:, 0].tolist() == list(range(300))


def test_a_torn_first_line_is_counted_torn(tmp_path: Path) -> None:
    live = Live(tmp_path)
    live.device.write(b"5,-27\n" + b"".join(b"%d,%d,%d\n" % (i, i, -i) for i in range(50)))
    live.wait_for(50)
    rec = live.stop()
    assert rec.values[:, 0].tolist() == list(range(50))
    assert live.acq.counters.malformed_by_kind == {"torn": 1}


# -- a slow sensor, then stop -----------------------------------------------------------------
def _slow(live: Live, lines: list[bytes], gap: float = 0.3) -> list[float]:
    sent = []
    for line in lines:
        live.device.write(line)
        sent.append(time.monotonic())
        time.sleep(gap)
    return sent


def test_field_slow_sensor_each_line_at_its_own_arrival_none_lost_on_stop(tmp_path: Path
                                                                           ) -> None:
    lines = field_case("serial-slow-sensor.txt").read_bytes().splitlines(keepends=True)
    live = Live(tmp_path)
    _slow(live, lines)
    rec = live.stop()  # right after the last line: nothing may be held back
    assert [c.name for c in rec.channels] == ["temp", "hum"]
    assert rec.values.tolist() == [[20, 40], [21, 41], [22, 42], [23, 43]]
    steps = np.diff(rec.timestamps if rec.timestamps is not None else [])
    assert steps == pytest.approx([0.3] * 3, abs=0.1)


def test_slow_headerless_sensor_and_a_partial_line_at_stop(tmp_path: Path) -> None:
    live = Live(tmp_path)
    _slow(live, [b"1.5\n", b"2.5\n", b"3.5\n", b"4."], gap=0.25)
    rec = live.stop()
    assert rec.values[:, 0].tolist() == [1.5, 2.5, 3.5]  # "4." was cut off: never guessed
    # Headerless, the first line after an open waits for the next to confirm the format
    # (it may be torn); every later line is stamped at its own arrival.
    steps = np.diff(rec.timestamps)
    assert steps[0] > 0 and steps[1] == pytest.approx(0.25, abs=0.1)
    assert live.acq.counters.malformed_by_kind == {"torn": 1}


# -- NUL padding -----------------------------------------------------------------------------
def test_field_nul_padding_is_not_garbage(tmp_path: Path) -> None:
    data = field_case("serial-nul-padding.bin").read_bytes()
    live = Live(tmp_path)
    live.device.write_torn(data, random.Random(3))
    live.wait_for(1500)
    rec = live.stop()
    assert rec.values[:, 0].tolist() == list(range(1500))
    assert live.acq.counters.malformed == 0


def test_control_bytes_between_lines_are_ignored(tmp_path: Path) -> None:
    rng = random.Random(4)
    data = b"".join(bytes(rng.choice([0, 0, 0x11, 0x13, 0x7F]) for _ in range(rng.randint(0, 9)))
                    + b"%d\t%d\r\n" % (i, 2 * i) for i in range(800))
    live = Live(tmp_path)
    live.device.write_torn(data, rng)
    live.wait_for(800)
    rec = live.stop()
    assert rec.values.tolist() == [[i, 2 * i] for i in range(800)]
    assert live.acq.counters.malformed == 0


# -- bursts: time never stands still -----------------------------------------------------------
def test_steady_500_hz_in_50_ms_bursts_reads_as_500_hz(tmp_path: Path) -> None:
    live = Live(tmp_path)
    i = 0
    start = time.monotonic()
    for burst in range(70):  # 3.5 s
        target = start + 0.05 * (burst + 1)
        time.sleep(max(0.0, target - time.monotonic()))
        live.device.write(b"".join(b"%d,%d\n" % (k, k % 17) for k in range(i, i + 25)))
        i += 25
    live.wait_for(i)
    rec = live.stop()
    assert rec.samples == i and rec.values[:, 0].tolist() == list(range(i))
    t = rec.timestamps
    assert t is not None and (np.diff(t) > 0).all()  # strictly increasing
    rate = (t.size - 1) / (t[-1] - t[0])
    assert rate == pytest.approx(500, rel=0.02)
    assert live.source.sample_rate is None  # shown as an estimate (≈) in the window


def test_a_1000_line_burst_then_steady_lines_is_not_absurd(tmp_path: Path) -> None:
    live = Live(tmp_path)
    live.device.write(b"".join(b"%d\n" % k for k in range(1000)))
    start = time.monotonic()
    k = 1000
    for burst in range(40):  # then 200 Hz in 50 ms bursts for 2 s
        time.sleep(max(0.0, start + 0.05 * (burst + 1) - time.monotonic()))
        live.device.write(b"".join(b"%d\n" % j for j in range(k, k + 10)))
        k += 10
    live.wait_for(k)
    rec = live.stop()
    t = rec.timestamps
    assert (np.diff(t) > 0).all()
    tail = t[-200:]
    assert (tail.size - 1) / (tail[-1] - tail[0]) == pytest.approx(200, rel=0.05)
    assert (t.size - 1) / (t[-1] - t[0]) < 1000  # not the 188 kHz of one shared stamp


# -- binary frames -----------------------------------------------------------------------------
def _frame(values: list[int]) -> bytes:
    body = struct.pack("<4h", *values)
    return b"\xaa\x55" + body + struct.pack(">H", binascii.crc_hqx(body, 0xFFFF))


def test_binary_frames_with_1_percent_corrupted(tmp_path: Path) -> None:
    rng = random.Random(5)
    good: list[list[int]] = []
    data = bytearray()
    corrupted = 0
    for _ in range(20_000):
        values = [rng.randint(-32768, 32767) for _ in range(4)]
        frame = bytearray(_frame(values))
        if rng.random() < 0.01:
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
            corrupted += 1
        else:
            good.append(values)
        data += frame
    live = Live(tmp_path, "binary:sync=AA55,ch=4xi16le,crc=ccitt")
    live.device.write_torn(bytes(data), rng, max_piece=500)
    live.wait_for(len(good))
    rec = live.stop()
    assert rec.values.tolist() == good  # every good frame, in order
    counts = live.acq.counters.malformed_by_kind
    assert sum(counts.values()) == corrupted
    # "torn" only if the very first frame after the open was the corrupted one.
    assert set(counts) <= {"checksum", "sync", "length", "torn"}
