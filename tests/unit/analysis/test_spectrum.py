"""Welch amplitude spectrum, spectrogram and peak picking on signals of known content."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop.analysis.errors import AnalysisError
from desktop.analysis.spectrum import amplitude_spectrum, find_spectral_peaks, spectrogram

FS = 10_000.0


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(FS * seconds)) / FS


def test_rms_amplitude_of_a_bin_centred_sine_with_hann() -> None:
    rng = np.random.default_rng(1)
    x = 3.0 * np.sin(2 * np.pi * 125.0 * _t(8)) + 0.01 * rng.standard_normal(80_000) + 5.0
    spec = amplitude_spectrum(x, FS, nperseg=8000)  # 1.25 Hz bins: 125 Hz is bin 100
    assert spec.resolution_hz == pytest.approx(1.25)
    peak = find_spectral_peaks(spec.freqs_hz, spec.amplitude, count=1)[0]
    assert peak.freq_hz == pytest.approx(125.0, abs=0.05)
    assert peak.amplitude == pytest.approx(3.0 / math.sqrt(2), rel=0.01)  # RMS, not peak
    assert spec.segments == 19  # 50 % overlap


@pytest.mark.parametrize("freq", [100.0, 100.3, 100.61, 217.17])
def test_flattop_reads_an_off_bin_sine_within_a_tenth_of_a_percent(freq: float) -> None:
    spec = amplitude_spectrum(2.0 * np.sin(2 * np.pi * freq * _t(6)), FS, window="flattop")
    peak = find_spectral_peaks(spec.freqs_hz, spec.amplitude, count=1)[0]
    assert peak.amplitude == pytest.approx(2.0 / math.sqrt(2), rel=1e-3)
    assert peak.freq_hz == pytest.approx(freq, abs=spec.resolution_hz / 2)


def test_default_resolution_is_one_hertz_or_finer_and_capped_by_the_signal() -> None:
    assert amplitude_spectrum(np.sin(_t(4)), FS).resolution_hz == pytest.approx(FS / 16384)
    short = amplitude_spectrum(np.sin(_t(0.1)), FS)
    assert short.resolution_hz == pytest.approx(10.0) and short.segments == 1


def test_peaks_are_strongest_first_and_bounded() -> None:
    t = _t(4)
    x = (1.0 * np.sin(2 * np.pi * 50 * t) + 3.0 * np.sin(2 * np.pi * 300 * t)
         + 2.0 * np.sin(2 * np.pi * 1200 * t))
    spec = amplitude_spectrum(x, FS, window="flattop")
    peaks = find_spectral_peaks(spec.freqs_hz, spec.amplitude, count=3)
    assert [round(p.freq_hz) for p in peaks] == [300, 1200, 50]
    assert [p.amplitude for p in peaks] == sorted((p.amplitude for p in peaks), reverse=True)
    low = find_spectral_peaks(spec.freqs_hz, spec.amplitude, count=5, fmax=1000,
                              min_prominence=0.1)
    assert [round(p.freq_hz) for p in low] == [300, 50]
    assert peaks[0].to_json()["freq_hz"] == pytest.approx(300, abs=0.1)


def test_spectrogram_sees_a_tone_switch_on() -> None:
    t = _t(4)
    x = np.where(t >= 2.0, 2.0 * np.sin(2 * np.pi * 1000 * t), 0.0)
    x = x + 1.0 * np.sin(2 * np.pi * 250 * t)
    sg = spectrogram(x, FS, nperseg=1000, overlap=0.5)  # 10 Hz bins: both tones bin-centred
    assert sg.amplitude.shape == (sg.freqs_hz.size, sg.times_s.size)
    assert sg.times_s[0] == pytest.approx(0.05) and sg.times_s[-1] <= 4.0
    k250 = int(np.argmin(abs(sg.freqs_hz - 250)))
    k1000 = int(np.argmin(abs(sg.freqs_hz - 1000)))
    np.testing.assert_allclose(sg.amplitude[k250], 1 / math.sqrt(2), rtol=1e-3)
    early, late = sg.times_s < 1.9, sg.times_s > 2.1
    assert np.all(sg.amplitude[k1000, early] < 1e-3)
    np.testing.assert_allclose(sg.amplitude[k1000, late], 2 / math.sqrt(2), rtol=1e-3)


def test_bad_input_is_refused_with_a_reason() -> None:
    x = np.sin(_t(1))
    x[100] = np.nan
    with pytest.raises(AnalysisError, match="1 missing"):
        amplitude_spectrum(x, FS)
    with pytest.raises(AnalysisError, match="1-D"):
        amplitude_spectrum(np.zeros((100, 2)), FS)
    with pytest.raises(AnalysisError, match="sample rate"):
        amplitude_spectrum(np.zeros(100), 0.0)
    with pytest.raises(AnalysisError, match="too short"):
        amplitude_spectrum(np.zeros(4), FS)


def test_long_signals_in_chunks_give_welchs_own_answer(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    from scipy import signal

    import desktop.analysis.envelope as envelope_mod
    import desktop.analysis.spectrum as spectrum_mod

    x = np.random.default_rng(5).standard_normal(50_001)
    whole = envelope_mod.kurtogram(x, FS, windows=(16, 64))
    monkeypatch.setattr(spectrum_mod, "CHUNK_SAMPLES", 3000)
    monkeypatch.setattr(envelope_mod, "CHUNK_SAMPLES", 3000)
    spec = amplitude_spectrum(x, FS, nperseg=1024)
    _, p = signal.welch(x, fs=FS, nperseg=1024, noverlap=512, scaling="spectrum")
    np.testing.assert_allclose(spec.amplitude, np.sqrt(p), rtol=1e-10)
    chunked = envelope_mod.kurtogram(x, FS, windows=(16, 64))
    for a, b in zip(whole.kurtosis, chunked.kurtosis, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9)
