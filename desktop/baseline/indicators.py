"""Condition indicators of one sensor's snapshot: the numbers a baseline learns and a
judgement compares with their limits.

For a signal ``x`` ``(n,)`` at ``fs`` Hz in ``unit`` (``g``, ``m/s2`` or ``mm/s``):

- ``acc_rms`` — AC RMS of the acceleration, in the sensor's unit (accelerometers only);
- ``vel_rms`` — velocity RMS in mm/s over 10–1000 Hz, acceleration integrated in the
  frequency domain (ISO 20816-3, :func:`desktop.analysis.severity.velocity_rms`); for a
  ``mm/s`` sensor the band-limited RMS of the signal itself. Its ISO 20816 zone is reported
  beside the indicators (:attr:`Indicators.zone`) when the machine's group and foundation
  are known;
- ``peak`` (max ``|x − mean|``), ``crest`` (peak / RMS: √2 for a sine, ≈ 3–4 for Gaussian
  noise) and ``kurtosis`` (Pearson's: 1.5 for a sine, 3 for Gaussian noise) —
  :func:`desktop.analysis.trend.block_stats`; Randall & Antoni, "Rolling element bearing
  diagnostics — A tutorial", MSSP 25 (2011) 485–520, section 3.1;
- ``band_LO_HI`` — RMS in the band (sensor unit) from the Welch PSD (Hann, 50 % overlap,
  ``scaling="density"``), ``sqrt(Σ P(f)·Δf)`` over the band (Parseval); bands
  :data:`BAND_EDGES_HZ` up to the Nyquist frequency ("octave-ish": each band about twice
  the one before above 1 kHz, the ISO band below it);
- ``env_bpfo``, ``env_bpfi``, ``env_bsf``, ``env_ftf`` — the envelope level at each
  bearing fault frequency, as the geometric mean over the first 3 harmonics of the line's
  prominence above the local floor of the envelope spectrum (``10^(mean SNR dB / 20)``, 1
  when no line stands out) from the diagnosis of issue 21: see
  :mod:`desktop.baseline.evidence`. Only when the sensor's bearing and a speed (or a
  speed range to search) are known.

Every indicator is positive (a level or a ratio), so limits are set on its logarithm
(:mod:`desktop.baseline.limits`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from desktop.analysis.bearings import BearingGeometry
from desktop.analysis.errors import AnalysisError
from desktop.analysis.severity import parse_unit, velocity_rms, zone_limits, zone_of
from desktop.analysis.trend import block_stats

#: Band edges (Hz) of the ``band_LO_HI`` indicators; the last band ends at ``fs/2``.
BAND_EDGES_HZ = (10.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)

#: Shortest snapshot accepted, s (issue 22: route snapshots of at least 0.5 s).
MIN_SNAPSHOT_S = 0.5

#: Indicators that are levels (scale with the vibration); the others are shape ratios.
LEVEL_INDICATORS = ("acc_rms", "vel_rms", "peak")
SHAPE_INDICATORS = ("crest", "kurtosis")
ENVELOPE_INDICATORS = ("env_bpfo", "env_bpfi", "env_bsf", "env_ftf")


def kind_of(name: str) -> str:
    """``"level"``, ``"shape"`` or ``"envelope"`` for an indicator name (bands are
    levels)."""
    if name in SHAPE_INDICATORS:
        return "shape"
    if name in ENVELOPE_INDICATORS:
        return "envelope"
    return "level"


@dataclass(frozen=True)
class Indicators:
    """One snapshot's indicators (``values``: name → positive float), its ISO 20816
    ``zone`` (``""`` when the machine class is unknown), the fault ``lines`` found by the
    envelope evidence (name → harmonics, for the report), the shaft ``rpm`` used and the
    diagnosis ``location`` (``""`` without a bearing)."""

    values: dict[str, float]
    zone: str = ""
    lines: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    rpm: float | None = None
    location: str = ""


def _k(f: float) -> str:
    return f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"


def band_edges(fs: float) -> list[tuple[float, float]]:
    """The ``(lo, hi)`` bands (Hz) of :data:`BAND_EDGES_HZ` below ``fs/2``: each edge
    under the Nyquist frequency starts a band, the last band ends at ``fs/2``."""
    nyq = fs / 2
    edges = [e for e in BAND_EDGES_HZ if e < nyq * 0.95] + [nyq]
    return list(itertools.pairwise(edges))


def band_name(lo: float, hi: float) -> str:
    """``band_1k_2k`` style name of a band in Hz."""
    return f"band_{_k(round(lo))}_{_k(round(hi))}"


def band_rms(x: np.ndarray, fs: float) -> dict[str, float]:
    """RMS per :func:`band_edges` band of ``x`` ``(n,)`` (module docstring), sensor unit."""
    seg = min(x.shape[0], int(2 ** math.floor(math.log2(max(fs / 4, 16)))))
    f, p = signal.welch(x, fs=fs, window="hann", nperseg=seg, noverlap=seg // 2,
                        detrend="constant", scaling="density")
    df = fs / seg
    out = {}
    for lo, hi in band_edges(fs):
        keep = (f >= lo) & (f < hi)
        out[band_name(lo, hi)] = float(math.sqrt(max(float(np.sum(p[keep])) * df, 0.0)))
    return out


def check_snapshot(x: np.ndarray, fs: float) -> np.ndarray:
    """``x`` as a finite float64 ``(n,)`` of at least :data:`MIN_SNAPSHOT_S` seconds.

    Gaps (NaN) are dropped. Raises :class:`AnalysisError` for a bad rate, shape or length.
    """
    if not (math.isfinite(fs) and fs > 0):
        raise AnalysisError(f"sample rate must be positive, got {fs}")
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise AnalysisError(f"expected one sensor's signal (n,), got shape {a.shape}")
    a = a[np.isfinite(a)]
    if a.shape[0] < MIN_SNAPSHOT_S * fs:
        raise AnalysisError(f"a snapshot needs at least {MIN_SNAPSHOT_S:g} s of signal; "
                            f"got {a.shape[0] / fs:.3g} s")
    return a


def _positive(v: float) -> float:
    """Indicators live on a log scale: clamp non-positive or NaN values to a tiny level."""
    return v if math.isfinite(v) and v > 0 else 1e-12


def compute_indicators(x: np.ndarray, fs: float, unit: str, *,
                       geometry: BearingGeometry | None = None, rpm: float | None = None,
                       rpm_range: tuple[float, float] | None = None,
                       machine_class: tuple[int, str] | None = None) -> Indicators:
    """The indicators of one snapshot ``x`` ``(n,)`` at ``fs`` Hz in ``unit``.

    With the sensor's bearing ``geometry`` and a speed (``rpm``, or found in the
    spectrum within ``rpm_range`` r/min) the ``env_*`` indicators and the diagnosis
    location come from :func:`desktop.baseline.evidence.bearing_evidence`; without a
    bearing there are none. ``machine_class`` ``(group, foundation)`` gives the ISO
    20816-3 zone. Raises :class:`AnalysisError` for a bad unit or a snapshot shorter
    than 0.5 s.
    """
    from desktop.baseline.evidence import bearing_evidence

    kind, _ = parse_unit(unit)
    a = check_snapshot(x, fs)
    stats = block_stats(a, fs)
    values: dict[str, float] = {}
    if kind == "acceleration":
        values["acc_rms"] = _positive(stats.rms)
    vel = velocity_rms(a, fs, unit, (10.0, min(1000.0, fs / 2)))
    values["vel_rms"] = _positive(vel)
    values["peak"] = _positive(stats.peak)
    values["crest"] = _positive(stats.crest_factor)
    values["kurtosis"] = _positive(stats.kurtosis)
    values.update({k: _positive(v) for k, v in band_rms(a, fs).items()})
    lines: dict[str, list[dict[str, object]]] = {}
    location = ""
    used_rpm = rpm
    if geometry is not None and (rpm is not None or rpm_range is not None):
        ev = bearing_evidence(a, fs, geometry, rpm=rpm, rpm_range=rpm_range)
        values.update({f"env_{k}": _positive(v) for k, v in ev.levels.items()})
        lines, location, used_rpm = ev.lines, ev.location, ev.rpm
    zone = ""
    if machine_class is not None:
        zone = zone_of(vel, zone_limits(*machine_class))
    return Indicators(values, zone, lines, used_rpm, location)
