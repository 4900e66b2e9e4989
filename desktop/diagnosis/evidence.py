"""Fault-frequency evidence for BPFO, BPFI, BSF and FTF in one envelope (or order)
spectrum, with a documented threshold for ``present``.

For each fault frequency ``f`` (Hz, or orders on an order-tracked spectrum):

- **Harmonics.** The first 3 harmonics ``k·f`` (4 for BSF: a ball defect strikes both
  races, so the even harmonics of BSF carry most of its energy — Randall & Antoni,
  "Rolling element bearing diagnostics — A tutorial", MSSP 25 (2011) 485–520, section
  2.2) are searched within **±2 %** (the slip of real bearings, *ibid.* section 2.1),
  at least one bin. The line's SNR is its peak over the median of the surrounding bins
  (:func:`desktop.diagnosis.lines.line_snr`). Bins of mains and shaft harmonics are
  masked by the caller and never count.
- **Sidebands** (*ibid.* section 2.2): BPFI harmonics ± 1X (the inner race turns through
  the load zone), BSF harmonics ± FTF (the ball is carried round by the cage).
- **Present** when ``≥ 2`` harmonics stand :data:`LINE_DB` above the floor (for BSF one
  of them even: 2× or 4×BSF, the rate at which a ball defect strikes the races) (8 dB for
  a spectrum of 7 or more Welch averages; more for fewer, by the chi-square quantiles of
  :func:`desktop.diagnosis.lines.line_threshold_db`: about 10.4 dB at 3, 14.4 at 1), or one
  harmonic stands :data:`STRONG_DB` above it with both its characteristic sidebands
  above :data:`LINE_DB` (BPFI ± 1X, BSF ± FTF).
- **One line, one fault.** A peak nearer (relatively) to a harmonic of another fault
  frequency than to its own is *claimed* by that one and does not count here — unless
  the two expected lines lie within 1 % of each other (then the line counts for both and
  the other harmonics decide).
- **Score** = the sum of the SNRs (dB) of the (best 3) harmonics above :data:`LINE_DB`;
  0 when nothing stands out. Sidebands support ``present`` but do not add to the score
  (in a busy envelope spectrum a ±2 % window around a sideband often holds some other
  line).

The thresholds were set on the development block of simulated machines and the CWRU
drive-end sensor only (docs/diagnosis.md); with Welch-averaged noise the chance that a
±2 % window of pure noise peaks 8 dB over the median is well under 1 % per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from desktop.diagnosis.lines import line_snr

#: Harmonic SNR (dB) a line needs to count (module docstring).
LINE_DB = 8.0
#: A single harmonic this strong counts with both its characteristic sidebands.
STRONG_DB = 14.0
#: Search window half-width as a fraction of the expected frequency (slip).
SEARCH_REL = 0.02
#: The four fault frequencies and the location each names.
LOCATION_OF = {"BPFO": "outer_race", "BPFI": "inner_race", "BSF": "ball", "FTF": "cage"}
HARMONICS = {"BPFO": 3, "BPFI": 3, "BSF": 4, "FTF": 3}


@dataclass(frozen=True)
class LineEvidence:
    """One searched line: ``order`` (harmonic number), ``freq_hz`` (the peak found, Hz),
    ``expected_hz`` and ``snr_db`` (−inf: masked or off the spectrum)."""

    order: int
    freq_hz: float
    expected_hz: float
    snr_db: float
    claimed_by: str | None = None

    threshold_db: float = LINE_DB

    @property
    def found(self) -> bool:
        """Above the threshold (:data:`LINE_DB` for a well-averaged spectrum) and not
        nearer another fault frequency's harmonic."""
        return self.snr_db >= self.threshold_db and self.claimed_by is None

    def to_json(self) -> dict[str, object]:
        snr = self.snr_db if math.isfinite(self.snr_db) else None
        out: dict[str, object] = {"order": self.order, "freq_hz": round(self.freq_hz, 3),
                                  "snr_db": None if snr is None else round(snr, 2)}
        if self.claimed_by:
            out["claimed_by"] = self.claimed_by
        return out


@dataclass(frozen=True)
class FaultEvidence:
    """Evidence for one fault frequency: ``name`` (BPFO …), ``present``, ``score`` (dB
    sum, module docstring), the searched ``harmonics`` and ``sidebands`` (name, line),
    the demodulation ``band_hz`` and ``explained_by`` (the fault whose sideband comb
    explains these lines, :mod:`desktop.diagnosis.attribution`; then not present)."""

    name: str
    present: bool
    score: float
    harmonics: tuple[LineEvidence, ...]
    sidebands: tuple[tuple[str, LineEvidence], ...] = ()
    band_hz: tuple[float, float] | None = None
    explained_by: str | None = None
    resolution_hz: float = 0.0

    @property
    def location(self) -> str:
        return LOCATION_OF[self.name]

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "present": self.present, "score": round(self.score, 2),
                "harmonics": [h.to_json() for h in self.harmonics],
                "sidebands": [dict(name=n, **s.to_json()) for n, s in self.sidebands
                              if s.found],
                "band_hz": None if self.band_hz is None else [round(b, 1)
                                                             for b in self.band_hz],
                "explained_by": self.explained_by}


def _search(freqs: np.ndarray, amp: np.ndarray, f: float, mask: np.ndarray | None,
            order: int, to_hz: float, line_db: float) -> LineEvidence:
    line = line_snr(freqs, amp, f, SEARCH_REL * f, mask)
    return LineEvidence(order, line.freq_hz * to_hz, f * to_hz, line.snr_db, None, line_db)


def fault_evidence(freqs: np.ndarray, amp: np.ndarray, fault_freqs: dict[str, float],
                   shaft: float, mask: np.ndarray | None = None, *, to_hz: float = 1.0,
                   band_hz: tuple[float, float] | None = None,
                   line_db: float = LINE_DB) -> list[FaultEvidence]:
    """Evidence for each of ``fault_freqs`` (``{"BPFO": f, …}`` in the unit of ``freqs``)
    in the envelope spectrum ``amp`` ``(m,)`` over ``freqs`` ``(m,)``.

    ``shaft`` is 1X in the same unit (for the BPFI sidebands), ``mask`` ``(m,)`` marks
    bins that are never bearing lines, ``to_hz`` converts the unit to Hz for the report
    (1 for Hz; the mean shaft rate for orders). Lines above the last bin are left out.
    ``line_db`` replaces :data:`LINE_DB` for a spectrum with fewer averages
    (:func:`desktop.diagnosis.lines.line_threshold_db`); :data:`STRONG_DB` moves with it.
    """
    strong_db = STRONG_DB + (line_db - LINE_DB)
    out: list[FaultEvidence] = []
    top = float(freqs[-1])
    ftf = fault_freqs.get("FTF", math.nan)
    for name, f in fault_freqs.items():
        harmonics = []
        sidebands: list[tuple[str, LineEvidence]] = []
        for k in range(1, HARMONICS[name] + 1):
            fk = k * f
            if fk * (1 + SEARCH_REL) >= top:
                break
            h = _search(freqs, amp, fk, mask, k, to_hz, line_db)
            harmonics.append(h)
            pair: tuple[float, str] | None = None
            if name == "BPFI":
                pair = (shaft, "1X")
            elif name == "BSF" and math.isfinite(ftf):
                pair = (ftf, "FTF")
            if pair is not None and h.found:
                d, label = pair
                for sign, s in ((-1, "-"), (1, "+")):
                    fs_ = fk + sign * d
                    if 0 < fs_ < top * 0.98:
                        line = _search(freqs, amp, fs_, mask, k, to_hz, line_db)
                        sidebands.append((f"{k}x{name}{s}{label}", line))
        harmonics = [_claim(h, name, fault_freqs, to_hz) for h in harmonics]
        found = [h for h in harmonics if h.found]
        side_found = [s for _, s in sidebands if s.found]
        # one strong harmonic counts only with BOTH its sidebands (amplitude modulation
        # is symmetric; one line beside it may belong to any other comb)
        paired = bool(found) and sum(1 for s in side_found if s.order == found[0].order) >= 2
        present = len(found) >= 2 or (
            len(found) == 1 and found[0].snr_db >= strong_db and paired)
        if name == "BSF" and present and not any(h.order % 2 == 0 for h in found):
            # a ball strikes both races: its family is led by 2×BSF; odd harmonics alone
            # are some other periodic source (another shaft, a belt, a fan)
            present = False
        best3 = sorted((h.snr_db for h in found), reverse=True)[:3]
        score = sum(best3)
        out.append(FaultEvidence(name, present, float(score), tuple(harmonics),
                                 tuple(sidebands), band_hz, None,
                                 float(freqs[1] - freqs[0]) * to_hz))
    return out


def _claim(h: LineEvidence, name: str, fault_freqs: dict[str, float], to_hz: float
           ) -> LineEvidence:
    """``h`` marked ``claimed_by`` another fault frequency when its peak lies nearer (in
    relative terms, within the ±2 % search) to that one's harmonic than to its own: one
    spectral line is evidence for one fault only (2×BPFO ≈ 3×BSF on a 6205)."""
    if not h.snr_db >= h.threshold_db:
        return h
    own = abs(h.freq_hz - h.expected_hz) / h.expected_hz
    for other, f in fault_freqs.items():
        if other == name:
            continue
        for j in range(1, HARMONICS[other] + 2):
            e = j * f * to_hz
            d = abs(h.freq_hz - e) / e
            if abs(e - h.expected_hz) < 0.01 * h.expected_hz:
                continue  # indistinguishable expectations: the line counts for both
            if d < own and d <= SEARCH_REL:
                return LineEvidence(h.order, h.freq_hz, h.expected_hz, h.snr_db,
                                    f"{j}x{other}" if j > 1 else other, h.threshold_db)
    return h
