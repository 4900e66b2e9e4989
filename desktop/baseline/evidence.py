"""Envelope level at each bearing fault frequency (the ``env_*`` indicators) and the
fault location, from the diagnosis of issue 21.

The evidence is :func:`desktop.diagnosis.verdict.diagnose_span`'s: envelope spectra of up
to three demodulation bands (spectral kurtosis and a wide band), shaft and mains lines
masked, BPFO/BPFI/BSF/FTF harmonics searched within ±2 % and their SNR over the local
floor, the best band per fault frequency (Randall & Antoni, "Rolling element bearing
diagnostics — A tutorial", MSSP 25 (2011) 485–520, section 3). From it, per fault
frequency:

    level = 10^(mean of the 3 largest max(SNR_k, 0 dB) / 20)

over its harmonics ``k`` (a line claimed by another fault frequency counts 0 dB): about
1–3 on a healthy machine's noise, tens when a fault's harmonics stand clear. It is a ratio
to the local floor, so load or speed changes that scale the whole spectrum do not move
it. The verdict's ``location`` (a fault ``present`` by the diagnosis threshold) and its
shaft speed (measured, typed, or found in the spectrum within the profile's range) come
with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from desktop.analysis.bearings import BearingGeometry
from desktop.analysis.errors import AnalysisError
from desktop.diagnosis.evidence import FaultEvidence
from desktop.diagnosis.speed import ShaftSpeed
from desktop.diagnosis.verdict import diagnose_span

#: Indicator suffix → fault location word used in verdicts (issue 21's vocabulary).
LOCATION_OF = {"bpfo": "outer_race", "bpfi": "inner_race", "bsf": "ball", "ftf": "cage"}


@dataclass(frozen=True)
class Evidence:
    """``levels`` (``bpfo``… → envelope level, a ratio ≥ 1), ``lines`` (→ harmonics:
    ``order``, ``freq_hz``, ``snr_db``), the diagnosis ``location`` and the ``rpm`` used
    (None when the speed could not be found)."""

    levels: dict[str, float] = field(default_factory=dict)
    lines: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    location: str = "unknown"
    rpm: float | None = None


def envelope_level(f: FaultEvidence) -> float:
    """``10^(mean of the 3 largest clipped harmonic SNRs / 20)`` (module docstring)."""
    snrs = sorted((max(h.snr_db, 0.0) if math.isfinite(h.snr_db) and h.claimed_by is None
                   else 0.0 for h in f.harmonics), reverse=True)[:3]
    return float(10 ** (np.mean(snrs) / 20)) if snrs else 1.0


def bearing_evidence(x: np.ndarray, fs: float, geometry: BearingGeometry, *,
                     rpm: float | None = None, rpm_source: str = "profile",
                     rpm_range: tuple[float, float] | None = None) -> Evidence:
    """The envelope levels and location of ``x`` ``(n,)`` at ``fs`` Hz for a sensor on
    ``geometry`` at ``rpm`` (None: found in the spectrum within ``rpm_range`` r/min).

    A snapshot the diagnosis cannot judge (too short) gives an empty :class:`Evidence`.
    """
    speed = None if rpm is None else ShaftSpeed(float(rpm), rpm_source, 1.0)
    try:
        v = diagnose_span(x, fs, geometry, speed, rpm_range=rpm_range)
    except AnalysisError:
        return Evidence()
    levels = {f.name.lower(): envelope_level(f) for f in v.faults}
    lines = {f.name.lower(): [h.to_json() for h in f.harmonics] for f in v.faults}
    return Evidence(levels, lines, v.location, v.rpm)
