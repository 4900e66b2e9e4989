"""The Analysis dock's jobs without a window: spans read from a buffer, one-line reasons,
markers from a speed channel, trend blocks."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.analysis.bearings import find_preset
from desktop.analysis.errors import AnalysisError
from desktop.analysis.workbench import (
    SpanRequest,
    analyse_span,
    is_speed_channel,
    read_indices,
    read_span,
    trend_of,
)
from desktop.core.tasks import Cancelled, TaskState
from desktop.core.types import Block, ChannelSpec
from desktop.streams.ring import RingBuffer

FS = 10_000.0
CHANNELS = (ChannelSpec("accel", "g"), ChannelSpec("shaft rpm", "rpm"))


def buffer_with(x: np.ndarray, rpm: float = 1800.0, capacity: int | None = None,
                t0: float = 100.0) -> RingBuffer:
    buf = RingBuffer(CHANNELS, capacity or x.size, FS)
    values = np.column_stack([x, np.full(x.size, rpm)]).astype(np.float32)
    times = t0 + np.arange(x.size) / FS
    for i in range(0, x.size, 4096):
        buf.append(Block(values[i:i + 4096], CHANNELS, times[i:i + 4096]))
    return buf


def impulses(seconds: float, rate_hz: float, seed: int = 1) -> np.ndarray:
    """A 3 kHz resonance struck ``rate_hz`` times a second, in noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    x = 0.05 * rng.standard_normal(n)
    ring = np.exp(-t[:200] * 1500) * np.sin(2 * np.pi * 3000 * t[:200])
    for k in np.arange(0, seconds, 1 / rate_hz):
        i = int(k * FS)
        x[i:i + 200] += ring[: max(0, min(200, n - i))]
    return x


def test_the_span_is_read_raw_and_between_equals_since() -> None:
    buf = buffer_with(np.arange(50_000, dtype=float), capacity=30_000)
    times, values = read_span(buf, 103.0, 104.0)
    assert times[0] == pytest.approx(103.0) and times[-1] == pytest.approx(104.0)
    assert values.shape == (10_001, 2) and values[0, 0] == 30_000
    oldest = 50_000 - buf.capacity  # the capacity is rounded up to whole buckets
    fallback = type("Old", (), {"since": buf.since, "channels": buf.channels})()
    t2, v2 = read_indices(fallback, 31_000, 32_000)
    t3, v3 = read_indices(buf, 31_000, 32_000)
    assert np.array_equal(v2, v3) and np.array_equal(t2, t3)
    # Overwritten samples are not returned.
    t4, v4 = read_indices(buf, 0, oldest + 1)
    assert t4.size == 1 and v4[0, 0] == oldest


def test_envelope_finds_the_strike_rate_and_the_speed_channel_gives_markers() -> None:
    x = impulses(4.0, 162.0)
    buf = buffer_with(x, rpm=1797.0)
    req = SpanRequest(100.5, 103.5, 0, "accel", "g", FS, "envelope", rpm_column=1,
                      geometry=find_preset("6205"))
    r = analyse_span(buf, req)
    assert r.rpm == pytest.approx(1797.0) and "speed channel" in r.rpm_source
    assert r.peaks[0][0] == pytest.approx(162.0, rel=0.01)
    assert "BPFI" in [m.name for m in r.markers]
    assert r.zone in "ABCD" and r.velocity_mm_s > 0


@pytest.mark.parametrize(("change", "message"), [
    ({"rate": None}, "has no sample rate"),
    ({"t1": 100.001}, "span too short"),
    ({"mode": "envelope", "t1": 100.2}, "type a band"),
    ({"band": (4000.0, 6000.0), "mode": "envelope"}, "half the sample rate"),
])
def test_one_line_reasons(change: dict, message: str) -> None:
    buf = buffer_with(impulses(1.0, 100.0))
    base = {"t0": 100.0, "t1": 101.0, "column": 0, "channel": "accel", "unit": "g",
            "rate": FS, "mode": "spectrum"}
    with pytest.raises(AnalysisError, match=message) as caught:
        analyse_span(buf, SpanRequest(**{**base, **change}))
    assert "\n" not in str(caught.value)


def test_a_gap_is_named_and_severity_without_a_unit_leaves_a_note() -> None:
    x = impulses(1.0, 100.0)
    x[5000] = np.nan
    buf = buffer_with(x)
    req = SpanRequest(100.0, 101.0, 0, "accel", "g", FS, "spectrum")
    with pytest.raises(AnalysisError, match="gap"):
        analyse_span(buf, req)
    buf = buffer_with(impulses(1.0, 100.0))
    r = analyse_span(buf, SpanRequest(100.0, 101.0, 0, "accel", "", FS, "spectrum"))
    assert r.velocity_mm_s is None and "pick the unit in the dock" in r.severity_note


def test_trend_rows_cover_the_signal_in_blocks_and_cancel() -> None:
    buf = buffer_with(impulses(12.3, 50.0))
    t = trend_of(buf, 0, "accel", "g", FS, 1.0)
    assert len(t.rows) == 12  # the 0.3 s remainder joins the last block
    assert t.rows[0].start_s == pytest.approx(100.0)
    assert t.rows[-1].end_s == pytest.approx(112.3)
    assert all(r.zone in "ABCD" for r in t.rows)
    task = TaskState()
    task.cancel()
    with pytest.raises(Cancelled):
        trend_of(buf, 0, "accel", "g", FS, 1.0, task=task)
    with pytest.raises(AnalysisError, match="no sample rate"):
        trend_of(buf, 0, "accel", "g", None, 1.0)


def test_speed_channels_are_recognised() -> None:
    assert is_speed_channel("X106RPM", "") and is_speed_channel("shaft", "r/min")
    assert not is_speed_channel("DE accel", "g")
