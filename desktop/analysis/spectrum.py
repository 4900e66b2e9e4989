"""Amplitude spectra, spectrograms and peak picking, the way an analyst reads them.

All estimates come from :mod:`scipy.signal` (Welch averaging, ``ShortTimeFFT``,
``find_peaks``); nothing here hand-rolls an FFT.

Amplitude convention: **RMS amplitude in the channel's own unit** (g, m/s², mm/s …). Welch's
``scaling="spectrum"`` gives, per one-sided bin, the power of a sinusoid centred on that
bin (window normalised by ``(Σw)²``, non-DC bins doubled); its square root is that
sinusoid's RMS amplitude. Multiply by √2 for peak amplitude. A sine that falls between two
bins reads low with a Hann window (scalloping loss up to 1.42 dB ≈ 15 %: Heinzel, Rüdiger
& Schilling, "Spectrum and spectral density estimation by the DFT", Max-Planck-Institut
für Gravitationsphysik, 2002, section C.2); pass ``window="flattop"`` (scipy's five-term
flat top) when the amplitude matters more than the resolution: its worst case is within
0.1 % (tests/unit/analysis/test_spectrum.py measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from desktop.analysis.errors import AnalysisError

#: Default spectral resolution (Hz) when neither ``nperseg`` nor ``resolution_hz`` is given.
DEFAULT_RESOLUTION_HZ = 1.0
#: Long signals are transformed this many samples at a time (bounds memory, same result).
CHUNK_SAMPLES = 1 << 21


def check_signal(x: np.ndarray, fs: float, min_samples: int = 16) -> np.ndarray:
    """``x`` as a finite 1-D float64 array; raises :class:`AnalysisError` otherwise."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise AnalysisError(f"expected a 1-D signal, got shape {a.shape}")
    if not (math.isfinite(fs) and fs > 0):
        raise AnalysisError(f"sample rate must be positive, got {fs}")
    if a.shape[0] < min_samples:
        raise AnalysisError(f"signal too short: {a.shape[0]} samples, need {min_samples}")
    bad = int(np.count_nonzero(~np.isfinite(a)))
    if bad:
        raise AnalysisError(f"signal has {bad} missing (NaN/inf) samples; analyse a span "
                            "without gaps")
    return a


def segment_length(n: int, fs: float, resolution_hz: float | None = None,
                   nperseg: int | None = None) -> int:
    """Samples per Welch segment: ``nperseg``, else the power of two giving a bin spacing
    at or just below ``resolution_hz`` (default 1 Hz); never more than ``n``."""
    if nperseg is None:
        res = DEFAULT_RESOLUTION_HZ if resolution_hz is None else resolution_hz
        if not (math.isfinite(res) and res > 0):
            raise AnalysisError(f"resolution must be positive, got {res} Hz")
        nperseg = 2 ** math.ceil(math.log2(max(fs / res, 2.0)))
    if nperseg < 2:
        raise AnalysisError(f"segment length must be at least 2 samples, got {nperseg}")
    return int(min(nperseg, n))


@dataclass(frozen=True)
class Spectrum:
    """``freqs_hz`` ``(m,)`` and ``amplitude`` ``(m,)`` (RMS, channel unit), bin spacing
    ``resolution_hz``, the ``window`` and the number of averaged ``segments``."""

    freqs_hz: np.ndarray
    amplitude: np.ndarray
    resolution_hz: float
    window: str
    segments: int


def amplitude_spectrum(x: np.ndarray, fs: float, *, resolution_hz: float | None = None,
                       nperseg: int | None = None, window: str = "hann",
                       overlap: float = 0.5) -> Spectrum:
    """Welch-averaged RMS amplitude spectrum of ``x`` ``(n,)`` sampled at ``fs`` Hz.

    Segments of :func:`segment_length` samples, ``overlap`` fraction overlapping, each
    with its mean removed (``detrend="constant"``); amplitude is
    ``sqrt(scipy.signal.welch(..., scaling="spectrum"))`` (module docstring).
    Raises :class:`AnalysisError` for a non-1-D, short or gappy signal, or bad parameters.
    """
    a = check_signal(x, fs)
    if not 0 <= overlap < 1:
        raise AnalysisError(f"overlap must be in [0, 1), got {overlap}")
    seg = segment_length(a.shape[0], fs, resolution_hz, nperseg)
    noverlap = int(overlap * seg)
    step = seg - noverlap
    segments = 1 + (a.shape[0] - seg) // step
    # Long recordings in chunks of whole segments (the same segments welch would take, so
    # the same mean), keeping memory near CHUNK_SAMPLES instead of segments x nperseg.
    per_chunk = max(1, CHUNK_SAMPLES // seg)
    total = None
    for first in range(0, segments, per_chunk):
        k = min(per_chunk, segments - first)
        chunk = a[first * step: (first + k - 1) * step + seg]
        f, p = signal.welch(chunk, fs=fs, window=window, nperseg=seg, noverlap=noverlap,
                            detrend="constant", scaling="spectrum", average="mean")
        total = p * k if total is None else total + p * k
    assert total is not None
    return Spectrum(f, np.sqrt(total / segments), fs / seg, window, segments)


@dataclass(frozen=True)
class Spectrogram:
    """``times_s`` ``(k,)`` (segment centres, from the first sample), ``freqs_hz`` ``(m,)``,
    ``amplitude`` ``(m, k)`` RMS in the channel unit, per segment."""

    times_s: np.ndarray
    freqs_hz: np.ndarray
    amplitude: np.ndarray


def spectrogram(x: np.ndarray, fs: float, *, nperseg: int | None = None,
                resolution_hz: float | None = None, window: str = "hann",
                overlap: float = 0.5) -> Spectrogram:
    """RMS amplitude spectrogram by :class:`scipy.signal.ShortTimeFFT`.

    Only segments lying wholly inside the signal are kept. Scaling: ``scale_to=
    "magnitude"`` with ``fft_mode="onesided2X"`` gives a centred sinusoid's peak amplitude;
    divided by √2 it is RMS, like :func:`amplitude_spectrum`.
    Raises :class:`AnalysisError` as :func:`amplitude_spectrum` does.
    """
    a = check_signal(x, fs)
    if not 0 <= overlap < 1:
        raise AnalysisError(f"overlap must be in [0, 1), got {overlap}")
    seg = segment_length(a.shape[0], fs, resolution_hz, nperseg)
    hop = max(1, round(seg * (1 - overlap)))
    win = signal.get_window(window, seg)
    sft = signal.ShortTimeFFT(win, hop, fs, fft_mode="onesided2X", scale_to="magnitude")
    p0 = sft.lower_border_end[1]
    p1 = max(sft.upper_border_begin(a.shape[0])[1], p0 + 1)
    z = sft.stft_detrend(a, "constant", p0=p0, p1=p1)
    return Spectrogram(sft.t(a.shape[0], p0, p1), sft.f, np.abs(z) / math.sqrt(2))


@dataclass(frozen=True)
class Peak:
    """A spectral line: ``freq_hz`` (refined by a parabola through the three bins around
    the local maximum) and ``amplitude`` (the maximum bin's value, channel unit RMS)."""

    freq_hz: float
    amplitude: float

    def to_json(self) -> dict[str, float]:
        return {"freq_hz": round(self.freq_hz, 4), "amplitude": float(self.amplitude)}


def find_spectral_peaks(freqs_hz: np.ndarray, amplitude: np.ndarray, *, count: int = 10,
                        fmin: float | None = None, fmax: float | None = None,
                        min_distance_hz: float | None = None,
                        min_prominence: float = 0.0) -> list[Peak]:
    """The ``count`` strongest local maxima of ``amplitude`` ``(m,)`` over evenly spaced
    ``freqs_hz`` ``(m,)``, strongest first, by :func:`scipy.signal.find_peaks`.

    ``fmin``/``fmax`` bound the search (Hz, inclusive); peaks closer than
    ``min_distance_hz`` (default two bins) keep only the taller; ``min_prominence`` is in
    the amplitude's unit. Raises :class:`AnalysisError` for mismatched arrays.
    """
    f = np.asarray(freqs_hz, dtype=np.float64)
    a = np.asarray(amplitude, dtype=np.float64)
    if f.ndim != 1 or f.shape != a.shape or f.shape[0] < 3:
        raise AnalysisError(f"frequencies {f.shape} and amplitudes {a.shape} must be equal "
                            "1-D arrays of at least 3 points")
    df = float(f[1] - f[0])
    distance = 2 if min_distance_hz is None else max(1, round(min_distance_hz / df))
    idx, _ = signal.find_peaks(a, distance=distance, prominence=min_prominence or None)
    if fmin is not None:
        idx = idx[f[idx] >= fmin]
    if fmax is not None:
        idx = idx[f[idx] <= fmax]
    idx = idx[np.argsort(a[idx])[::-1]][:count]
    peaks = []
    for i in idx:
        y0, y1, y2 = a[i - 1], a[i], a[i + 1]  # find_peaks never returns the end points
        denom = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denom if denom != 0 else 0.0
        peaks.append(Peak(float(f[i] + float(np.clip(shift, -0.5, 0.5)) * df), float(y1)))
    return peaks
