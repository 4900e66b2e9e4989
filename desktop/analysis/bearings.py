"""Rolling-element bearing defect frequencies from shaft speed and geometry.

Kinematic formulas (outer race stationary, inner race turning with the shaft at
``fr = rpm / 60`` Hz, no slip), as given by Randall & Antoni, "Rolling element bearing
diagnostics — A tutorial", Mechanical Systems and Signal Processing 25 (2011) 485–520,
eqs. (1)–(4), and in SKF's bearing-frequency notes:

    FTF  = fr/2 · (1 − d/D · cos φ)                 cage (fundamental train)
    BPFO = n·fr/2 · (1 − d/D · cos φ)               ball pass, outer race
    BPFI = n·fr/2 · (1 + d/D · cos φ)               ball pass, inner race
    BSF  = D·fr/(2d) · (1 − (d/D · cos φ)²)         ball spin

``n`` rolling elements of diameter ``d`` on pitch diameter ``D`` (any one length unit:
only ``d/D`` matters), contact angle ``φ``. Real bearings slip: measured fault lines sit
1–2 % off these values (Randall & Antoni 2011, section 2.1), so match with a tolerance.

Note on BSF: some tables (the CWRU Bearing Data Center's among them) list ``2·BSF``, the
rate at which a ball defect strikes *both* races; here ``BSF`` is the spin frequency above
and ``2xBSF`` is one of the markers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from desktop.analysis.errors import AnalysisError


@dataclass(frozen=True)
class BearingGeometry:
    """``balls`` rolling elements of ``ball_diameter`` on ``pitch_diameter`` (same unit),
    ``contact_angle_deg`` degrees; ``designation`` and ``source`` say what it is and where
    the figures come from."""

    balls: int
    ball_diameter: float
    pitch_diameter: float
    contact_angle_deg: float = 0.0
    designation: str = "custom"
    source: str = "given on the command line"

    def __post_init__(self) -> None:
        if self.balls < 1:
            raise AnalysisError(f"a bearing needs at least one ball, got {self.balls}")
        if not (0 < self.ball_diameter < self.pitch_diameter):
            raise AnalysisError(
                "bearing geometry needs 0 < ball diameter < pitch diameter, got "
                f"d={self.ball_diameter}, D={self.pitch_diameter}")
        if not (0 <= self.contact_angle_deg < 90):
            raise AnalysisError(
                f"contact angle must be in [0, 90) degrees, got {self.contact_angle_deg}")

    def to_json(self) -> dict[str, object]:
        return {"designation": self.designation, "balls": self.balls,
                "ball_diameter": self.ball_diameter, "pitch_diameter": self.pitch_diameter,
                "contact_angle_deg": self.contact_angle_deg, "source": self.source}


_CWRU = ("Case Western Reserve University Bearing Data Center, bearing specifications "
         "(engineering.case.edu/bearingdatacenter), inches")

#: Geometry presets. Bearing makers' catalogues give bore/OD/width but rarely the ball set,
#: so each figure here comes from a published test rig that documents it.
PRESETS: tuple[BearingGeometry, ...] = (
    BearingGeometry(9, 0.3126, 1.537, 0.0, "6205-2RS JEM SKF",
                    _CWRU + "; the CWRU drive-end bearing"),
    BearingGeometry(8, 0.2656, 1.122, 0.0, "6203-2RS JEM SKF",
                    _CWRU + "; the CWRU fan-end bearing"),
    BearingGeometry(8, 7.92, 34.55, 0.0, "UER204 LDK",
                    "Wang, Lei, Li, Li, 'A hybrid prognostics approach for estimating "
                    "remaining useful life of rolling element bearings', IEEE Trans. "
                    "Reliability 69 (2020) 401-412 (XJTU-SY data set), mm"),
    BearingGeometry(16, 0.331, 2.815, 15.17, "ZA-2115 Rexnord",
                    "Qiu, Lee, Lin, Yu, 'Wavelet filter-based weak signature detection "
                    "method and its application on rolling element bearing prognostics', "
                    "J. Sound Vib. 289 (2006) 1066-1090 (IMS data set; double-row, per row), "
                    "inches"),
)


def _norm(text: str) -> str:
    return "".join(text.split()).upper()


def find_preset(name: str) -> BearingGeometry:
    """The preset whose designation is ``name`` or starts with it (case and spaces ignored):
    ``6205`` → ``6205-2RS JEM SKF``.

    Raises :class:`AnalysisError` (listing the presets) when none or several match.
    """
    wanted = _norm(name)
    listing = ", ".join(p.designation for p in PRESETS)
    if not wanted:
        raise AnalysisError(f"empty bearing name; presets: {listing}")
    exact = [p for p in PRESETS if _norm(p.designation) == wanted]
    if exact:
        return exact[0]
    hits = [p for p in PRESETS if _norm(p.designation).startswith(wanted)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise AnalysisError(f"bearing '{name}' is ambiguous: "
                            f"{', '.join(p.designation for p in hits)}")
    raise AnalysisError(f"no bearing preset '{name}'; presets: {listing} "
                        "(or give --geometry N,d,D,ANGLE)")


def parse_geometry(text: str) -> BearingGeometry:
    """``"9,0.3126,1.537,0"`` → 9 balls, d, D (same unit), contact angle in degrees.

    Raises :class:`AnalysisError` for anything else.
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise AnalysisError(f"--geometry wants N,d,D,ANGLE (4 numbers), got '{text}'")
    try:
        n = int(parts[0])
        d, pitch, angle = (float(p) for p in parts[1:])
    except ValueError as exc:
        raise AnalysisError(f"--geometry wants N,d,D,ANGLE numbers, got '{text}'") from exc
    if not all(math.isfinite(v) for v in (d, pitch, angle)):
        raise AnalysisError(f"--geometry values must be finite, got '{text}'")
    return BearingGeometry(n, d, pitch, angle)


@dataclass(frozen=True)
class FaultFrequencies:
    """Defect frequencies in Hz for one shaft speed."""

    shaft_hz: float
    ftf: float
    bsf: float
    bpfo: float
    bpfi: float


def fault_frequencies(geometry: BearingGeometry, rpm: float) -> FaultFrequencies:
    """FTF, BSF, BPFO and BPFI in Hz at ``rpm`` (formulas in the module docstring).

    Raises :class:`AnalysisError` when ``rpm`` is not positive and finite.
    """
    if not (math.isfinite(rpm) and rpm > 0):
        raise AnalysisError(f"shaft speed must be a positive number of rpm, got {rpm}")
    fr = rpm / 60.0
    ratio = geometry.ball_diameter / geometry.pitch_diameter * math.cos(
        math.radians(geometry.contact_angle_deg))
    n = geometry.balls
    return FaultFrequencies(
        shaft_hz=fr,
        ftf=fr / 2 * (1 - ratio),
        bsf=geometry.pitch_diameter / (2 * geometry.ball_diameter) * fr * (1 - ratio**2),
        bpfo=n * fr / 2 * (1 - ratio),
        bpfi=n * fr / 2 * (1 + ratio),
    )


@dataclass(frozen=True)
class Marker:
    """A named frequency to draw on a spectrum: ``BPFI``, ``2xBPFI``, ``BPFI+1X``…"""

    name: str
    freq_hz: float


def fault_markers(geometry: BearingGeometry, rpm: float, harmonics: int = 3,
                  fmax: float | None = None) -> list[Marker]:
    """Markers for a spectrum, in ascending frequency.

    ``1X`` (shaft) and its harmonics; ``FTF``; ``BSF`` with ``kxBSF`` and cage sidebands
    ``BSF±FTF`` (a ball defect is modulated at the cage rate); ``BPFO`` and ``kxBPFO``;
    ``BPFI`` and ``kxBPFI`` each with shaft sidebands ``±1X`` (an inner-race defect turns
    with the shaft through the load zone) — Randall & Antoni 2011, section 2.2.
    ``harmonics`` counts the fundamental; markers above ``fmax`` Hz are left out.
    """
    f = fault_frequencies(geometry, rpm)
    out: list[Marker] = [Marker("FTF", f.ftf)]
    for k in range(1, harmonics + 1):
        pre = "" if k == 1 else f"{k}x"
        out.append(Marker(f"{k}X", k * f.shaft_hz))
        out.append(Marker(f"{pre}BPFO", k * f.bpfo))
        out.append(Marker(f"{pre}BSF", k * f.bsf))
        out.append(Marker(f"{pre}BPFI", k * f.bpfi))
        out.append(Marker(f"{pre}BPFI-1X", k * f.bpfi - f.shaft_hz))
        out.append(Marker(f"{pre}BPFI+1X", k * f.bpfi + f.shaft_hz))
    out.append(Marker("BSF-FTF", f.bsf - f.ftf))
    out.append(Marker("BSF+FTF", f.bsf + f.ftf))
    if fmax is not None:
        out = [m for m in out if m.freq_hz <= fmax]
    return sorted(out, key=lambda m: m.freq_hz)
