"""Envelope (demodulation) spectra for bearing diagnostics, with the band chosen by the
user or by spectral kurtosis.

A local bearing defect strikes at a fault rate (BPFI, BPFO …) and each strike rings a
structural resonance kilohertz high. The raw spectrum shows the resonance, not the rate;
the envelope of the resonance band does. Steps (Randall & Antoni, "Rolling element bearing
diagnostics — A tutorial", MSSP 25 (2011) 485–520, section 3):

1. band-pass around the resonance: Butterworth, second-order sections, run forwards and
   backwards (:func:`scipy.signal.butter`, :func:`scipy.signal.sosfiltfilt`: zero phase);
2. the magnitude of the analytic signal (:func:`scipy.signal.hilbert`), mean removed;
3. its amplitude spectrum (:func:`desktop.analysis.spectrum.amplitude_spectrum`).

Band choice by spectral kurtosis. Antoni's fast kurtogram (J. Antoni, "Fast computation of
the kurtogram for the detection of transient faults", MSSP 21 (2007) 108–124) maps SK
over (centre frequency, bandwidth) with a 1/3-binary filter tree. Here the same map is
estimated by the short-time Fourier transform, the estimator of Antoni & Randall, "The
spectral kurtosis: application to the vibratory surveillance and diagnostics of rotating
machines", MSSP 20 (2006) 308–331, eq. (8): for window length ``Nw``

    SK(f) = ⟨|X(t, f)|⁴⟩ / ⟨|X(t, f)|²⟩² − 2

(0 for stationary Gaussian noise, −1 for a steady sine, large for impulsive bands), over
window lengths ``Nw`` = 2^k (bandwidth ≈ 2·fs/Nw, the Hann main lobe); the band with the
largest SK wins. It is simpler and slower than the fast kurtogram, and good enough to pick a
demodulation band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from desktop.analysis.errors import AnalysisError
from desktop.analysis.spectrum import CHUNK_SAMPLES, Spectrum, amplitude_spectrum, check_signal

#: Window lengths tried by :func:`kurtogram` (samples).
DEFAULT_WINDOWS = (16, 32, 64, 128, 256, 512)


def check_band(band: tuple[float, float], fs: float) -> tuple[float, float]:
    """``(lo, hi)`` Hz with ``0 < lo < hi < fs/2``, else :class:`AnalysisError`."""
    lo, hi = float(band[0]), float(band[1])
    if not (0 < lo < hi < fs / 2):
        raise AnalysisError(f"band {lo:g}-{hi:g} Hz must satisfy 0 < LO < HI < "
                            f"{fs / 2:g} Hz (half the sample rate)")
    return lo, hi


def bandpass(x: np.ndarray, fs: float, band: tuple[float, float], order: int = 4
             ) -> np.ndarray:
    """Zero-phase Butterworth band-pass of ``x`` ``(n,)``; returns ``(n,)``.

    ``order`` is the prototype order (the filter is applied twice, forwards and backwards,
    so the magnitude response is squared). Raises :class:`AnalysisError` for a band outside
    ``(0, fs/2)`` or a bad signal.
    """
    a = check_signal(x, fs)
    lo, hi = check_band(band, fs)
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, a)


def envelope(x: np.ndarray, fs: float, band: tuple[float, float], order: int = 4
             ) -> np.ndarray:
    """Envelope ``(n,)`` of the ``band`` (Hz) of ``x`` ``(n,)``: ``|hilbert(bandpass(x))|``
    with its mean removed, in the channel's unit."""
    env = np.abs(signal.hilbert(bandpass(x, fs, band, order)))
    return env - env.mean()


@dataclass(frozen=True)
class BandChoice:
    """The demodulation band: ``band_hz`` (lo, hi), the spectral ``kurtosis`` there and the
    STFT ``window`` length (samples) whose bin it was; ``source`` says who chose it."""

    band_hz: tuple[float, float]
    kurtosis: float
    window: int
    source: str


@dataclass(frozen=True)
class Kurtogram:
    """Spectral kurtosis per window length: ``windows`` ``(L,)``; for each level ``i``
    ``freqs_hz[i]`` ``(Nw_i/2 + 1,)`` and ``kurtosis[i]`` of the same shape (NaN where
    the band would leave (0, fs/2) or is narrower than asked)."""

    windows: tuple[int, ...]
    freqs_hz: tuple[np.ndarray, ...]
    kurtosis: tuple[np.ndarray, ...]


def _band_of(fc: float, nw: int, fs: float) -> tuple[float, float]:
    half = fs / nw  # one bin either side: the Hann main lobe's half width
    return fc - half, fc + half


def kurtogram(x: np.ndarray, fs: float, *, windows: tuple[int, ...] = DEFAULT_WINDOWS,
              min_bandwidth_hz: float = 0.0, fmin: float = 0.0) -> Kurtogram:
    """STFT spectral kurtosis of ``x`` ``(n,)`` for each window length (module docstring).

    Hann windows, hop ``Nw/4``. Bands narrower than ``min_bandwidth_hz`` or reaching below
    ``max(fmin, 0)`` or above ``fs/2`` are NaN. Raises :class:`AnalysisError` when the
    signal is shorter than 8 windows of the longest length.
    """
    a = check_signal(x, fs)
    a = a - a.mean()
    freqs: list[np.ndarray] = []
    sks: list[np.ndarray] = []
    used = tuple(sorted(int(w) for w in windows))
    if not used or used[0] < 4:
        raise AnalysisError("kurtogram windows must be at least 4 samples long")
    if a.shape[0] < 8 * used[-1]:
        raise AnalysisError(f"signal too short for a kurtogram: {a.shape[0]} samples, need "
                            f"{8 * used[-1]}")
    for nw in used:
        hop = nw // 4
        s2 = np.zeros(nw // 2 + 1)
        s4 = np.zeros(nw // 2 + 1)
        frames = 0
        # Chunks of whole frames (bounded memory on long recordings; the same frames).
        step = max(1, CHUNK_SAMPLES // hop) * hop
        for c0 in range(0, a.shape[0] - nw + 1, step):
            chunk = a[c0: c0 + step + nw - hop]
            f, _, z = signal.stft(chunk, fs=fs, window="hann", nperseg=nw,
                                  noverlap=nw - hop, boundary=None, padded=False,
                                  detrend=False)
            p = np.abs(z) ** 2
            s2 += p.sum(axis=1)
            s4 += (p**2).sum(axis=1)
            frames += p.shape[1]
        m2 = s2 / frames
        with np.errstate(invalid="ignore", divide="ignore"):
            sk = (s4 / frames) / m2**2 - 2.0
        lo, hi = _band_of(f, nw, fs)
        ok = ((lo >= max(fmin, 0.0)) & (lo > 0) & (hi < fs / 2)
              & (hi - lo >= min_bandwidth_hz) & (m2 > 0))
        freqs.append(f)
        sks.append(np.where(ok, sk, np.nan))
    return Kurtogram(used, tuple(freqs), tuple(sks))


def spectral_kurtosis_band(x: np.ndarray, fs: float, *,
                           windows: tuple[int, ...] = DEFAULT_WINDOWS,
                           min_bandwidth_hz: float = 0.0, fmin: float = 0.0) -> BandChoice:
    """The (centre, bandwidth) of largest spectral kurtosis, as a band in Hz.

    Arguments as :func:`kurtogram`. A band must be wider than twice the highest envelope
    frequency you want to see (its sidebands must pass), so give ``min_bandwidth_hz``
    when you know it. Raises :class:`AnalysisError` when no band qualifies.
    """
    kg = kurtogram(x, fs, windows=windows, min_bandwidth_hz=min_bandwidth_hz, fmin=fmin)
    best: tuple[float, int, float] | None = None
    for nw, f, sk in zip(kg.windows, kg.freqs_hz, kg.kurtosis, strict=True):
        if np.all(np.isnan(sk)):
            continue
        i = int(np.nanargmax(sk))
        if best is None or sk[i] > best[0]:
            best = (float(sk[i]), nw, float(f[i]))
    if best is None:
        raise AnalysisError(f"no band of at least {min_bandwidth_hz:g} Hz fits between "
                            f"{fmin:g} Hz and {fs / 2:g} Hz; give --band LO HI")
    sk_max, nw, fc = best
    lo, hi = _band_of(fc, nw, fs)
    return BandChoice((lo, hi), sk_max, nw, "spectral kurtosis")


@dataclass(frozen=True)
class EnvelopeSpectrum:
    """The envelope's amplitude ``spectrum`` (RMS, channel unit) and the ``band``."""

    spectrum: Spectrum
    band: BandChoice


def envelope_spectrum(x: np.ndarray, fs: float, band: tuple[float, float] | None = None, *,
                      resolution_hz: float | None = None, order: int = 4,
                      min_bandwidth_hz: float = 0.0, window: str = "hann") -> EnvelopeSpectrum:
    """Envelope spectrum of ``x`` ``(n,)``: ``band`` (Hz) if given, else the band of
    largest spectral kurtosis (:func:`spectral_kurtosis_band` with ``min_bandwidth_hz``).

    The spectrum is Welch-averaged as :func:`~desktop.analysis.spectrum.amplitude_spectrum`
    (default 1 Hz resolution or finer). Raises :class:`AnalysisError` for a bad band or
    signal.
    """
    a = check_signal(x, fs)
    if band is None:
        choice = spectral_kurtosis_band(a, fs, min_bandwidth_hz=min_bandwidth_hz)
    else:
        lo, hi = check_band(band, fs)
        choice = BandChoice((lo, hi), math.nan, 0, "given")
    env = envelope(a, fs, choice.band_hz, order)
    return EnvelopeSpectrum(amplitude_spectrum(env, fs, resolution_hz=resolution_hz,
                                               window=window), choice)
