"""Envelope spectra: spectral-kurtosis band choice on a synthetic fault, and the real
CWRU inner- and outer-race files against BPFI/BPFO from each file's own shaft speed."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.analysis.bearings import fault_frequencies, find_preset
from desktop.analysis.envelope import (
    bandpass,
    envelope,
    envelope_spectrum,
    kurtogram,
    spectral_kurtosis_band,
)
from desktop.analysis.errors import AnalysisError
from desktop.analysis.spectrum import find_spectral_peaks
from tests.support.real_data import CWRU

FS = 12_000.0


def _impulsive(rate_hz: float = 87.0, resonance_hz: float = 3300.0, seconds: float = 6.0,
               seed: int = 3) -> np.ndarray:
    """Noise, a strong 40 Hz hum, and a resonance struck rate_hz times a second."""
    rng = np.random.default_rng(seed)
    n = int(FS * seconds)
    t = np.arange(n) / FS
    ring_t = np.arange(int(0.004 * FS)) / FS
    ring = np.exp(-ring_t * 1500.0) * np.sin(2 * np.pi * resonance_hz * ring_t)
    strikes = np.zeros(n)
    strikes[(np.arange(0, seconds, 1 / rate_hz) * FS).astype(int)] = 1.0
    fault = np.convolve(strikes, ring)[:n]
    return 2.0 * np.sin(2 * np.pi * 40 * t) + fault + 0.15 * rng.standard_normal(n)


def test_spectral_kurtosis_finds_the_injected_impulsive_band() -> None:
    x = _impulsive()
    choice = spectral_kurtosis_band(x, FS, min_bandwidth_hz=500)
    lo, hi = choice.band_hz
    assert lo < 3300 < hi and hi - lo >= 500
    assert choice.kurtosis > 2 and choice.source == "spectral kurtosis"
    kg = kurtogram(x, FS)
    # Gaussian-noise bands read about 0, the steady 40 Hz hum below 0 where it dominates.
    level = kg.windows.index(64)
    far = np.nanmedian(kg.kurtosis[level][kg.freqs_hz[level] > 5000])
    assert abs(far) < 0.3


def test_envelope_spectrum_of_the_synthetic_fault_peaks_at_the_strike_rate() -> None:
    result = envelope_spectrum(_impulsive(), FS, min_bandwidth_hz=500)
    spec = result.spectrum
    top = find_spectral_peaks(spec.freqs_hz, spec.amplitude, fmin=20, fmax=400, count=1)[0]
    assert top.freq_hz == pytest.approx(87.0, rel=0.01)
    given = envelope_spectrum(_impulsive(), FS, (2500.0, 4000.0))
    assert given.band.band_hz == (2500.0, 4000.0) and given.band.source == "given"


def test_envelope_of_a_modulated_carrier_is_the_modulation() -> None:
    t = np.arange(int(FS * 2)) / FS
    x = (1 + 0.5 * np.sin(2 * np.pi * 30 * t)) * np.sin(2 * np.pi * 2000 * t)
    env = envelope(x, FS, (1500.0, 2500.0))
    mid = slice(2000, -2000)  # away from the filter's end effects
    np.testing.assert_allclose(env[mid], 0.5 * np.sin(2 * np.pi * 30 * t[mid]), atol=0.01)
    assert abs(bandpass(np.sin(2 * np.pi * 100 * t), FS, (1500.0, 2500.0))[mid]).max() < 1e-3


def test_bands_outside_nyquist_or_unreachable_are_refused() -> None:
    x = _impulsive(seconds=2)
    with pytest.raises(AnalysisError, match="half the sample rate"):
        envelope_spectrum(x, FS, (100.0, 7000.0))
    with pytest.raises(AnalysisError, match="LO < HI"):
        envelope_spectrum(x, FS, (3000.0, 2000.0))
    with pytest.raises(AnalysisError, match="no band of at least"):
        spectral_kurtosis_band(x, FS, min_bandwidth_hz=7000)


def _cwru(name: str) -> tuple[np.ndarray, float]:
    from scipy.io import loadmat

    path = CWRU / name
    data = loadmat(str(path))
    de = next(k for k in data if k.endswith("_DE_time"))
    rpm = float(next(v for k, v in data.items() if k.endswith("RPM")).ravel()[0])
    return data[de].ravel().astype(np.float64), rpm


@pytest.mark.parametrize(("name", "fault"), [
    ("12k_Drive_End_IR007_1_106.mat", "bpfi"),
    ("12k_Drive_End_IR021_1_210.mat", "bpfi"),
    ("12k_Drive_End_OR007@6_1_131.mat", "bpfo"),
    ("12k_Drive_End_OR021@6_0_234.mat", "bpfo"),
])
def test_cwru_envelope_peak_is_the_fault_frequency(name: str, fault: str) -> None:
    """Strongest envelope line in 20-400 Hz within 2 % of BPFI (inner race) or BPFO (outer
    race) from the 6205 geometry and the file's own XnnnRPM. The band is chosen by spectral
    kurtosis among bands at least 4 x BPFI wide, as ``linewatch spectrum --envelope`` does.
    (Not every CWRU file is this clean: Smith & Randall, MSSP 64-65 (2015) 100-131, found
    several 0.014/0.021 in files dominated by shaft-rate lines.)"""
    x, rpm = _cwru(name)
    freqs = fault_frequencies(find_preset("6205"), rpm)
    result = envelope_spectrum(x, FS, min_bandwidth_hz=4 * freqs.bpfi)
    spec = result.spectrum
    top = find_spectral_peaks(spec.freqs_hz, spec.amplitude, fmin=20, fmax=400, count=1)[0]
    expected = getattr(freqs, fault)
    assert abs(top.freq_hz - expected) / expected < 0.02, (top, expected, result.band)
