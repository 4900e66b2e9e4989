"""The acquisition loop with a real synthetic source and a real recorder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop.recording.readers import read_recording
from desktop.sources.synth import SynthSource
from desktop.streams.acquisition import Acquisition


def test_recording_can_start_with_the_history_still_in_memory(tmp_path: Path) -> None:
    source = SynthSource(2, 1000.0, speed=float("inf"))
    acq = Acquisition(source, history_s=10.0)
    acq.open()
    while acq.counters.received < 5000:
        acq.step()
    acq.start_recording(tmp_path / "rec.parquet", backfill_from=2.0)
    while acq.counters.received < 8000:
        acq.step()
    result = acq.close()
    rec = read_recording(result.out)
    # time_s counts from the recording's first sample; the writer knows where that was.
    assert rec.timestamps[0] == 0.0 and result.writer.first_time == 2.0
    n = rec.samples
    np.testing.assert_allclose(rec.values, source.samples(2000, n), rtol=1e-6, atol=1e-6)
    assert np.all(np.diff(rec.timestamps) > 0)  # history and live data join without overlap


class SteppingClock:
    """A clock the test moves: reads can be made to come late, as on a loaded machine."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_span_limited_recording_holds_that_much_signal_however_late_the_reads(
    tmp_path: Path,
) -> None:
    clock = SteppingClock()
    source = SynthSource(3, 1000.0, clock=clock)
    acq = Acquisition(source, history_s=10.0, clock=clock)
    acq.open()
    acq.start_recording(tmp_path / "rec.parquet", span_s=1.0)
    for late in (0.3, 0.01, 0.45, 0.2, 0.6):  # 0.3 s, then 0.31 s, … of signal are due
        clock.now += late
        acq.step(timeout=0)
        assert acq.recording_full == (acq.counters.received >= 1000)
    assert acq.recording_full and acq.counters.received > 1000
    result = acq.close()
    assert result is not None and result.samples == 1000
    rec = read_recording(result.out)
    assert rec.duration_s == 1.0
    np.testing.assert_array_equal(rec.values, source.samples(0, 1000))


def test_a_span_limit_stops_at_the_span_when_samples_are_irregular(tmp_path: Path) -> None:
    from desktop.core.types import Block, ChannelSpec

    source = SynthSource(1, 1000.0, speed=float("inf"))
    acq = Acquisition(source, history_s=10.0)
    recorder = acq.start_recording(tmp_path / "rec.parquet", span_s=2.0)
    channels = (ChannelSpec("x"),)
    for times in ([10.0, 10.5, 11.0], [11.9, 12.0, 12.5]):  # 12.0 is past 10 + 2
        stamps = np.array(times)
        acq._record(stamps, Block(np.ones((3, 1)), channels, stamps))
    assert acq.recording_full
    assert recorder.first_time == 10.0 and recorder.last_time == 11.9
    acq.stop_recording()
