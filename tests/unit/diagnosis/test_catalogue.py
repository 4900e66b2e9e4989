"""Fault-frequency formulas against published values, and the bearing table."""

from __future__ import annotations

import pytest

from desktop.analysis.bearings import fault_frequencies
from desktop.diagnosis.catalogue import ALL_BEARINGS, CATALOGUE, fault_orders, find_bearing
from desktop.diagnosis.errors import DiagnosisError


def test_cwru_6205_multiples() -> None:
    """CWRU Bearing Data Center, 6205-2RS JEM SKF defect frequencies (multiples of
    running speed): BPFI 5.4152, BPFO 3.5848, FTF 0.39828, BSF 4.7135 (CWRU lists 2×BSF)."""
    o = fault_orders(find_bearing("6205"))
    assert o["BPFI"] == pytest.approx(5.4152, abs=2e-3)
    assert o["BPFO"] == pytest.approx(3.5848, abs=2e-3)
    assert o["FTF"] == pytest.approx(0.39828, abs=2e-4)
    assert 2 * o["BSF"] == pytest.approx(4.7135, abs=3e-3)


def test_cwru_6203_multiples() -> None:
    """CWRU fan-end 6203-2RS: BPFI 4.9469, BPFO 3.0530, FTF 0.3817, 2×BSF 3.9874."""
    o = fault_orders(find_bearing("6203-2RS"))
    assert o["BPFI"] == pytest.approx(4.9469, abs=2e-3)
    assert o["BPFO"] == pytest.approx(3.0530, abs=2e-3)
    assert o["FTF"] == pytest.approx(0.3817, abs=2e-4)
    assert 2 * o["BSF"] == pytest.approx(3.9874, abs=3e-3)


def test_ims_rexnord_za2115_at_2000_rpm() -> None:
    """Qiu et al. 2006 (IMS data): BPFO 236.4, BPFI 296.9, BSF 139.9, FTF 14.8 Hz."""
    f = fault_frequencies(find_bearing("ZA-2115"), 2000.0)
    assert f.bpfo == pytest.approx(236.4, abs=0.3)
    assert f.bpfi == pytest.approx(296.9, abs=0.3)
    assert f.bsf == pytest.approx(139.9, abs=0.3)
    assert f.ftf == pytest.approx(14.8, abs=0.1)


def test_mfpt_nice_at_25_hz() -> None:
    """MFPT fault data sets, shaft 25 Hz: BPFO 81.125 Hz, BPFI 118.875 Hz."""
    f = fault_frequencies(find_bearing("NICE"), 1500.0)
    assert f.bpfo == pytest.approx(81.125, abs=0.05)
    assert f.bpfi == pytest.approx(118.875, abs=0.05)


@pytest.mark.parametrize("geometry", ALL_BEARINGS, ids=lambda g: g.designation)
def test_every_row_is_sane_and_cited(geometry) -> None:
    o = fault_orders(geometry)
    n = geometry.balls
    assert 0 < o["FTF"] < 0.5 < o["BSF"]
    assert o["BPFO"] < n / 2 < o["BPFI"]
    assert o["BPFO"] + o["BPFI"] == pytest.approx(n)  # n·fr/2·(1−r) + n·fr/2·(1+r)
    assert len(geometry.source) > 20


def test_catalogue_rows_say_approximate() -> None:
    for g in CATALOGUE:
        if "catalogue" in g.source and "Paderborn" not in g.designation:
            assert "approximate" in g.source, g.designation


def test_find_bearing_prefix_exact_and_errors() -> None:
    assert find_bearing("6205").designation == "6205-2RS JEM SKF"
    assert find_bearing("6308").designation == "6308 SKF"
    assert find_bearing(" 30208 timken ").designation == "30208 Timken"
    assert find_bearing("6203").balls == 8  # CWRU and Paderborn rows agree
    with pytest.raises(DiagnosisError, match="ambiguous"):
        find_bearing("62")
    with pytest.raises(DiagnosisError, match="no bearing"):
        find_bearing("9999")
    with pytest.raises(DiagnosisError):
        find_bearing("")
