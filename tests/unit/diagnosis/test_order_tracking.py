"""Order tracking keeps a fault sharp while the speed ramps."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.diagnosis.catalogue import fault_orders, find_bearing
from desktop.diagnosis.order_tracking import (
    angle_from_edges,
    angle_from_speed,
    order_spectrum,
    resample_to_angle,
)
from desktop.diagnosis.simulate import SimSpec, simulate
from desktop.diagnosis.speed import speed_from_tacho, tacho_edges
from desktop.diagnosis.verdict import diagnose_span


def test_sine_at_fixed_order_is_one_line() -> None:
    fs = 10000.0
    rpm = np.linspace(900, 1500, int(fs * 4))
    theta = angle_from_speed(rpm, fs)
    x = np.sin(2 * np.pi * 7.0 * theta)  # order 7 while the speed ramps 60 %
    spec = order_spectrum(resample_to_angle(x, fs, theta, max_order=20), 0.1)
    peak = spec.freqs_hz[int(np.argmax(spec.amplitude))]
    assert peak == pytest.approx(7.0, abs=0.1)
    assert spec.amplitude.max() == pytest.approx(1 / np.sqrt(2), rel=0.2)


def test_ramp_with_tacho_outer_race_in_orders() -> None:
    g = find_bearing("6205")
    rec = simulate(SimSpec(g, 1500.0, 20000.0, 4.0, "outer_race", seed=9, fault_db=0.0,
                           rpm_end=1900.0))
    speed = speed_from_tacho(rec.tacho, rec.fs, 1, "tach")
    assert speed.variation > 0.2
    theta = angle_from_edges(tacho_edges(rec.tacho, rec.fs), 1, rec.x.size, rec.fs)
    v = diagnose_span(rec.x, rec.fs, g, speed, theta=theta)
    assert v.domain == "orders"
    assert v.location == "outer_race"
    bpfo = {f.name: f for f in v.faults}["BPFO"]
    mean_hz = speed.rpm / 60
    assert bpfo.harmonics[0].expected_hz == pytest.approx(
        fault_orders(g)["BPFO"] * mean_hz, rel=0.05)
