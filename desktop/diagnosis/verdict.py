"""The verdict for a span of one vibration channel: running state, shaft speed, fault
evidence for BPFO/BPFI/BSF/FTF and the fault location, for the whole span and per window.

Policy (docs/diagnosis.md):

1. **Lines that are never bearing lines.** Mains (50 or 60 Hz, detected from the raw and
   the envelope spectrum, :func:`desktop.diagnosis.lines.detect_mains`) and all its
   harmonics, and the shaft harmonics ``k·1X``, are masked in the envelope spectrum.
2. **Envelope spectra at the file's own rate**, for up to three demodulation bands: the
   two bands of largest spectral kurtosis that overlap by less than half (Antoni &
   Randall, MSSP 20 (2006) 308–331; estimator in :mod:`desktop.analysis.envelope`), and
   the wide band ``fs/8 … 0.45·fs`` — or the one band the user typed. Each band is at
   least ``2 × (2·BPFI + 1X)`` wide so the second BPFI harmonic and its sidebands pass
   (window lengths 8–512 samples in the kurtogram). Without a typed band the same up to
   three bands are also chosen on the **cepstrally pre-whitened** signal
   (:mod:`desktop.diagnosis.prewhiten`: shaft, gear and mains lines and the resonances'
   colouring removed, so a weak fault resonance beside a strong housing resonance is no
   longer drowned out; Borghesani et al., MSSP 36 (2013) 370–384) and judged the same way.
   Per fault frequency the band with the largest score is kept
   (:mod:`desktop.diagnosis.evidence`); a fault whose lines another present fault's
   sideband comb explains is then not present (:mod:`desktop.diagnosis.attribution`).
3. **Location**: ``not_running`` when no fault is present, no 1X/2X line stands 13 dB
   over its floor and the raw spectrum has fewer than 2 discrete lines 15 dB over its
   floor besides mains (a stopped machine shows sensor noise and mains pickup only), or
   when a measured speed is under 30 r/min; otherwise the present fault with the largest
   score names the location (a present FTF only when nothing else is present: the cage
   rate also modulates a ball fault); ``normal`` when none is present; ``unknown`` when
   the shaft speed is not known and cannot be found in the spectrum.
4. **Varying speed**: with a shaft angle (tacho or speed channel) and a speed that moves
   more than 2 % over the span, the envelope is order tracked
   (:mod:`desktop.diagnosis.order_tracking`) and the evidence searched in orders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from desktop.analysis.bearings import BearingGeometry, fault_frequencies
from desktop.analysis.envelope import DEFAULT_WINDOWS, check_band, envelope, kurtogram
from desktop.analysis.spectrum import amplitude_spectrum, check_signal
from desktop.diagnosis.attribution import attribute
from desktop.diagnosis.errors import DiagnosisError
from desktop.diagnosis.evidence import LINE_DB, FaultEvidence, fault_evidence
from desktop.diagnosis.lines import (
    MAINS_HZ,
    detect_mains,
    harmonic_mask,
    line_threshold_db,
)
from desktop.diagnosis.order_tracking import AngleSignal, order_spectrum, resample_to_angle
from desktop.diagnosis.prewhiten import cepstral_prewhiten
from desktop.diagnosis.speed import ShaftSpeed, estimate_speed, shaft_line_db

LOCATIONS = ("normal", "outer_race", "inner_race", "ball", "cage", "not_running", "unknown")
#: Speed range searched when nothing says the speed (r/min).
DEFAULT_RPM_RANGE = (300.0, 6000.0)
#: A discrete line in the raw spectrum: this far (dB) over the running median.
RUNNING_LINE_DB = 15.0
#: A 1X or 2X line this far (dB) over its floor says the shaft turns.
RUNNING_SHAFT_DB = 13.0
#: Measured speeds below this (r/min) mean the machine is stopped.
STOPPED_RPM = 30.0
#: Relative speed change over a span above which the evidence is order tracked.
ORDER_TRACK_VARIATION = 0.02
#: Shortest span judged, seconds.
MIN_SPAN_S = 0.25


@dataclass(frozen=True)
class Verdict:
    """One span's verdict: ``location`` (one of :data:`LOCATIONS`), ``faults`` (evidence
    per fault frequency, empty when the speed is unknown), ``rpm``/``rpm_source``/
    ``rpm_confidence``, ``mains_hz`` (None when none detected), ``shaft_db`` (1X/2X SNR),
    ``domain`` (``"hz"`` or ``"orders"``) and ``start_s``/``end_s``."""

    location: str
    faults: tuple[FaultEvidence, ...]
    rpm: float | None
    rpm_source: str | None
    rpm_confidence: float | None
    mains_hz: float | None
    shaft_db: float | None
    domain: str = "hz"
    start_s: float = 0.0
    end_s: float = 0.0
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """The ``diagnose --json`` object for this span (without ``windows``)."""
        def num(v: float | None, nd: int = 3) -> float | None:
            return None if v is None or not math.isfinite(v) else round(v, nd)
        return {"location": self.location, "faults": [f.to_json() for f in self.faults],
                "rpm": num(self.rpm, 2), "rpm_source": self.rpm_source,
                "rpm_confidence": num(self.rpm_confidence), "mains_hz": self.mains_hz,
                "shaft_snr_db": num(self.shaft_db, 2), "domain": self.domain,
                "start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6),
                "notes": list(self.notes)}


def envelope_resolution(duration_s: float, shaft_hz: float) -> float:
    """Finest bin spacing (Hz) asked of the envelope spectra over a span of ``T`` s:
    ``max(2/T, 0.1)``; the Welch segment is the longest power of two that still leaves
    2 half-overlapping averages (at most 2/3 of the span). A discrete line gains 3 dB
    over the noise per halving of the bin spacing, while the threshold for fewer
    averages rises less (:func:`line_threshold_db`: 11.4 dB at 2, 8 dB from 7)."""
    return max(2.0 / duration_s, 0.1)


def _raw_spectrum(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    dur = x.size / fs
    spec = amplitude_spectrum(x, fs, resolution_hz=max(2.0 / dur, 0.25))
    return spec.freqs_hz, spec.amplitude


def discrete_lines(freqs: np.ndarray, amp: np.ndarray, mains_hz: float | None,
                   fmin: float = 5.0) -> int:
    """How many peaks of ``amp`` ``(m,)`` stand :data:`RUNNING_LINE_DB` over a running
    median (61 bins) above ``fmin``, mains harmonics (and the Hann main lobe around
    them) left out."""
    if amp.size < 64:
        return 0
    floor = ndimage.median_filter(amp, size=61, mode="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        level = 20 * np.log10(amp / floor)
    level = np.where(np.isfinite(level), level, 0.0)
    peaks, _ = sps.find_peaks(level, height=RUNNING_LINE_DB)
    if mains_hz:  # drop mains peaks and their Hann main lobes (±2 bins), never zero bins
        peaks = peaks[~harmonic_mask(freqs, mains_hz, rel_tol=0.004, bins=2.5)[peaks]]
    return int(np.count_nonzero(freqs[peaks] >= fmin))


def _candidate_bands(x: np.ndarray, fs: float, min_bw: float) -> list[tuple[float, float]]:
    min_bw = min(min_bw, fs / 4)
    fmin = min(500.0, fs / 10)
    bands: list[tuple[float, float]] = []
    try:
        kg = kurtogram(x, fs, windows=(8, *DEFAULT_WINDOWS), min_bandwidth_hz=min_bw,
                       fmin=fmin)
        cands = []
        for nw, f, sk in zip(kg.windows, kg.freqs_hz, kg.kurtosis, strict=True):
            for i in np.flatnonzero(np.isfinite(sk)):
                cands.append((float(sk[i]), f[i] - fs / nw, f[i] + fs / nw))
        cands.sort(reverse=True)
        for _, lo, hi in cands:
            if all(min(hi, b) - max(lo, a) < 0.5 * (hi - lo) for a, b in bands):
                bands.append((float(lo), float(hi)))
            if len(bands) == 2:
                break
    except Exception:  # too short for a kurtogram: the wide band alone
        bands = []
    wide = (max(fs / 8, fmin), 0.45 * fs)
    if wide[1] - wide[0] >= min_bw * 0.5:
        bands.append(wide)
    return bands


def _envelope_spectrum(x: np.ndarray, fs: float, band: tuple[float, float],
                       resolution: float) -> tuple[np.ndarray, np.ndarray, int]:
    env = envelope(x, fs, band)
    # the finest power-of-two segment that still leaves 2 half-overlapping averages
    longest = 2 ** math.floor(math.log2(x.size / 1.5))
    finest = 2 ** math.ceil(math.log2(fs / resolution))
    spec = amplitude_spectrum(env, fs, nperseg=max(256, min(longest, finest)))
    return spec.freqs_hz, spec.amplitude, spec.segments


def _best_per_fault(all_bands: list[list[FaultEvidence]]) -> tuple[FaultEvidence, ...]:
    best: dict[str, FaultEvidence] = {}
    for evs in all_bands:
        for ev in evs:
            cur = best.get(ev.name)
            if cur is None or (ev.present, ev.score) > (cur.present, cur.score):
                best[ev.name] = ev
    return tuple(best[n] for n in ("BPFO", "BPFI", "BSF", "FTF") if n in best)


def locate(faults: tuple[FaultEvidence, ...]) -> str:
    """The location the present faults name (module docstring, point 3): the present
    fault of largest score, a cage (FTF) only when it is the one present; ``normal``
    when none is."""
    present = [f for f in faults if f.present]
    if not present:
        return "normal"
    non_cage = [f for f in present if f.name != "FTF"]
    pick = max(non_cage or present, key=lambda f: f.score)
    return pick.location


def diagnose_span(x: np.ndarray, fs: float, geometry: BearingGeometry,
                  speed: ShaftSpeed | None, *, rpm_range: tuple[float, float] | None = None,
                  band: tuple[float, float] | None = None, mains_hz: float | None = None,
                  theta: np.ndarray | None = None, start_s: float = 0.0) -> Verdict:
    """The verdict for ``x`` ``(n,)`` at ``fs`` Hz (module docstring).

    ``speed``: the known speed (None: estimate it in ``rpm_range``, default
    :data:`DEFAULT_RPM_RANGE`); ``band``: a typed demodulation band in Hz (None: chosen);
    ``mains_hz``: a mains frequency already found (None: detect it here); ``theta``
    ``(n,)``: the shaft angle in revolutions for order tracking. Raises
    :class:`DiagnosisError` for a span shorter than :data:`MIN_SPAN_S` or a bad band.
    """
    a = check_signal(x, fs)
    if a.size < MIN_SPAN_S * fs or a.size < 4096:
        raise DiagnosisError(f"span too short to judge: {a.size / fs:.3f} s "
                             f"(need {max(MIN_SPAN_S, 4096 / fs):.2f} s)")
    a = a - a.mean()
    end_s = start_s + a.size / fs
    if band is not None:
        band = check_band(band, fs)
    notes: list[str] = []
    rf, ra = _raw_spectrum(a, fs)
    mains = detect_mains(rf, ra, shaft_hz=speed.rpm / 60 if speed and speed.rpm > 0 else None)
    mains_f = mains_hz if mains_hz is not None else mains.freq_hz

    if speed is not None and speed.confidence >= 1.0 and speed.rpm < STOPPED_RPM:
        return Verdict("not_running", (), speed.rpm, speed.rpm_source, speed.confidence,
                       mains_f, None, start_s=start_s, end_s=end_s,
                       notes=(f"measured speed {speed.rpm:.0f} r/min",))
    if speed is None:
        speed = estimate_speed(a, fs, rpm_range or DEFAULT_RPM_RANGE, mains_hz=mains_f)
        if speed is None:
            notes.append("no 1X line found in the speed range")
    shaft_hz = speed.rpm / 60 if speed is not None else None
    # a shaft harmonic within 1.5 % of a mains harmonic cannot be told from it: masked;
    # so are 50/60 Hz and their 2nd harmonic when no mains family was detected (a lone
    # pickup line is exact to ±0.2 %, at least a bin)
    mask_raw = harmonic_mask(rf, mains_f, rel_tol=0.015) if mains_f else np.zeros(
        rf.shape, dtype=bool)
    for f_m in MAINS_HZ:
        mask_raw = harmonic_mask(rf, f_m, rel_tol=0.002, bins=1.0, fmax=2.05 * f_m,
                                 mask=mask_raw)
    shaft_db = shaft_line_db(rf, ra, shaft_hz, mask_raw) if shaft_hz else None
    lines = discrete_lines(rf, ra, mains_f)

    faults: tuple[FaultEvidence, ...] = ()
    domain = "hz"
    if shaft_hz is not None:
        ff = fault_frequencies(geometry, speed.rpm)  # type: ignore[union-attr]
        freqs_hz = {"BPFO": ff.bpfo, "BPFI": ff.bpfi, "BSF": ff.bsf, "FTF": ff.ftf}
        min_bw = 2 * (2 * ff.bpfi + shaft_hz)
        if band is not None:
            candidates = [(a, band)]
        else:
            # the raw signal's bands and the pre-whitened signal's bands (point 2)
            white = cepstral_prewhiten(a)
            candidates = ([(a, b) for b in _candidate_bands(a, fs, min_bw)]
                          + [(white, b) for b in _candidate_bands(white, fs, min_bw)])
        tracked = (theta is not None and speed is not None
                   and speed.variation > ORDER_TRACK_VARIATION)
        per_band = []
        for sig, b in candidates:
            if tracked:
                assert theta is not None
                per_band.append(_orders_evidence(sig, fs, b, theta, freqs_hz, shaft_hz))
                domain = "orders"
            else:
                per_band.append(_hz_evidence(sig, fs, b, freqs_hz, shaft_hz, mains_f))
        faults = attribute(_best_per_fault(per_band), shaft_hz, ff.ftf)
    location = locate(faults) if faults else ("unknown" if shaft_hz is None else "normal")
    running = (shaft_db is not None and shaft_db >= RUNNING_SHAFT_DB) or lines >= 2
    if location in ("normal", "unknown") and not running:
        location = "not_running"
        notes.append(f"no 1X/2X line and {lines} discrete line(s) besides mains")
    rpm = speed.rpm if speed is not None else None
    return Verdict(location, faults, rpm, speed.rpm_source if speed else None,
                   speed.confidence if speed else None, mains_f, shaft_db, domain,
                   start_s, end_s, tuple(notes))


def _hz_evidence(a: np.ndarray, fs: float, band: tuple[float, float],
                 freqs_hz: dict[str, float], shaft_hz: float, mains_f: float | None
                 ) -> list[FaultEvidence]:
    res = envelope_resolution(a.size / fs, shaft_hz)
    ef, ea, segments = _envelope_spectrum(a, fs, band, res)
    top = min(band[1] - band[0], fs / 2)
    keep = ef <= top
    ef, ea = ef[keep], ea[keep]
    # ±1 bin: the shoulders of a masked line are no local maxima, so never lines
    # (desktop.diagnosis.lines.line_snr).
    mask = harmonic_mask(ef, shaft_hz, rel_tol=0.003, bins=1.0)
    env_mains = detect_mains(ef, ea, shaft_hz=shaft_hz).freq_hz
    for fm in {mains_f, env_mains} - {None}:
        mask = harmonic_mask(ef, fm, rel_tol=0.003, bins=1.0, mask=mask)  # type: ignore[arg-type]
    return fault_evidence(ef, ea, freqs_hz, shaft_hz, mask, band_hz=band,
                          line_db=line_threshold_db(LINE_DB, segments))


def _orders_evidence(a: np.ndarray, fs: float, band: tuple[float, float],
                     theta: np.ndarray, freqs_hz: dict[str, float], shaft_hz: float
                     ) -> list[FaultEvidence]:
    env = envelope(a, fs, band)
    max_order = 1.3 * 4 * max(freqs_hz.values()) / shaft_hz
    ang: AngleSignal = resample_to_angle(env, fs, theta, max_order=max_order)
    revs = ang.values.size / ang.samples_per_rev
    spec = order_spectrum(ang, resolution_orders=max(4.0 / revs, 1 / 6))
    orders = {k: v / shaft_hz for k, v in freqs_hz.items()}
    mask = harmonic_mask(spec.freqs_hz, 1.0, rel_tol=0.003, bins=1.0)
    return fault_evidence(spec.freqs_hz, spec.amplitude, orders, 1.0, mask,
                          to_hz=ang.mean_shaft_hz, band_hz=band,
                          line_db=line_threshold_db(LINE_DB, spec.segments))


__all__ = ["DEFAULT_RPM_RANGE", "LOCATIONS", "MAINS_HZ", "Verdict", "diagnose_span",
           "discrete_lines", "locate"]
