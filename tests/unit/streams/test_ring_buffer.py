from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop.core.types import Block, ChannelSpec
from desktop.streams.ring import RingBuffer

CH2 = (ChannelSpec("a"), ChannelSpec("b"))


def _block(start: int, n: int, channels=CH2) -> Block:
    idx = np.arange(start, start + n, dtype=np.float64)
    values = np.stack([idx] + [idx * (k + 2) for k in range(len(channels) - 1)], axis=1)
    return Block(values, channels)


def test_latest_returns_newest_samples_in_order_across_the_wrap() -> None:
    ring = RingBuffer(CH2, capacity=100, sample_rate=10.0, dtype=np.float64)
    assert ring.capacity == 128  # rounded up to whole envelope buckets
    for start in range(0, 250, 30):
        ring.append(_block(start, 30))
    snap = ring.latest()
    assert snap.values.shape == (128, 2)
    np.testing.assert_array_equal(snap.values[:, 0], np.arange(270 - 128, 270))
    np.testing.assert_allclose(snap.times, np.arange(270 - 128, 270) / 10.0)
    assert snap.first_index == 270 - 128
    assert ring.received == 270 and ring.dropped == 0


def test_block_larger_than_capacity_counts_dropped() -> None:
    ring = RingBuffer(CH2, capacity=64, sample_rate=1.0, dtype=np.float64)
    ring.append(_block(0, 80))
    assert ring.dropped == 16
    np.testing.assert_array_equal(ring.latest().values[:, 0], np.arange(16, 80))


def test_cursor_reader_sees_every_sample_once_and_counts_overrun() -> None:
    ring = RingBuffer(CH2, capacity=64, sample_rate=1.0, dtype=np.float64)
    cursor, seen = 0, []
    for start in range(0, 200, 16):
        ring.append(_block(start, 16))
        snap = ring.since(cursor)
        seen.append(snap.values[:, 0])
        cursor = snap.end_index
    np.testing.assert_array_equal(np.concatenate(seen), np.arange(208))
    # A reader that comes back too late loses the overwritten samples, and says so.
    for start in range(208, 408, 50):
        ring.append(_block(start, 50))
    snap = ring.since(cursor)
    assert snap.lost == 408 - 64 - 208
    assert ring.dropped == snap.lost
    np.testing.assert_array_equal(snap.values[:, 0], np.arange(408 - 64, 408))


def test_channels_can_grow_mid_stream() -> None:
    ring = RingBuffer(CH2, capacity=10, sample_rate=1.0, dtype=np.float64)
    ring.append(_block(0, 4))
    ch3 = (*CH2, ChannelSpec("c"))
    ring.append(_block(4, 4, ch3))
    snap = ring.latest()
    assert snap.channels == ch3
    assert np.isnan(snap.values[:4, 2]).all() and not np.isnan(snap.values[4:, 2]).any()
    with pytest.raises(ValueError):
        ring.append(_block(8, 1, (ChannelSpec("x"), ChannelSpec("y"), ChannelSpec("z"))))


def test_timestamps_from_block_are_kept_and_time_window_selects() -> None:
    ring = RingBuffer(CH2, capacity=1000, dtype=np.float64)
    t = np.linspace(100.0, 109.9, 100)
    ring.append(Block(np.zeros((100, 2)), CH2, t))
    snap = ring.time_window(2.0)
    assert snap.times[0] >= 107.9 - 1e-9 and snap.times[-1] == pytest.approx(109.9)


def test_concurrent_reader_never_sees_torn_or_out_of_order_data() -> None:
    """A producer at full speed and a reader snapshotting: every snapshot is consistent."""
    ring = RingBuffer(CH2, capacity=4096, sample_rate=1.0, dtype=np.float64)
    stop = threading.Event()
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            snap = ring.latest()
            col = snap.values[:, 0]
            if col.size and not (np.diff(col) == 1).all():
                problems.append("gap or tear")
            if col.size and col[0] != snap.first_index:
                problems.append("index mismatch")
            if not np.array_equal(snap.values[:, 1], col * 2):
                problems.append("row mixed from two writes")

    thread = threading.Thread(target=reader)
    thread.start()
    for start in range(0, 400_000, 1000):
        ring.append(_block(start, 1000))
    stop.set()
    thread.join()
    assert problems == []


def test_view_is_bounded_and_keeps_extremes_for_long_and_short_spans() -> None:
    rate = 20_000.0
    ring = RingBuffer(CH2, capacity=int(rate * 60), sample_rate=rate, dtype=np.float32)
    total = int(rate * 75)  # wraps
    for start in range(0, total, 1000):
        ring.append(_block(start, 1000))
    t_end = (total - 1) / rate
    # Zoomed out over the whole history: envelope path.
    snap = ring.view(t_end - 60, t_end, 1000)
    assert snap.values.shape[0] <= 2 * 1000 + 300
    assert snap.values[:, 0].max() == total - 1  # the newest sample is in the view
    assert snap.values[:, 0].min() <= (total - ring.capacity) + 64 * 40
    assert np.all(np.diff(snap.times) >= 0)
    # Zoomed in on 0.1 s: raw samples, exact.
    snap = ring.view(t_end - 0.1, t_end, 1500)
    first = ring.index_at_time(t_end - 0.1)
    assert abs(first - (total - 2001)) <= 1
    np.testing.assert_array_equal(snap.values[:, 0], np.arange(first, total))


def test_index_at_time_over_the_wrap() -> None:
    ring = RingBuffer(CH2, capacity=128, sample_rate=1.0, dtype=np.float64)
    ring.append(_block(0, 300))
    assert ring.index_at_time(250.0) == 250
    assert ring.index_at_time(0.0) == 300 - ring.capacity
    assert ring.index_at_time(1e9) == 300


def test_sample_at_picks_the_nearest_sample() -> None:
    ring = RingBuffer(CH2, capacity=128, sample_rate=10.0, dtype=np.float64)
    assert ring.sample_at(1.0) is None
    ring.append(_block(0, 300))
    t, values = ring.sample_at(25.04)
    assert t == 25.0 and values[0] == 250
    t, values = ring.sample_at(25.06)
    assert t == pytest.approx(25.1) and values[0] == 251
    t, _ = ring.sample_at(-5.0)
    assert t == (300 - 128) / 10.0


def test_arrival_time_of_a_sample_is_its_append_time() -> None:
    ring = RingBuffer(CH2, capacity=1024, sample_rate=1.0, dtype=np.float64)
    ring.append(_block(0, 100))
    first = ring.arrival_time(50)
    ring.append(_block(100, 100))
    assert first is not None and ring.arrival_time(150) >= first
    assert ring.arrival_time(99) == first and ring.arrival_time(500) is None


def test_values_beyond_float32_are_nan_gaps_counted_without_a_warning() -> None:
    import warnings

    channels = (ChannelSpec("a"), ChannelSpec("b"))
    ring = RingBuffer(channels, 64, 100.0)
    block = np.array([[1.0, 1e308], [2.0, -1e300], [3.0, np.inf], [4.0, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" would raise
        ring.append(Block(block, channels, np.arange(4) / 100.0))
    values = ring.latest().values
    assert values[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.isnan(values[:3, 1]).all() and values[3, 1] == 5.0
    assert ring.non_finite == 3
