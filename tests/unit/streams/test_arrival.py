"""ArrivalClock on simulated arrivals: bursts, split reads, a slow sensor, a start-up dump."""

from __future__ import annotations

import random

import numpy as np
import pytest

from desktop.streams.arrival import HOLD_S, ArrivalClock


def run(arrivals: list[tuple[int, float]]) -> np.ndarray:
    clock = ArrivalClock(0.0)
    out = []
    for n, t in arrivals:
        out += clock.push(n, t)
    out += clock.flush()
    return np.concatenate(out)


def test_500_hz_in_50_ms_bursts_with_split_reads_and_jitter() -> None:
    rng = random.Random(3)
    arrivals = []
    for k in range(1, 201):
        a = rng.randint(0, 25)
        t = 0.3 + 0.05 * k + rng.uniform(0, 0.003)
        arrivals += [(a, t), (25 - a, t + 0.0002)] if a else [(25, t)]
    times = run([x for x in arrivals if x[0]])
    assert times.size == 5000 and (np.diff(times) > 0).all()
    assert (times.size - 1) / (times[-1] - times[0]) == pytest.approx(500, rel=0.02)
    steady = times[-2001:]
    assert 2000 / (steady[-1] - steady[0]) == pytest.approx(500, rel=0.005)


def test_a_slow_sensor_keeps_each_lines_arrival() -> None:
    assert run([(1, 1.6 + 0.3 * i) for i in range(4)]).tolist() == pytest.approx(
        [1.6, 1.9, 2.2, 2.5])


def test_a_start_up_dump_is_spread_at_the_rate_that_follows() -> None:
    times = run([(1000, 0.01)] + [(25, 0.01 + 0.05 * k) for k in range(1, 41)])
    assert (np.diff(times) > 0).all()
    assert (times.size - 1) / (times[-1] - times[0]) == pytest.approx(500, rel=0.01)
    assert times[999] == pytest.approx(0.01)  # the dump ends at its arrival


def test_a_lone_dump_is_released_after_its_wait() -> None:
    clock = ArrivalClock(0.0)
    assert clock.push(300, 0.1) == []
    assert clock.poll(0.1 + HOLD_S / 2) == []
    times = clock.poll(0.1 + HOLD_S)[0]
    assert times.size == 300 and (np.diff(times) > 0).all() and times[-1] <= 0.1


def test_time_never_stands_still_when_the_host_clock_does() -> None:
    times = run([(10, 1.0), (10, 1.0), (10, 1.0), (1, 1.0)])
    assert (np.diff(times) > 0).all()
