"""`linewatch record --seconds N` records N seconds of signal, however busy the machine is."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.recording.readers import read_recording
from desktop.sources.synth import SynthSource

pytestmark = pytest.mark.slow


@pytest.fixture
def busy_process() -> Iterator[None]:
    """A thread that holds the GIL as much as it can: the recorder gets a fraction of it."""
    stop = threading.Event()

    def burn() -> None:
        x = 0
        while not stop.is_set():
            for _ in range(200_000):
                x += 1

    burner = threading.Thread(target=burn, daemon=True)
    burner.start()
    yield
    stop.set()
    burner.join()


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """`record` installs SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def record(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["record", *args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_seconds_is_signal_time_on_a_busy_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], busy_process: None,
    keep_signal_handlers: None,
) -> None:
    out = tmp_path / "busy.parquet"
    started = time.monotonic()
    summary = record(capsys, "--source", "synth:2x1000", "--seconds", "1", "--out", str(out))
    print(f"\nbusy: {time.monotonic() - started:.2f} s wall for {summary['duration_s']} s")
    # Within one block of 1.0 s; the span cut makes it exact here.
    assert summary["samples"] == 1000 and summary["dropped"] == 0
    assert summary["duration_s"] == pytest.approx(1.0, abs=1e-9)
    rec = read_recording(out)
    np.testing.assert_array_equal(rec.values, SynthSource(2, 1000.0).samples(0, 1000))


def test_replay_at_max_speed_records_the_asked_span_of_a_longer_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_signal_handlers: None,
) -> None:
    csv = tmp_path / "long.csv"  # 4 s at 500 Hz
    rows = np.arange(4000, dtype=np.float64).reshape(2000, 2) / 7
    csv.write_text("time_ms,a,b\n" + "".join(
        f"{i * 2},{float(r[0])!r},{float(r[1])!r}\n" for i, r in enumerate(rows)))
    out = tmp_path / "half.parquet"
    summary = record(capsys, "--source", f"replay:{csv}", "--speed", "max", "--seconds", "0.5",
                     "--out", str(out))
    assert summary["samples"] == 250
    assert summary["duration_s"] == pytest.approx(0.5, abs=1e-9)
    rec = read_recording(out)
    np.testing.assert_array_equal(rec.values, rows[:250])
    np.testing.assert_allclose(rec.timestamps, np.arange(250) * 0.002)
