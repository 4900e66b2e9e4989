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
    for start in range(0, 250, 30):
        ring.append(_block(start, 30))
    snap = ring.latest()
    assert snap.values.shape == (100, 2)
    np.testing.assert_array_equal(snap.values[:, 0], np.arange(170, 270))
    np.testing.assert_allclose(snap.times, np.arange(170, 270) / 10.0)
    assert snap.first_index == 170
    assert ring.received == 270 and ring.dropped == 0


def test_block_larger_than_capacity_counts_dropped() -> None:
    ring = RingBuffer(CH2, capacity=50, sample_rate=1.0, dtype=np.float64)
    ring.append(_block(0, 80))
    assert ring.dropped == 30
    np.testing.assert_array_equal(ring.latest().values[:, 0], np.arange(30, 80))


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
