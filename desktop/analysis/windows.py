"""Cutting signals into model windows, converting rates, normalising (numpy/scipy only).

Shared by training and inference on purpose: a model only sees at run time what it saw in
training if both go through the same few functions.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from desktop.core.errors import InputError


def resample(x: np.ndarray, rate: float, target: float) -> np.ndarray:
    """``x`` (samples first) from ``rate`` to ``target`` Hz with a polyphase filter.

    The ratio is approximated by a fraction with a denominator ≤ 1000 (48 k → 12 k is 1/4
    exactly; 25.6 k → 12 k is 15/32), which keeps the filter short; the residual rate error
    (< 0.1 % for any sane pair) is far below the ±5 % speed jitter the model is trained on.
    """
    if rate <= 0 or target <= 0:
        raise InputError(f"sample rates must be positive (got {rate} → {target} Hz)")
    if abs(rate - target) < 1e-9 * target:
        return x
    frac = Fraction(target / rate).limit_denominator(1000)
    if frac.numerator == 0:
        raise InputError(f"cannot resample {rate} Hz to {target} Hz")
    return resample_poly(x, frac.numerator, frac.denominator, axis=0)


def frame(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """Windows ``(n, window)`` of a 1-D signal as a read-only view (no copy).

    Only whole windows are returned; the tail shorter than a window is dropped.
    """
    if x.ndim != 1:
        raise ValueError("frame() takes a 1-D signal")
    if x.shape[0] < window:
        return np.empty((0, window), dtype=x.dtype)
    view = np.lib.stride_tricks.sliding_window_view(x, window)
    return view[::hop]


def zscore(windows: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Each window to zero mean and unit variance along its last axis (float32).

    Why per window: sensor gain, mounting and motor load change the vibration level, and a
    model that keys on absolute level learns the load as much as the fault. The shape of
    the waveform (impacts, their spacing, their spectrum) is what carries the fault.
    """
    w = np.asarray(windows, dtype=np.float64)
    mean = w.mean(axis=-1, keepdims=True)
    std = w.std(axis=-1, keepdims=True)
    return ((w - mean) / (std + eps)).astype(np.float32)
