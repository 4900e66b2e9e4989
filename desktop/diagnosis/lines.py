"""Spectral lines against a local noise floor, and the lines that are never bearing lines.

A line's **SNR** is ``20·log10(peak / floor)`` dB, where ``peak`` is the largest local
maximum (a bin at least as high as both neighbours) inside the search window and
``floor`` the median amplitude of the bins around it (the window itself and masked bins
left out). The median ignores a few other lines, so it
is the local noise floor in the sense of Randall & Antoni, "Rolling element bearing
diagnostics — A tutorial", MSSP 25 (2011) 485–520, section 3.3 (a discrete line must
stand clear of the surrounding random part of the envelope spectrum).

Lines that must never count as bearing lines (issue 21): the **mains** frequency (50 or
60 Hz, detected from the data) and its harmonics, and the **shaft** harmonics ``k·1X``.
:func:`harmonic_mask` marks their bins; :func:`line_snr` skips masked bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Mains candidates, Hz (IEC 60038 standard frequencies).
MAINS_HZ = (50.0, 60.0)
#: A mains line must stand this far above its floor (dB) to count for detection.
MAINS_LINE_DB = 10.0
#: Harmonics of the mains frequency looked at when detecting it.
MAINS_HARMONICS = 8


@dataclass(frozen=True)
class Line:
    """The strongest unmasked bin near an expected frequency: ``freq_hz`` (the bin's
    frequency, in the spectrum's unit: Hz or orders), ``amplitude`` (the spectrum's unit),
    ``floor`` (median of the surrounding bins) and ``snr_db``. ``snr_db`` is ``-inf``
    when every bin of the window is masked or off the spectrum."""

    expected: float
    freq_hz: float
    amplitude: float
    floor: float
    snr_db: float


def bin_window(freqs: np.ndarray, lo: float, hi: float) -> slice:
    """Indices of ``freqs`` (ascending, evenly spaced) in ``[lo, hi]`` as a slice."""
    i0 = int(np.searchsorted(freqs, lo, side="left"))
    i1 = int(np.searchsorted(freqs, hi, side="right"))
    return slice(i0, max(i0, i1))


def local_floor(freqs: np.ndarray, amp: np.ndarray, center: float, exclude: float,
                width: float, mask: np.ndarray | None = None) -> float:
    """Median of ``amp`` over ``center ± width`` without ``center ± exclude`` and masked
    bins; NaN when fewer than 4 bins remain. Same units as ``amp``."""
    df = float(freqs[1] - freqs[0])
    s = bin_window(freqs, max(center - width, 2 * df), center + width)
    f = freqs[s]
    keep = np.abs(f - center) > exclude
    if mask is not None:
        keep &= ~mask[s]
    vals = amp[s][keep]
    return float(np.median(vals)) if vals.size >= 4 else math.nan


def line_snr(freqs: np.ndarray, amp: np.ndarray, expected: float, tol: float,
             mask: np.ndarray | None = None, floor_width: float | None = None) -> Line:
    """The line nearest ``expected`` (same unit as ``freqs``): the largest unmasked local
    maximum in ``expected ± (tol + one bin)`` and its SNR against :func:`local_floor` over
    ``expected ± floor_width`` (default ``max(8·tol, 10 bins)``).

    ``freqs`` ``(m,)`` ascending and evenly spaced, ``amp`` ``(m,)`` amplitudes (not dB),
    ``mask`` ``(m,)`` bool (True: never a bearing line).
    """
    df = float(freqs[1] - freqs[0])
    tol = tol + df  # one bin more: a line's peak bin may sit just outside ± tol
    width = max(8 * tol, 10 * df) if floor_width is None else floor_width
    s = bin_window(freqs, expected - tol, expected + tol)
    none = Line(expected, expected, 0.0, math.nan, -math.inf)
    if s.stop <= s.start or expected - tol < 2 * df:
        return none
    a = amp[s].copy()
    # Only local maxima count: the shoulder of a strong masked line (its Hann main lobe
    # is 4 bins wide) falls away from the line and is never a peak of its own.
    i_all = np.arange(s.start, s.stop)
    left = amp[np.maximum(i_all - 1, 0)]
    right = amp[np.minimum(i_all + 1, amp.size - 1)]
    a[(a < left) | (a < right)] = -np.inf
    if mask is not None:
        a[mask[s]] = -np.inf
    if not np.isfinite(a).any():
        return none
    i = int(np.argmax(a))
    floor = local_floor(freqs, amp, expected, tol + df, width, mask)
    peak = float(a[i])
    if not (math.isfinite(floor) and floor > 0 and peak > 0):
        return Line(expected, float(freqs[s][i]), peak, floor, -math.inf)
    return Line(expected, float(freqs[s][i]), peak, floor, 20 * math.log10(peak / floor))


def harmonic_mask(freqs: np.ndarray, fundamental: float, *, rel_tol: float = 0.003,
                  bins: float = 1.0, fmax: float | None = None,
                  mask: np.ndarray | None = None) -> np.ndarray:
    """Bool mask ``(m,)`` of bins within ``max(rel_tol·k·f, bins·Δf)`` of every harmonic
    ``k·fundamental`` (k ≥ 1) up to ``fmax`` (default the last bin); ORed into ``mask``
    when given."""
    out = np.zeros(freqs.shape, dtype=bool) if mask is None else mask.copy()
    if not (math.isfinite(fundamental) and fundamental > 0):
        return out
    df = float(freqs[1] - freqs[0])
    top = float(freqs[-1]) if fmax is None else min(fmax, float(freqs[-1]))
    for k in range(1, int(top / fundamental) + 1):
        f = k * fundamental
        half = max(rel_tol * f, bins * df)
        out[bin_window(freqs, f - half, f + half)] = True
    return out


@dataclass(frozen=True)
class Mains:
    """The detected mains frequency (50 or 60 Hz; None when neither shows), the number of
    its harmonics above :data:`MAINS_LINE_DB` and their SNRs (dB, harmonic 1 first)."""

    freq_hz: float | None
    lines_found: int
    snr_db: tuple[float, ...]


def detect_mains(freqs: np.ndarray, amp: np.ndarray, *, min_lines: int = 2,
                 shaft_hz: float | None = None) -> Mains:
    """Which mains family (50 or 60 Hz and harmonics up to :data:`MAINS_HARMONICS`)
    stands in the spectrum ``amp`` ``(m,)`` over ``freqs`` ``(m,)`` Hz.

    A family counts when its fundamental and at least ``min_lines`` of its lines in all
    (±0.3 %, at least one bin), or ``min_lines + 1`` harmonics without the fundamental,
    are :data:`MAINS_LINE_DB` above the local floor; the family with more lines (then
    the larger SNR sum) wins. Harmonics that coincide with a shaft harmonic of ``shaft_hz``
    (within 1 %) are not counted: a 1800 rpm shaft's 2× is not mains.
    """
    best = Mains(None, 0, ())
    best_key = (0, 0.0)
    fmax = float(freqs[-1])
    for fm in MAINS_HZ:
        snrs = []
        for k in range(1, MAINS_HARMONICS + 1):
            f = k * fm
            if f > fmax * 0.95:
                break
            if shaft_hz and abs(f / shaft_hz - round(f / shaft_hz)) * shaft_hz < 0.01 * f:
                snrs.append(-math.inf)
                continue
            snrs.append(line_snr(freqs, amp, f, 0.003 * f).snr_db)
        found = sum(1 for s in snrs if s >= MAINS_LINE_DB)
        key = (found, float(sum(s for s in snrs if s >= MAINS_LINE_DB)))
        fundamental = bool(snrs) and snrs[0] >= MAINS_LINE_DB
        if (found >= min_lines + 1 or (fundamental and found >= min_lines)) \
                and key > best_key:
            best, best_key = Mains(fm, found, tuple(snrs)), key
    return best


def line_threshold_db(base_db: float, segments: int, reference_segments: int = 7,
                      p_bin: float = 1e-4) -> float:
    """The line threshold for a Welch spectrum of ``segments`` averages: ``base_db`` at
    ``reference_segments`` or more, raised by the difference of the ``1 − p_bin`` quantile
    of a chi-square with ``2K`` degrees of freedom over its median (the noise-only
    distribution of a bin's power, Welch 1967) between ``K = segments`` and the reference.
    A single-segment spectrum (K = 1) needs about 6.4 dB more than an average of 7."""
    from scipy import stats

    def ratio_db(k: int) -> float:
        dof = 2 * max(1, k)
        return 10 * math.log10(stats.chi2.ppf(1 - p_bin, dof) / stats.chi2.median(dof))

    return base_db + max(0.0, ratio_db(segments) - ratio_db(reference_segments))
