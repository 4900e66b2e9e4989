"""Cepstral pre-whitening (desktop.diagnosis.prewhiten) and its use in the verdict."""

from __future__ import annotations

import numpy as np

from desktop.diagnosis.prewhiten import cepstral_prewhiten


def test_prewhitened_spectrum_is_flat_and_phase_kept() -> None:
    rng = np.random.default_rng(3)
    n = 4096
    t = np.arange(n) / 1000.0
    x = 50 * np.sin(2 * np.pi * 60 * t) + rng.standard_normal(n) + 3.0
    w = cepstral_prewhiten(x)
    assert w.shape == x.shape
    mag = np.abs(np.fft.rfft(w))
    assert abs(mag[0]) < 1e-9  # mean removed
    assert np.allclose(mag[1:-1], 1.0, atol=1e-6)
    # phase unchanged where the magnitude was not zero
    ph_x = np.angle(np.fft.rfft(x - x.mean()))[1:-1]
    ph_w = np.angle(np.fft.rfft(w))[1:-1]
    assert np.allclose(np.exp(1j * ph_x), np.exp(1j * ph_w), atol=1e-6)


def test_prewhitening_takes_the_sine_out_of_an_impulse_train() -> None:
    # a strong tone hides sparse impulses; whitened, the impulses dominate the kurtosis
    n = 8192
    x = 20 * np.sin(2 * np.pi * 0.05 * np.arange(n))
    x[::512] += 5.0
    w = cepstral_prewhiten(x)

    def kurt(v: np.ndarray) -> float:
        v = v - v.mean()
        return float(np.mean(v**4) / np.mean(v**2) ** 2)

    assert kurt(w) > 5 * kurt(x)


def test_zero_signal_stays_zero() -> None:
    assert not np.any(cepstral_prewhiten(np.zeros(256)))
