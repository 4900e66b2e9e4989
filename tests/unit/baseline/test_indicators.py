"""Condition indicators against closed-form values (a sine) and the snapshot checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop.analysis.errors import AnalysisError
from desktop.baseline.indicators import band_edges, band_name, compute_indicators, kind_of

FS = 12000.0


def _sine(amp: float, f: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return amp * np.sin(2 * math.pi * f * t)


def test_sine_rms_crest_kurtosis() -> None:
    ind = compute_indicators(_sine(2.0, 100.0), FS, "m/s2").values
    assert ind["acc_rms"] == pytest.approx(2.0 / math.sqrt(2), rel=1e-3)
    assert ind["peak"] == pytest.approx(2.0, rel=1e-3)
    assert ind["crest"] == pytest.approx(math.sqrt(2), rel=1e-3)
    assert ind["kurtosis"] == pytest.approx(1.5, rel=1e-2)


def test_velocity_of_a_sine_is_its_integral() -> None:
    # a = A sin(2πft) m/s² → v amplitude A/(2πf) m/s; RMS in mm/s = 1000·A/(2πf·√2)
    ind = compute_indicators(_sine(1.0, 80.0), FS, "m/s2").values
    expected = 1000 * 1.0 / (2 * math.pi * 80.0 * math.sqrt(2))
    assert ind["vel_rms"] == pytest.approx(expected, rel=0.03)


def test_unit_g_scales_velocity_not_acceleration() -> None:
    si = compute_indicators(_sine(1.0, 80.0), FS, "m/s2").values
    g = compute_indicators(_sine(1.0, 80.0), FS, "g").values
    assert g["acc_rms"] == pytest.approx(si["acc_rms"])
    assert g["vel_rms"] == pytest.approx(si["vel_rms"] * 9.80665, rel=1e-6)


def test_velocity_sensor_has_no_acceleration_rms() -> None:
    ind = compute_indicators(_sine(3.0, 50.0), FS, "mm/s").values
    assert "acc_rms" not in ind
    assert ind["vel_rms"] == pytest.approx(3.0 / math.sqrt(2), rel=0.03)


def test_band_rms_holds_the_sine_in_its_band() -> None:
    ind = compute_indicators(_sine(1.0, 3000.0), FS, "g").values
    assert ind["band_2k_4k"] == pytest.approx(1 / math.sqrt(2), rel=0.02)
    assert ind["band_10_1k"] < 0.01


def test_bands_stop_at_nyquist() -> None:
    assert band_edges(12000.0)[-1] == (4000.0, 6000.0)
    assert [band_name(*b) for b in band_edges(48000.0)][-1] == "band_16k_24k"
    assert kind_of("band_1k_2k") == "level" and kind_of("kurtosis") == "shape"
    assert kind_of("env_bpfo") == "envelope"


def test_short_snapshot_refused_half_second_accepted() -> None:
    with pytest.raises(AnalysisError, match=r"0\.5 s"):
        compute_indicators(_sine(1.0, 100.0, 0.4), FS, "g")
    assert compute_indicators(_sine(1.0, 100.0, 0.5), FS, "g").values["acc_rms"] > 0


def test_unknown_unit_refused() -> None:
    with pytest.raises(AnalysisError, match="unit"):
        compute_indicators(_sine(1.0, 100.0), FS, "furlongs")
