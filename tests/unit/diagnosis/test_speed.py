"""Shaft speed from tacho pulses, a speed channel and the spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.diagnosis.catalogue import find_bearing
from desktop.diagnosis.errors import DiagnosisError
from desktop.diagnosis.simulate import SimSpec, simulate
from desktop.diagnosis.speed import (
    estimate_speed,
    speed_from_channel,
    speed_from_tacho,
    tacho_edges,
)


def test_tacho_edges_interpolated_and_noise_immune() -> None:
    fs = 10000.0
    t = np.arange(int(fs)) / fs
    sine = np.sin(2 * np.pi * 7.3 * t)
    rng = np.random.default_rng(0)
    edges = tacho_edges(sine + 0.05 * rng.standard_normal(t.size), fs)
    assert edges.size == 7
    assert np.diff(edges) == pytest.approx(1 / 7.3, rel=2e-2)  # no double edges


@pytest.mark.parametrize("ppr", [1, 4])
def test_speed_from_tacho(ppr: int) -> None:
    fs = 20000.0
    rpm = 1487.0
    t = np.arange(int(2 * fs)) / fs
    frac = (t * rpm / 60 * ppr) % 1.0
    pulses = np.where(frac < 0.2, 5.0, 0.0)
    speed = speed_from_tacho(pulses, fs, ppr, "tach")
    assert speed.rpm == pytest.approx(rpm, rel=2e-3)
    assert speed.rpm_source == "tacho tach" and speed.confidence == 1.0
    assert speed.rpm_profile.size >= 40


def test_tacho_refuses_too_few_pulses() -> None:
    with pytest.raises(DiagnosisError, match="revolution"):
        speed_from_tacho(np.zeros(1000), 1000.0, 1)


def test_speed_from_channel_median() -> None:
    v = np.full(5000, 1800.0)
    v[:10] = np.nan
    s = speed_from_channel(v, 1000.0, "speed")
    assert s.rpm == 1800.0 and s.rpm_source == "channel speed" and s.variation == 0.0


@pytest.mark.parametrize(("rpm", "fs", "mains"), [(1480.0, 12000.0, 50.0),
                                                   (2950.0, 25600.0, 60.0),
                                                   (720.0, 20000.0, 60.0)])
def test_estimate_speed_from_spectrum(rpm: float, fs: float, mains: float) -> None:
    rec = simulate(SimSpec(find_bearing("6206"), rpm, fs, 4.0, "healthy", seed=3,
                           mains_hz=mains))
    s = estimate_speed(rec.x, fs, (rpm * 0.8, rpm * 1.2), mains_hz=mains)
    assert s is not None and s.rpm_source == "spectrum"
    assert s.rpm == pytest.approx(rpm, rel=3e-3)
    assert 0.3 <= s.confidence <= 1.0


def test_estimate_speed_none_on_noise() -> None:
    rng = np.random.default_rng(1)
    assert estimate_speed(rng.standard_normal(48000), 12000.0, (1000, 2000)) is None


def test_estimate_speed_refuses_bad_range() -> None:
    with pytest.raises(DiagnosisError):
        estimate_speed(np.zeros(4096), 1000.0, (2000, 1000))
