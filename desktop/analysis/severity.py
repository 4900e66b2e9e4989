"""Vibration severity by ISO 20816-3 (formerly ISO 10816-3): broadband velocity RMS and
its evaluation zone, overall and per time block.

Quantity. The r.m.s. of vibration *velocity* over 10–1000 Hz measured on the bearing
housings (ISO 10816-3:2009 clause 4 / ISO 20816-3:2022 clause 4; 2–1000 Hz for machines
running at 120–600 r/min, give ``band_hz=(2, 1000)`` for those). It is computed in the
frequency domain: the Welch power spectral density of the signal (Hann, mean removed per
segment, ``scaling="density"``, bin spacing ≤ 1 Hz where the block allows, at most half the
band's lower edge) is, for acceleration, divided by ``(2πf)²`` — integration, since
``v = a / (j2πf)`` — and summed over the band times the bin spacing (Parseval):

    v_rms² = Σ_{lo ≤ f_k ≤ hi} P_a(f_k) / (2π f_k)² · Δf

Units come from the channel: ``g`` (× 9.80665 m/s², the standard acceleration of gravity,
ISO 80000-3), ``m/s2`` (also ``m/s^2``, ``m/s²``), or ``mm/s`` (already velocity: the
band-limited RMS of the signal itself).

Zones: ISO 10816-3:2009 Annex A, Tables A.1 and A.2; ISO 20816-3:2022, which replaced it,
keeps these r.m.s. velocity boundaries in its Annex A (compare with your copy of the
standard before relying on a zone for acceptance). Boundaries A/B, B/C, C/D in mm/s:

    group 1 (large machines, 300 kW – 50 MW)   rigid 2.3 / 4.5 / 7.1   flexible 3.5 / 7.1 / 11.0
    group 2 (medium machines, 15 kW – 300 kW)  rigid 1.4 / 2.8 / 4.5   flexible 2.3 / 4.5 / 7.1

A: newly commissioned; B: unrestricted long-term operation; C: restricted operation until a
suitable opportunity for remedial action; D: severe enough to cause damage. A value on a
boundary belongs to the zone above it (``v = 2.3`` is B for group 1 rigid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from desktop.analysis.errors import AnalysisError
from desktop.analysis.spectrum import check_signal, segment_length
from desktop.analysis.trend import block_bounds

#: Standard acceleration of gravity, m/s² (ISO 80000-3, CGPM 1901).
G_N = 9.80665

#: (group, foundation) → zone boundaries A/B, B/C, C/D in mm/s r.m.s. (module docstring).
ZONE_LIMITS_MM_S: dict[tuple[int, str], tuple[float, float, float]] = {
    (1, "rigid"): (2.3, 4.5, 7.1),
    (1, "flexible"): (3.5, 7.1, 11.0),
    (2, "rigid"): (1.4, 2.8, 4.5),
    (2, "flexible"): (2.3, 4.5, 7.1),
}

#: The evaluation band of ISO 20816-3 for machines above 600 r/min, Hz.
ISO_BAND_HZ = (10.0, 1000.0)

#: Accepted unit spellings → (kind, factor to SI: m/s² for acceleration, mm/s for velocity).
UNITS: dict[str, tuple[str, float]] = {
    "g": ("acceleration", G_N),
    "m/s2": ("acceleration", 1.0),
    "m/s^2": ("acceleration", 1.0),
    "m/s²": ("acceleration", 1.0),
    "m/s**2": ("acceleration", 1.0),
    "mm/s": ("velocity", 1.0),
}


def parse_unit(unit: str) -> tuple[str, float]:
    """``(kind, factor)`` for a unit name (see :data:`UNITS`); case and spaces ignored.

    Raises :class:`AnalysisError` naming ``--unit`` for anything else (including empty).
    """
    key = "".join(unit.split()).lower()
    if key not in UNITS:
        said = f"is '{unit}', not one of g, m/s2, mm/s" if unit else "is not in the file"
        raise AnalysisError(f"the channel's unit {said}; give it with --unit g|m/s2|mm/s")
    return UNITS[key]


def zone_limits(group: int, foundation: str) -> tuple[float, float, float]:
    """A/B, B/C, C/D boundaries in mm/s; :class:`AnalysisError` for an unknown pair."""
    key = (int(group), foundation.lower())
    if key not in ZONE_LIMITS_MM_S:
        raise AnalysisError(f"no ISO 20816-3 limits for group {group}, foundation "
                            f"'{foundation}' (group 1|2, foundation rigid|flexible)")
    return ZONE_LIMITS_MM_S[key]


def zone_of(velocity_mm_s: float, limits: tuple[float, float, float]) -> str:
    """``"A"``…``"D"`` for a velocity RMS in mm/s (a boundary value is the upper zone)."""
    for name, bound in zip("ABC", limits, strict=True):
        if velocity_mm_s < bound:
            return name
    return "D"


def velocity_rms(x: np.ndarray, fs: float, unit: str,
                 band_hz: tuple[float, float] = ISO_BAND_HZ) -> float:
    """Band-limited velocity RMS in mm/s of ``x`` ``(n,)`` in ``unit`` (module docstring).

    The band's upper edge is clipped to ``fs/2``. Raises :class:`AnalysisError` for an
    unknown unit, a band that does not fit, or a signal too short to resolve the band's
    lower edge (it needs ``2 / lo`` seconds: 0.2 s for 10 Hz).
    """
    kind, factor = parse_unit(unit)
    a = check_signal(x, fs)
    lo, hi = float(band_hz[0]), min(float(band_hz[1]), fs / 2)
    if not (0 < lo < hi):
        raise AnalysisError(f"band {band_hz[0]:g}-{band_hz[1]:g} Hz does not fit below "
                            f"half the sample rate ({fs / 2:g} Hz)")
    seg = segment_length(a.shape[0], fs, resolution_hz=1.0)
    if fs / seg > lo / 2:
        raise AnalysisError(f"{a.shape[0] / fs:.3g} s is too short to measure down to "
                            f"{lo:g} Hz: it needs {2 / lo:.3g} s")
    f, p = signal.welch(a * factor, fs=fs, window="hann", nperseg=seg, noverlap=seg // 2,
                        detrend="constant", scaling="density")
    df = fs / seg
    keep = (f >= lo) & (f <= hi)
    pv = p[keep]
    if kind == "acceleration":
        pv = pv / (2 * math.pi * f[keep]) ** 2 * 1e6  # (m/s)²/Hz → (mm/s)²/Hz
    return float(math.sqrt(float(np.sum(pv)) * df))


@dataclass(frozen=True)
class SeverityBlock:
    """One block: seconds from the first analysed sample, velocity RMS (mm/s), zone."""

    start_s: float
    end_s: float
    velocity_rms_mm_s: float
    zone: str

    def to_json(self) -> dict[str, object]:
        return {"start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6),
                "velocity_rms_mm_s": round(self.velocity_rms_mm_s, 4), "zone": self.zone}


@dataclass(frozen=True)
class Severity:
    """Overall ``velocity_rms_mm_s`` and ``zone`` of the whole signal, the limits used,
    the evaluation ``band_hz`` actually used, and the per-block ``trend``."""

    velocity_rms_mm_s: float
    zone: str
    group: int
    foundation: str
    limits_mm_s: tuple[float, float, float]
    band_hz: tuple[float, float]
    trend: list[SeverityBlock]


def severity(x: np.ndarray, fs: float, unit: str, group: int, foundation: str,
             block_s: float = 10.0, band_hz: tuple[float, float] = ISO_BAND_HZ) -> Severity:
    """ISO 20816-3 evaluation of ``x`` ``(n,)`` in ``unit`` at ``fs`` Hz: per
    ``block_s``-second block (:func:`~desktop.analysis.trend.block_bounds`), and overall as
    the time-weighted energy mean of the blocks, ``sqrt(Σ nᵢ·vᵢ² / Σ nᵢ)`` (an RMS over
    the whole span, without transforming an hours-long recording at once).

    Raises :class:`AnalysisError` as :func:`velocity_rms`, and for an unknown
    group/foundation.
    """
    limits = zone_limits(group, foundation)
    parse_unit(unit)
    a = check_signal(x, fs)
    blocks = []
    energy = 0.0
    for i0, i1 in block_bounds(a.shape[0], fs, block_s):
        v = velocity_rms(a[i0:i1], fs, unit, band_hz)
        energy += v * v * (i1 - i0)
        blocks.append(SeverityBlock(i0 / fs, i1 / fs, v, zone_of(v, limits)))
    overall = math.sqrt(energy / a.shape[0])
    return Severity(overall, zone_of(overall, limits), int(group), foundation.lower(), limits,
                    (float(band_hz[0]), min(float(band_hz[1]), fs / 2)), blocks)
