"""Computed order tracking: resample a signal at equal shaft-angle steps, so lines that
are fixed multiples of the shaft speed (orders) stay sharp while the speed varies.

Method (Fyfe & Munck, "Analysis of computed order tracking", MSSP 11 (1997) 187–205;
Randall & Antoni, "Rolling element bearing diagnostics — A tutorial", MSSP 25 (2011)
485–520, section 3.1):

1. the shaft angle ``θ(t)`` in revolutions — from tacho edges (``k/K`` revolutions at the
   ``k``-th of ``K`` pulses a turn, joined by a monotone cubic,
   :class:`scipy.interpolate.PchipInterpolator`) or from a speed profile (the running
   integral of ``rpm/60``);
2. the signal is low-passed (zero-phase Butterworth, :func:`scipy.signal.sosfiltfilt`)
   below the Nyquist order of the slowest instant, then interpolated
   (:class:`scipy.interpolate.CubicSpline`) at the times of equal angle steps;
3. the order spectrum is the amplitude spectrum of the angle-domain signal with
   "sample rate" = samples per revolution, so its axis is in orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import interpolate, signal

from desktop.analysis.spectrum import Spectrum, amplitude_spectrum, check_signal
from desktop.diagnosis.errors import DiagnosisError


def angle_from_edges(edges_s: np.ndarray, pulses_per_rev: int, n: int, fs: float
                     ) -> np.ndarray:
    """Shaft angle in revolutions ``(n,)`` at each sample from tacho edge times
    ``(k,)`` s (step 1); extrapolated linearly beyond the first/last edge. Raises
    :class:`DiagnosisError` with fewer than 3 edges."""
    e = np.asarray(edges_s, dtype=np.float64)
    if e.size < 3:
        raise DiagnosisError("order tracking needs at least 3 tacho pulses")
    revs = np.arange(e.size) / pulses_per_rev
    interp = interpolate.PchipInterpolator(e, revs, extrapolate=False)
    t = np.arange(n) / fs
    theta = interp(t)
    first_rate = (revs[1] - revs[0]) / (e[1] - e[0])
    last_rate = (revs[-1] - revs[-2]) / (e[-1] - e[-2])
    before, after = t < e[0], t > e[-1]
    theta[before] = revs[0] - (e[0] - t[before]) * first_rate
    theta[after] = revs[-1] + (t[after] - e[-1]) * last_rate
    return theta


def angle_from_speed(rpm: np.ndarray, fs: float) -> np.ndarray:
    """Shaft angle in revolutions ``(n,)`` from a speed profile ``(n,)`` r/min at ``fs``
    Hz (trapezoidal running integral, 0 at the first sample)."""
    r = np.asarray(rpm, dtype=np.float64) / 60.0
    return np.concatenate([[0.0], np.cumsum((r[1:] + r[:-1]) / 2) / fs])


@dataclass(frozen=True)
class AngleSignal:
    """``values`` ``(m,)`` at ``samples_per_rev`` equal angle steps from ``theta0``
    revolutions; ``mean_shaft_hz`` over the span."""

    values: np.ndarray
    samples_per_rev: float
    theta0: float
    mean_shaft_hz: float


def resample_to_angle(x: np.ndarray, fs: float, theta: np.ndarray,
                      max_order: float | None = None) -> AngleSignal:
    """``x`` ``(n,)`` at ``fs`` Hz resampled at equal steps of ``theta`` ``(n,)``
    (revolutions, increasing). ``max_order`` (default: the Nyquist order of the slowest
    instant × 0.8) sets the samples per revolution (``2.5 × max_order``, a power of two).
    Raises :class:`DiagnosisError` when ``theta`` does not increase."""
    a = check_signal(x, fs)
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != a.shape:
        raise DiagnosisError(f"angle {th.shape} and signal {a.shape} differ in length")
    d = np.diff(th)
    if not (d > 0).all():
        raise DiagnosisError("the shaft angle must increase (is the machine stopping or "
                             "reversing within the span?)")
    slowest = float(np.min(d)) * fs  # revolutions per second
    nyq_order = fs / 2 / max(float(np.max(d)) * fs, 1e-12)
    top = 0.8 * nyq_order if max_order is None else min(max_order, 0.8 * nyq_order)
    spr = float(2 ** int(np.ceil(np.log2(2.5 * top))))
    cutoff = min(top * slowest, 0.45 * fs)
    sos = signal.butter(8, cutoff, btype="lowpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, a)
    grid = np.arange(th[0], th[-1], 1.0 / spr)
    t_of = np.interp(grid, th, np.arange(a.size) / fs)
    values = interpolate.CubicSpline(np.arange(a.size) / fs, y)(t_of)
    mean_hz = float((th[-1] - th[0]) / ((a.size - 1) / fs))
    return AngleSignal(values, spr, float(th[0]), mean_hz)


def order_spectrum(angle: AngleSignal, resolution_orders: float = 0.05,
                   window: str = "hann") -> Spectrum:
    """Amplitude spectrum of an angle-domain signal; ``freqs_hz`` is in **orders**
    (multiples of shaft speed), amplitude RMS in the signal's unit
    (:func:`desktop.analysis.spectrum.amplitude_spectrum`)."""
    return amplitude_spectrum(angle.values, angle.samples_per_rev,
                              resolution_hz=resolution_orders, window=window)
