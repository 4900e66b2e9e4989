"""White noise at a stated SNR, and a spectral-subtraction denoiser (numpy only).

:func:`add_noise_snr` is the noise protocol of Zhang et al. 2017 (Sensors 17, 425, Tables
4-5) that docs/ml.md reports against: ``SNR = 10·log10(Ps / Pn)`` with ``Ps`` the mean power
of the *whole recording*, so every window of a recording gets noise of the same power
(quiet stretches get a worse local SNR, as with a real noisy sensor).
"""

from __future__ import annotations

import numpy as np


def add_noise_snr(x: np.ndarray, snr_db: float, rng: np.random.Generator,
                  signal_power: float | None = None) -> np.ndarray:
    """``x`` plus white Gaussian noise of power ``Ps / 10**(snr_db / 10)``.

    ``signal_power`` defaults to the mean power of ``x`` (``mean(x**2)``); pass the whole
    recording's power when ``x`` is only a part of it.
    """
    x = np.asarray(x, dtype=np.float64)
    ps = float(np.mean(x ** 2)) if signal_power is None else float(signal_power)
    pn = ps / (10.0 ** (snr_db / 10.0))
    return x + rng.standard_normal(x.shape) * np.sqrt(pn)


def spectral_subtraction(windows: np.ndarray, over: float = 1.5) -> np.ndarray:
    """Per-window power spectral subtraction with the median bin as the noise floor.

    White noise has a flat spectrum, a bearing fault a peaked one, so the median of a
    window's power spectrum estimates the noise floor; each bin keeps
    ``max(0, 1 - over·floor/power)`` of its power (phases untouched).
    """
    w = np.asarray(windows, dtype=np.float64)
    spec = np.fft.rfft(w, axis=-1)
    power = np.abs(spec) ** 2
    floor = np.median(power, axis=-1, keepdims=True)
    gain = np.sqrt(np.clip(1.0 - over * floor / np.maximum(power, 1e-30), 0.0, 1.0))
    return np.fft.irfft(spec * gain, n=w.shape[-1], axis=-1)
