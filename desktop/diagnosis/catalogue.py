"""Bearing presets for diagnosis: the published test-rig bearings of
:data:`desktop.analysis.bearings.PRESETS` plus a table of common deep-groove, double-row
and tapered designations.

Where each figure comes from (the ``source`` of every row says it):

- **Published ball sets.** Test-rig papers that document the internal geometry: CWRU
  (6205, 6203), IMS (Rexnord ZA-2115), XJTU-SY (LDK UER204) — in
  :mod:`desktop.analysis.bearings` — and here the MFPT "NICE" bearing (MFPT Society
  fault data sets, E. Bechhoefer, 2013: 8 rollers, d = 0.235 in, D = 1.245 in, 0°) and the
  Paderborn 6203 (C. Lessmeier et al., "Condition monitoring of bearing damage in
  electromechanical drive systems…", PHM Society European Conference 2016: 8 balls,
  d = 6.75 mm, D = 28.55 mm).
- **Catalogue rows.** Makers' catalogues (SKF "Rolling bearings" PUB BU/P1 17000;
  Timken "Tapered roller bearing catalog"; Rexnord/Link-Belt mounted bearings) give the
  boundary dimensions (bore ``d_b`` and outside diameter ``D_o``) but not the ball set. For
  these rows the pitch diameter is the mean ``(d_b + D_o)/2`` and the number and size of
  the rolling elements are the usual ones for the series; each such row says
  **approximate** in its source. The fault frequencies depend mostly on the number of
  elements, and a wrong count moves every line: check the row against the maker's
  defect-frequency factors (SKF Bearing Calculator, Timken) before trusting a verdict,
  or give ``--geometry N,d,D,ANGLE``.

A double-row bearing is given per row (the two rows run at the same frequencies). A
tapered roller bearing's contact angle is the cup (outer race) half angle.
"""

from __future__ import annotations

from desktop.analysis.bearings import PRESETS, BearingGeometry
from desktop.diagnosis.errors import DiagnosisError

_SKF = "SKF Rolling bearings catalogue (PUB BU/P1 17000), boundary dimensions"
_TIMKEN = "Timken tapered roller bearing catalogue, boundary dimensions"
_APPROX = ("; pitch = (bore + OD)/2, element count and size typical for the series: "
           "approximate, check the maker's defect-frequency factors")


def _dg(designation: str, bore: float, od: float, balls: int, ball: float,
        maker: str = _SKF, angle: float = 0.0) -> BearingGeometry:
    return BearingGeometry(balls, ball, (bore + od) / 2, angle, designation,
                           f"{maker} {bore:g}x{od:g} mm{_APPROX}; mm")


#: The extended table (module docstring): published rigs first, then catalogue rows.
CATALOGUE: tuple[BearingGeometry, ...] = (
    BearingGeometry(8, 0.235, 1.245, 0.0, "NICE MFPT",
                    "MFPT Society condition-based maintenance fault database "
                    "(E. Bechhoefer, 2013), bearing geometry sheet; inches"),
    BearingGeometry(8, 6.75, 28.55, 0.0, "6203 Paderborn",
                    "Lessmeier, Kimotho, Zimmer, Sextro, PHM Society European Conference "
                    "2016 (Paderborn KAt data set); mm"),
    # deep groove, 62xx (light) and 63xx (medium) series
    _dg("6200 SKF", 10, 30, 7, 4.76),
    _dg("6201 SKF", 12, 32, 7, 5.95),
    _dg("6202 SKF", 15, 35, 8, 5.95),
    _dg("6204 SKF", 20, 47, 8, 7.94),
    _dg("6206 SKF", 30, 62, 9, 9.53),
    _dg("6207 SKF", 35, 72, 9, 11.11),
    _dg("6208 SKF", 40, 80, 9, 12.7),
    _dg("6209 SKF", 45, 85, 10, 12.7),
    _dg("6210 SKF", 50, 90, 10, 12.7),
    _dg("6212 SKF", 60, 110, 10, 15.88),
    _dg("6304 SKF", 20, 52, 7, 9.53),
    _dg("6305 SKF", 25, 62, 7, 11.51),
    _dg("6306 SKF", 30, 72, 8, 12.3),
    _dg("6308 SKF", 40, 90, 8, 15.08),
    _dg("6310 SKF", 50, 110, 8, 19.05),
    # double row: spherical roller bearings (per row)
    _dg("22210 SKF", 50, 90, 17, 10.0, angle=9.0),
    _dg("22215 SKF", 75, 130, 19, 13.5, angle=9.0),
    _dg("22310 SKF", 50, 110, 14, 16.0, angle=12.0),
    # tapered roller bearings (cup half angle)
    _dg("30205 Timken", 25, 52, 15, 6.5, _TIMKEN, angle=14.0),
    _dg("30208 Timken", 40, 80, 17, 9.0, _TIMKEN, angle=15.0),
    _dg("30210 Timken", 50, 90, 20, 9.0, _TIMKEN, angle=15.6),
    _dg("32208 Timken", 40, 80, 19, 8.5, _TIMKEN, angle=15.0),
    _dg("32210 Timken", 50, 90, 21, 8.5, _TIMKEN, angle=15.6),
)

#: Every designation :func:`find_bearing` knows, published rigs first.
ALL_BEARINGS: tuple[BearingGeometry, ...] = PRESETS + CATALOGUE


def _norm(text: str) -> str:
    return "".join(text.split()).upper()


def find_bearing(name: str) -> BearingGeometry:
    """The bearing whose designation is ``name`` or starts with it (case and spaces
    ignored; ``6205`` → ``6205-2RS JEM SKF``, ``ZA-2115`` → the IMS bearing).

    An exact designation wins; a prefix must match one row. Raises
    :class:`DiagnosisError` naming the candidates when none or several match.
    """
    wanted = _norm(name)
    listing = ", ".join(b.designation.split()[0] for b in ALL_BEARINGS)
    if not wanted:
        raise DiagnosisError(f"empty bearing designation; known: {listing}")
    exact = [b for b in ALL_BEARINGS if _norm(b.designation) == wanted]
    if exact:
        return exact[0]
    hits = [b for b in ALL_BEARINGS if _norm(b.designation).startswith(wanted)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        # "6203" is both the CWRU fan-end row and the Paderborn row: the first published
        # rig wins only when every hit has the same element count and ratio.
        first = hits[0]
        if all(h.balls == first.balls and abs(
                h.ball_diameter / h.pitch_diameter
                - first.ball_diameter / first.pitch_diameter) < 0.01 for h in hits):
            return first
        raise DiagnosisError(f"bearing '{name}' is ambiguous: "
                             f"{', '.join(h.designation for h in hits)}")
    raise DiagnosisError(f"no bearing '{name}'; known: {listing} "
                         "(or give --geometry N,d,D,ANGLE)")


def fault_orders(geometry: BearingGeometry) -> dict[str, float]:
    """Fault frequencies as multiples of shaft speed (orders): ``{"BPFO", "BPFI", "BSF",
    "FTF"}`` from :func:`desktop.analysis.bearings.fault_frequencies` at 60 rpm (1 Hz)."""
    from desktop.analysis.bearings import fault_frequencies

    f = fault_frequencies(geometry, 60.0)
    return {"BPFO": f.bpfo, "BPFI": f.bpfi, "BSF": f.bsf, "FTF": f.ftf}
