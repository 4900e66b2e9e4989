"""Bearing defect frequencies against hand-computed catalogue values."""

from __future__ import annotations

import math

import pytest

from desktop.analysis.bearings import (
    PRESETS,
    BearingGeometry,
    fault_frequencies,
    fault_markers,
    find_preset,
    parse_geometry,
)
from desktop.analysis.errors import AnalysisError


def test_6205_matches_the_cwru_table_in_orders_of_shaft_speed() -> None:
    # CWRU Bearing Data Center, drive end 6205-2RS JEM SKF, multiples of running speed:
    # BPFI 5.4152, BPFO 3.5848, FTF 0.39828, BSF 4.7135 (their BSF is 2x the spin rate).
    f = fault_frequencies(find_preset("6205"), 60.0)  # 1 Hz shaft: values are orders
    assert f.shaft_hz == 1.0
    assert f.bpfi == pytest.approx(5.4152, abs=5e-4)
    assert f.bpfo == pytest.approx(3.5848, abs=5e-4)
    assert f.ftf == pytest.approx(0.39828, abs=5e-5)
    assert 2 * f.bsf == pytest.approx(4.7135, abs=5e-4)


def test_6203_matches_the_cwru_fan_end_table() -> None:
    # CWRU fan end 6203-2RS JEM SKF: BPFI 4.9469, BPFO 3.0530, FTF 0.3817, BSF 3.9874 (2x).
    f = fault_frequencies(find_preset("6203"), 60.0)
    assert f.bpfi == pytest.approx(4.9469, abs=5e-4)
    assert f.bpfo == pytest.approx(3.0530, abs=5e-4)
    assert f.ftf == pytest.approx(0.3817, abs=5e-4)
    assert 2 * f.bsf == pytest.approx(3.9874, abs=5e-4)


def test_hand_computed_6205_at_1797_rpm() -> None:
    # fr = 29.95 Hz, d/D = 0.3126/1.537 = 0.203383:
    # BPFI = 4.5*29.95*1.203383 = 162.186; BPFO = 4.5*29.95*0.796617 = 107.364;
    # FTF = 29.95/2*0.796617 = 11.929; BSF = 2.458413*29.95*(1-0.041365) = 70.584.
    f = fault_frequencies(find_preset("6205-2RS"), 1797)
    assert f.bpfi == pytest.approx(162.186, abs=2e-3)
    assert f.bpfo == pytest.approx(107.364, abs=2e-3)
    assert f.ftf == pytest.approx(11.929, abs=2e-3)
    assert f.bsf == pytest.approx(70.584, abs=2e-3)


def test_published_rig_presets() -> None:
    # XJTU-SY (LDK UER204) at 2100 rpm: BPFO 107.91 Hz, BPFI 172.09 Hz (Wang et al. 2020).
    f = fault_frequencies(find_preset("UER204"), 2100)
    assert f.bpfo == pytest.approx(107.91, abs=0.01)
    assert f.bpfi == pytest.approx(172.09, abs=0.01)
    # IMS (Rexnord ZA-2115) at 2000 rpm: BPFO 236.4 Hz (Qiu et al. 2006).
    assert fault_frequencies(find_preset("za-2115"), 2000).bpfo == pytest.approx(236.4, abs=0.1)


def test_contact_angle_shrinks_the_effective_ratio() -> None:
    flat = fault_frequencies(BearingGeometry(10, 1.0, 5.0, 0.0), 600)
    tilted = fault_frequencies(BearingGeometry(10, 1.0, 5.0, 60.0), 600)
    assert flat.bpfi == pytest.approx(5 * 10 * 1.2)
    assert tilted.bpfi == pytest.approx(5 * 10 * 1.1)  # cos 60° halves d/D
    assert tilted.bpfo == pytest.approx(5 * 10 * 0.9)


def test_preset_lookup_by_prefix_refuses_ambiguous_and_unknown() -> None:
    assert find_preset("6205").designation == "6205-2RS JEM SKF"
    assert find_preset(" 6205-2rs jem skf ").designation == "6205-2RS JEM SKF"
    with pytest.raises(AnalysisError, match=r"ambiguous.*6205.*6203"):
        find_preset("620")
    with pytest.raises(AnalysisError, match=r"no bearing preset '7205'.*UER204"):
        find_preset("7205")
    assert len({p.designation for p in PRESETS}) == len(PRESETS)


def test_geometry_parsing_and_validation() -> None:
    g = parse_geometry("9, 0.3126, 1.537, 0")
    assert (g.balls, g.ball_diameter, g.pitch_diameter, g.contact_angle_deg) == (
        9, 0.3126, 1.537, 0.0)
    for bad in ("9,0.3,1.5", "9,a,1.5,0", "9,2,1.5,0", "0,0.3,1.5,0", "9,0.3,1.5,95",
                "9,nan,1.5,0"):
        with pytest.raises(AnalysisError):
            parse_geometry(bad)
    with pytest.raises(AnalysisError, match="rpm"):
        fault_frequencies(g, 0)


def test_markers_carry_harmonics_and_sidebands() -> None:
    g = find_preset("6205")
    markers = {m.name: m.freq_hz for m in fault_markers(g, 1772)}
    f = fault_frequencies(g, 1772)
    assert markers["BPFI"] == pytest.approx(f.bpfi)
    assert markers["2xBPFI"] == pytest.approx(2 * f.bpfi)
    assert markers["BPFI+1X"] == pytest.approx(f.bpfi + f.shaft_hz)
    assert markers["BPFI-1X"] == pytest.approx(f.bpfi - f.shaft_hz)
    assert markers["3xBPFO"] == pytest.approx(3 * f.bpfo)
    assert markers["BSF+FTF"] == pytest.approx(f.bsf + f.ftf)
    assert {"FTF", "BSF", "2xBSF", "1X", "2X"} <= markers.keys()
    freqs = [m.freq_hz for m in fault_markers(g, 1772, fmax=200)]
    assert freqs == sorted(freqs) and max(freqs) <= 200 and not math.isnan(freqs[0])
