"""Condition-monitoring features of vibration windows (numpy/scipy only).

Per window: log RMS, log kurtosis, log crest factor, log envelope kurtosis, and the log
share of spectral energy in ``n_bands`` equal-width bands from 0 to :data:`BAND_TOP` of
Nyquist. Level, impulsiveness and where the energy sits in frequency are what a vibration
analyst looks at first; the anomaly model (:mod:`desktop.ml.anomaly`) fits a Gaussian to
them.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.signal import hilbert

#: Bands stop at 5/6 of Nyquist (5 kHz at 12 kHz): above that the spectrum mostly shows
#: which anti-aliasing filter a file went through (the 48 kHz healthy file is resampled,
#: the 12 kHz fault files are not), which would make detection look better than it is.
BAND_TOP = 5 / 6


def feature_names(n_bands: int) -> list[str]:
    """Names of the ``4 + n_bands`` columns :func:`vibration_features` returns, in order."""
    return (["log_rms", "log_kurtosis", "log_crest", "log_envelope_kurtosis"]
            + [f"log_band_share_{i}" for i in range(n_bands)])


def vibration_features(windows: np.ndarray, n_bands: int) -> np.ndarray:
    """``(n, L)`` raw windows (any unit) → ``(n, 4 + n_bands)`` float64 features.

    Each window's mean is removed first; the features are logs, so they are defined for
    any non-constant window (a constant window gives very negative, finite values).
    """
    w = np.asarray(windows, dtype=np.float64)
    w = w - w.mean(axis=1, keepdims=True)
    var = w.var(axis=1) + 1e-20
    rms = np.sqrt(var)
    kurt = (w**4).mean(axis=1) / var**2
    crest = np.abs(w).max(axis=1) / rms
    env = np.abs(hilbert(w, axis=1))
    env = env - env.mean(axis=1, keepdims=True)
    env_kurt = (env**4).mean(axis=1) / ((env**2).mean(axis=1) ** 2 + 1e-30)
    power = np.abs(np.fft.rfft(w * np.hanning(w.shape[1]), axis=1)) ** 2
    edges = np.linspace(1, BAND_TOP * power.shape[1], n_bands + 1).astype(int)
    bands = np.stack([power[:, a:b].sum(axis=1) for a, b in itertools.pairwise(edges)],
                     axis=1)
    share = bands / (bands.sum(axis=1, keepdims=True) + 1e-30)
    return np.column_stack([np.log(rms), np.log(kurt), np.log(crest), np.log(env_kurt + 1e-12),
                            np.log(share + 1e-12)])
