"""One set of lines, one fault: which present fault frequency explains the others.

A local fault fills the envelope spectrum with more than its own harmonics: an inner-race
fault with the comb ``k·BPFI ± m·1X`` (the defect passes through the load zone once a
revolution), a ball fault with ``k·BSF ± m·FTF``, an outer-race fault with weaker
``k·BPFO ± 1X`` (Randall & Antoni, "Rolling element bearing diagnostics — A tutorial",
MSSP 25 (2011) 485–520, section 2.2, Fig. 5). Such a comb line can fall within ±2 % of
another fault frequency's harmonic and make that fault look present as well.

Rule: for two present faults F and G, G's found harmonics that lie within
``0.3 % + 2 bins`` of a line of F's family, and are no more than 3 dB stronger than the
peak of F they would come from — F's *found* harmonic peaks ``p_k`` and the sidebands
``p_k ± m·s`` (``s`` = 1X with ``|m| ≤ 3``
for BPFI and ``|m| ≤ 1`` for BPFO, ``s`` = FTF with ``|m| ≤ 2`` for BSF) — are
*explained* by F. If fewer than 2 of G's lines are left unexplained while F keeps 2 of
its own when G explains what it can, G is explained by F and no longer present. When
each explains the other, the larger score stays present.
"""

from __future__ import annotations

from dataclasses import replace

from desktop.diagnosis.evidence import FaultEvidence

_SIDEBANDS = {"BPFI": ("shaft", 3), "BPFO": ("shaft", 1), "BSF": ("ftf", 2), "FTF": ("", 0)}


def family(f: FaultEvidence, shaft_hz: float, ftf_hz: float
           ) -> list[tuple[float, float]]:
    """``(frequency Hz, SNR dB of the peak it comes from)`` for ``f``'s family (module
    docstring), from its found lines."""
    peaks = [(h.freq_hz, h.snr_db) for h in f.harmonics if h.found]
    out = list(peaks)
    kind, m_max = _SIDEBANDS[f.name]
    spacing = shaft_hz if kind == "shaft" else ftf_hz if kind == "ftf" else 0.0
    if spacing > 0:
        for p, snr in peaks:
            out += [(p + m * spacing, snr) for m in range(-m_max, m_max + 1) if m]
    return [x for x in out if x[0] > 0]


def _unexplained(g: FaultEvidence, fam: list[tuple[float, float]], df: float) -> int:
    df = max(df, g.resolution_hz)
    left = 0
    for h in g.harmonics:
        if not h.found:
            continue
        tol = 0.003 * h.freq_hz + 2 * df
        # A peak both faults found themselves (expectations within 1 %) explains nothing;
        # nor does a weaker line explain a stronger one (sidebands are weaker than their
        # carrier): at most 3 dB above the peak of the family it would belong to.
        if not any(1e-9 < abs(h.freq_hz - x) <= tol and h.snr_db <= snr + 3.0
                   for x, snr in fam):
            left += 1
    return left


def attribute(faults: tuple[FaultEvidence, ...], shaft_hz: float, ftf_hz: float
              ) -> tuple[FaultEvidence, ...]:
    """``faults`` with those explained by another present fault (module docstring) set
    not present and ``explained_by`` that fault's name (shaft and FTF in Hz)."""
    present = [f for f in faults if f.present]
    if len(present) < 2:
        return faults
    fams = {f.name: family(f, shaft_hz, ftf_hz) for f in present}
    explained: dict[str, str] = {}
    for g in present:
        for f in present:
            if f is g:
                continue
            g_left = _unexplained(g, fams[f.name], f.resolution_hz)
            f_left = _unexplained(f, fams[g.name], g.resolution_hz)
            if g_left >= 2:
                continue
            if f_left >= 2 or f.score > g.score:
                explained[g.name] = f.name
                break
    # never let two faults explain each other away: keep the stronger
    for g_name, f_name in list(explained.items()):
        if explained.get(f_name) == g_name:
            weaker = min((g_name, f_name), key=lambda n: next(
                x.score for x in present if x.name == n))
            explained.pop(f_name if weaker == g_name else g_name, None)
    return tuple(replace(f, present=False, explained_by=explained[f.name])
                 if f.name in explained else f for f in faults)
