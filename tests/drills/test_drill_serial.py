"""Serial abuse through a real pty: garbage of every kind, megabyte lines, a header that
changes, baud-mismatch noise, unplug/replug. Every valid line arrives once, in order; the
counters equal what was injected; memory stays flat."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

from desktop.recording.journal import summarize_journal
from desktop.recording.readers import read_recording
from desktop.recording.writer import journal_path
from tests.support.drill import Child, pick, report, rss_mb
from tests.support.ptydevice import PtyDevice

HEADER = b"count,ax,ay,az,gx,gy,gz,temp\n"
HUGE = 1e308  # finite in float64, beyond float32: a NaN gap live, exact in the file


class AbuseStream:
    """Valid 8-column lines with every kind of garbage between them, counted by the kind
    the parser must report."""

    def __init__(self, seed: int, garbage_rate: float) -> None:
        self.rng = random.Random(seed)
        self.garbage_rate = garbage_rate
        self.next_count = 0
        self.injected: Counter[str] = Counter()
        self.huge: list[int] = []  # counts whose temp is 1e308

    def valid(self, c: int) -> bytes:
        temp = HUGE if c % 997 == 500 else 20 + (c % 50) / 10
        if temp == HUGE:
            self.huge.append(c)
        return (f"{c},{c * 0.5:.3f},{-c * 0.25:.4f},1.5,{c % 97},-2.25,{c % 13}e-3,"
                f"{temp!r}\n").encode()

    def noise(self, high_only: bool) -> bytes:
        n = self.rng.randint(1, 300)
        if high_only:  # what a wrong baud rate looks like: mostly high bytes
            raw = bytes(self.rng.randint(0x80, 0xFF) for _ in range(n))
        else:
            raw = self.rng.randbytes(n).replace(b"\n", b"\0").replace(b"\r", b"\0")
        pos = self.rng.randint(0, len(raw))
        return raw[:pos] + b"\xfe" + raw[pos:] + b"\n"  # at least one byte no text has

    def garbage(self) -> bytes:
        kind = self.rng.choices(["noise", "baud", "wide", "header"], [40, 20, 20, 20])[0]
        if kind in ("noise", "baud"):
            self.injected["non_utf8"] += 1
            return self.noise(kind == "baud")
        self.injected["columns"] += 1
        if kind == "wide":  # ten times the channels
            return (",".join(f"{self.rng.random():.4f}" for _ in range(80)) + "\n").encode()
        return self.rng.choice([b"count,ax,ay,az,gx,gy,gz,temp,humidity\n",
                                b"n,a,b,c,d,e,f,g\n", b"COUNT;AX;AY;AZ;GX;GY;GZ;T\n"])

    def megabyte_line(self) -> bytes:
        self.injected["overlong"] += 1
        return b"7" * 1_000_000 + b"\n"

    def lines(self, n_valid: int, clean: int = 0) -> bytes:
        out = []
        for i in range(n_valid):
            if i >= clean and self.rng.random() < self.garbage_rate:
                out.append(self.garbage())
            out.append(self.valid(self.next_count))
            self.next_count += 1
        return b"".join(out)


def wait_journal(out: Path, rows: int, timeout: float = 180.0) -> None:
    """Until the recorder has flushed ``rows`` samples: the pty is drained."""
    deadline = time.monotonic() + timeout
    have = -1
    while time.monotonic() < deadline:
        try:
            have = summarize_journal(journal_path(out))[1]
        except Exception:  # a segment being created this instant
            have = -1
        if have >= rows:
            return
        time.sleep(0.2)
    raise AssertionError(f"the recorder flushed {have} of {rows} samples")


def test_serial_abuse_keeps_every_valid_line_and_counts_every_bad_one(tmp_path: Path) -> None:
    n_valid = pick(100_000, 1_000_000)
    replugs = pick(5, 100)
    megabyte_lines = pick(3, 10)
    link, out = tmp_path / "ttyLW0", tmp_path / "abuse.parquet"
    stream = AbuseStream(seed=11, garbage_rate=0.02)
    device = PtyDevice(link)
    device.plug()
    rec = Child.linewatch("record", "--source", f"serial:{link}", "--out", str(out), "--json")
    rss: list[float] = []
    started = time.monotonic()
    try:
        rec.wait_err(": connected")
        device.write(b"\n" + HEADER)
        per_phase = n_valid // (replugs + 1)
        big_at = set(random.Random(5).sample(range(replugs + 1), megabyte_lines))
        for phase in range(replugs + 1):
            count = per_phase if phase < replugs else n_valid - per_phase * replugs
            data = stream.lines(count, clean=30 if phase == 0 else 0)
            if phase in big_at:  # a megabyte with no line end in sight, mid-phase
                cut = data.index(b"\n", len(data) // 2) + 1
                data = data[:cut] + stream.megabyte_line() + data[cut:]
            device.write_torn(data, stream.rng, max_piece=4096)
            wait_journal(out, stream.next_count)
            rss.append(rss_mb(rec.pid) or 0.0)
            if phase == replugs:
                break
            device.unplug()
            rec.wait_err(": lost")
            rec.wait_err(": reconnecting")
            device.plug()
            rec.wait_err(": connected")
            device.write(b"\n")  # the port may open mid-line: start on a line end
        assert rec.interrupt() == 0, "".join(rec.stderr)
        summary = rec.last_json()
    finally:
        rec.close()
        if device.master is not None:
            device.unplug()
    elapsed = time.monotonic() - started

    recording = read_recording(out)
    counts = recording.values[:, 0]
    np.testing.assert_array_equal(counts, np.arange(n_valid))  # each once, in order
    np.testing.assert_array_equal(recording.values[:, 1], np.round(counts * 0.5, 3))
    temp = recording.values[:, 7]
    assert (temp[stream.huge] == HUGE).all()  # the float64 file keeps 1e308 exactly
    assert summary["samples"] == n_valid and summary["dropped"] == 0
    assert summary["malformed_by_kind"] == dict(stream.injected), (summary, stream.injected)
    assert summary["malformed"] == sum(stream.injected.values())
    assert summary["non_finite_live"] == len(stream.huge)
    assert "overflow" not in "".join(rec.stderr)  # no numpy warning on stderr
    growth = max(rss) - rss[0]
    report("serial", lines=n_valid, replugs=replugs, garbage=dict(stream.injected),
           huge=len(stream.huge), seconds=round(elapsed, 1), rss_first_mb=round(rss[0], 1),
           rss_max_mb=round(max(rss), 1), rss_last_mb=round(rss[-1], 1))
    assert growth < 40, rss  # flat: no growth beyond noise
