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
