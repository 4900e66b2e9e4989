"""Shaft speed from the data: a speed channel, tacho pulses, or the spectrum.

- **Speed channel** (r/min): its median over the span; the profile is kept so a varying
  speed can be order tracked.
- **Tacho** (a once- or K-per-revolution pulse train): rising edges by a Schmitt trigger
  at 40 %/60 % of the 1st–99th percentile range, crossing times interpolated linearly
  between samples; speed per revolution = 60 / (time of K pulses) r/min (the usual
  definition; see e.g. Randall, "Vibration-based Condition Monitoring", Wiley 2011,
  section 5.1 on order tracking).
- **Spectrum**: the shaft rate ``fr`` inside a range maximises a harmonic sum of the
  amplitude spectrum whitened by its running median (the harmonic-sum pitch estimator,
  M. Noll's harmonic product/sum spectrum, 1969, applied to 1X lines): for candidates
  ``f`` on a grid, ``S(f) = Σ_k w_k·clip(L(k·f), 0, 30)`` with ``L`` the line level in dB
  above the local floor (:func:`desktop.diagnosis.lines.line_snr`) and weights
  ``w = 1, 0.8, 0.6, 0.5`` for k = 1..4, then refined from the interpolated peaks of
  the harmonics (:func:`_refine`). Mains harmonics are masked. The confidence
  (0–1) is the share of the weighted sum of the best candidate that its 1X supports
  times how clearly it beats the best candidate that is not a multiple or submultiple.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from desktop.analysis.spectrum import amplitude_spectrum, check_signal
from desktop.diagnosis.errors import DiagnosisError
from desktop.diagnosis.lines import harmonic_mask, line_snr

#: A 1X line must stand this far above its floor (dB) to say the shaft turns.
SHAFT_LINE_DB = 6.0
_WEIGHTS = (1.0, 0.8, 0.6, 0.5)


@dataclass(frozen=True)
class ShaftSpeed:
    """``rpm`` (r/min) for the span, where it came from (``rpm_source``: ``"--rpm"``,
    ``"profile"``, ``"file variable X106RPM"``, ``"channel speed"``, ``"tacho tach"``,
    ``"spectrum"``) and a ``confidence`` in [0, 1] (1 for a measured speed). ``times_s``
    ``(k,)`` and ``rpm_profile`` ``(k,)`` give the speed over time when it was measured
    (empty otherwise)."""

    rpm: float
    rpm_source: str
    confidence: float = 1.0
    times_s: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    rpm_profile: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def variation(self) -> float:
        """(max − min)/median of the measured profile (0 when there is none)."""
        p = self.rpm_profile
        if p.size < 2 or not np.median(p) > 0:
            return 0.0
        return float((np.max(p) - np.min(p)) / np.median(p))


def speed_from_channel(values: np.ndarray, fs: float, name: str = "speed") -> ShaftSpeed:
    """Speed from a channel in r/min ``(n,)`` at ``fs`` Hz: median rpm over the finite
    samples, profile decimated to at most 2000 points. Raises :class:`DiagnosisError`
    when the channel has no finite sample."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        raise DiagnosisError(f"speed channel {name} has no values in the span")
    step = max(1, v.size // 2000)
    t = np.arange(0, v.size, step) / fs
    prof = v[::step]
    keep = np.isfinite(prof)
    rpm = float(np.median(v[ok]))
    return ShaftSpeed(max(rpm, 0.0), f"channel {name}", 1.0, t[keep], prof[keep])


def tacho_edges(pulses: np.ndarray, fs: float) -> np.ndarray:
    """Rising-edge times ``(k,)`` s of a pulse train ``(n,)`` (module docstring); empty
    when the signal has no swing."""
    p = np.asarray(pulses, dtype=np.float64)
    if not np.isfinite(p).any():
        return np.zeros(0)
    p = np.where(np.isfinite(p), p, np.nanmedian(p))
    lo, hi = np.percentile(p, [1, 99])
    if not hi > lo:
        return np.zeros(0)
    low, high = lo + 0.4 * (hi - lo), lo + 0.6 * (hi - lo)
    # Schmitt trigger: +1 above `high`, -1 below `low`; an edge is a +1 whose previous
    # non-zero label was -1 (hysteresis ignores noise between the thresholds).
    label = np.where(p > high, 1, np.where(p < low, -1, 0))
    idx = np.flatnonzero(label)
    if idx.size < 2:
        return np.zeros(0)
    lab = label[idx]
    rise = idx[1:][(lab[:-1] == -1) & (lab[1:] == 1)]
    y0, y1 = p[rise - 1], p[rise]
    step = np.where(y1 != y0, y1 - y0, 1.0)
    frac = np.where(y1 != y0, (high - y0) / step, 0.0)
    return (rise - 1 + np.clip(frac, 0.0, 1.0)) / fs


def speed_from_tacho(pulses: np.ndarray, fs: float, pulses_per_rev: int = 1,
                     name: str = "tacho") -> ShaftSpeed:
    """Speed per revolution from a tacho channel ``(n,)`` at ``fs`` Hz with
    ``pulses_per_rev`` pulses a turn: ``rpm_profile`` ``(k,)`` at the revolution mid
    times ``times_s``; ``rpm`` their median. Raises :class:`DiagnosisError` when fewer
    than two revolutions are seen."""
    if pulses_per_rev < 1:
        raise DiagnosisError(f"--pulses-per-rev must be at least 1, got {pulses_per_rev}")
    edges = tacho_edges(pulses, fs)
    if edges.size < pulses_per_rev + 1:
        raise DiagnosisError(f"tacho channel {name}: {edges.size} pulses, fewer than one "
                             f"revolution of {pulses_per_rev}")
    dt = edges[pulses_per_rev:] - edges[:-pulses_per_rev]
    mid = (edges[pulses_per_rev:] + edges[:-pulses_per_rev]) / 2
    rpm = 60.0 / dt
    return ShaftSpeed(float(np.median(rpm)), f"tacho {name}", 1.0, mid, rpm)


def _whitened_spectrum(x: np.ndarray, fs: float, fmax: float) -> tuple[np.ndarray, np.ndarray]:
    # the longest power-of-two segment leaving 2 half-overlapping averages, ≥ 0.05 Hz
    n = x.shape[0]
    nperseg = min(2 ** math.floor(math.log2(n / 1.5)), 2 ** math.ceil(math.log2(fs / 0.05)))
    spec = amplitude_spectrum(x, fs, nperseg=max(256, nperseg))
    keep = spec.freqs_hz <= fmax
    return spec.freqs_hz[keep], spec.amplitude[keep]


def shaft_line_db(freqs: np.ndarray, amp: np.ndarray, shaft_hz: float,
                  mask: np.ndarray | None = None, harmonics: int = 2) -> float:
    """Largest SNR (dB) of the first ``harmonics`` shaft lines (±2 %) in a spectrum."""
    best = -math.inf
    for k in range(1, harmonics + 1):
        f = k * shaft_hz
        if f >= freqs[-1]:
            break
        best = max(best, line_snr(freqs, amp, f, 0.02 * f, mask).snr_db)
    return best


def _refine(freqs: np.ndarray, amp: np.ndarray, fr: float, mask: np.ndarray | None
            ) -> float:
    """``fr`` refined from the peaks of its harmonics 1..4 that stand
    :data:`SHAFT_LINE_DB` clear (within ±1 %): each peak's frequency by a parabola through
    the log amplitudes of its three bins, ``f_k / k`` averaged with weight ``k`` (a higher
    harmonic pins the rate down more finely)."""
    df = float(freqs[1] - freqs[0])
    num = den = 0.0
    for k in range(1, len(_WEIGHTS) + 1):
        if k * fr * 1.01 >= freqs[-1]:
            break
        line = line_snr(freqs, amp, k * fr, max(df, 0.01 * k * fr), mask)
        if not line.snr_db >= SHAFT_LINE_DB:
            continue
        i = round((line.freq_hz - float(freqs[0])) / df)
        if not 0 < i < freqs.size - 1:
            continue
        y0, y1, y2 = np.log(np.maximum(amp[i - 1:i + 2], 1e-30))
        denom = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denom if denom != 0 else 0.0
        fk = (i + float(np.clip(shift, -0.5, 0.5))) * df + float(freqs[0])
        num += k * (fk / k)
        den += k
    return num / den if den else fr


def estimate_speed(x: np.ndarray, fs: float, rpm_range: tuple[float, float], *,
                   mains_hz: float | None = None) -> ShaftSpeed | None:
    """The shaft speed in ``rpm_range`` (r/min) that best explains the spectrum's lines
    (module docstring), or None when no candidate's 1X stands
    :data:`SHAFT_LINE_DB` above its floor. ``x`` ``(n,)`` at ``fs`` Hz.

    Raises :class:`DiagnosisError` for an empty or inverted range.
    """
    lo, hi = float(rpm_range[0]), float(rpm_range[1])
    if not (0 < lo < hi and math.isfinite(hi)):
        raise DiagnosisError(f"--rpm-range wants 0 < LO < HI, got {lo:g} {hi:g}")
    a = check_signal(x, fs)
    f_lo, f_hi = lo / 60, hi / 60
    fmax = min(fs * 0.45, (len(_WEIGHTS) + 0.5) * f_hi * 1.05)
    freqs, amp = _whitened_spectrum(a, fs, fmax)
    if freqs.size < 16:
        return None
    df = float(freqs[1] - freqs[0])
    mask = None
    if mains_hz:
        mask = harmonic_mask(freqs, mains_hz, rel_tol=0.002, bins=1.0)
    step = max(df / 3, f_lo * 1e-3)
    cands = np.arange(f_lo, f_hi + step / 2, step)
    scores = np.zeros(cands.size)
    ones = np.zeros(cands.size)
    for j, f in enumerate(cands):
        s = 0.0
        for k, w in enumerate(_WEIGHTS, start=1):
            if k * f > freqs[-1]:
                break
            snr = line_snr(freqs, amp, k * f, max(df / 2, 0.002 * k * f), mask).snr_db
            level = float(np.clip(snr, 0.0, 30.0)) if math.isfinite(snr) else 0.0
            if k == 1:
                ones[j] = level
            s += w * level
        scores[j] = s
    ok = ones >= SHAFT_LINE_DB
    if not ok.any():
        return None
    scores_ok = np.where(ok, scores, -1.0)
    best = int(np.argmax(scores_ok))
    top = scores_ok[best]
    # Prefer the lowest candidate within 10 % of the best score (a 2X family is also a
    # family of 1X's even harmonics).
    near = np.flatnonzero(scores_ok >= 0.9 * top)
    lowest = int(near[0])
    if abs(cands[best] / cands[lowest] - round(cands[best] / cands[lowest])) < 0.03:
        best = lowest
    fr = float(cands[best])
    related = np.zeros(cands.size, dtype=bool)
    for m in (1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4):
        related |= np.abs(cands - m * fr) <= max(2 * step, 0.03 * m * fr)
    alt = float(np.max(np.where(related, 0.0, scores))) if (~related).any() else 0.0
    fr = _refine(freqs, amp, fr, mask)
    share = ones[best] / max(scores[best], 1e-9)
    margin = float(np.clip((scores[best] - alt) / max(scores[best], 1e-9), 0.0, 1.0))
    confidence = float(np.clip(0.5 * margin + 0.5 * min(1.0, 3 * share), 0.0, 1.0))
    return ShaftSpeed(fr * 60, "spectrum", round(confidence, 3))
