"""The verdict on simulated machines: each fault found, healthy quiet, mains never a
bearing line, a stopped machine not running."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from desktop.analysis.bearings import fault_frequencies
from desktop.diagnosis.catalogue import find_bearing
from desktop.diagnosis.errors import DiagnosisError
from desktop.diagnosis.run import diagnose
from desktop.diagnosis.simulate import SimSpec, simulate
from desktop.diagnosis.speed import ShaftSpeed
from desktop.diagnosis.verdict import diagnose_span, locate


@pytest.mark.parametrize(("fault", "bearing", "rpm", "fs"), [
    ("outer_race", "6205", 1797.0, 12000.0),
    ("outer_race", "ZA-2115", 2000.0, 20000.0),
    ("inner_race", "6308", 1480.0, 25600.0),
    ("inner_race", "NICE", 1500.0, 48828.0),
    ("ball", "6206", 2950.0, 25600.0),
    ("ball", "22210", 990.0, 12000.0),
])
def test_fault_located(fault: str, bearing: str, rpm: float, fs: float) -> None:
    g = find_bearing(bearing)
    rec = simulate(SimSpec(g, rpm, fs, 3.0, fault, seed=11, fault_db=-4.0))
    v = diagnose_span(rec.x, fs, g, ShaftSpeed(rpm, "given"))
    assert v.location == fault
    name = {"outer_race": "BPFO", "inner_race": "BPFI", "ball": "BSF"}[fault]
    ev = {f.name: f for f in v.faults}[name]
    assert ev.present and ev.score > 0
    found = [h for h in ev.harmonics if h.found]
    assert len(found) >= 2 or ev.present
    for h in found:  # the lines found lie within 2 % (+ 2 bins) of the harmonics
        assert abs(h.freq_hz - h.expected_hz) <= 0.02 * h.expected_hz + 2.0


@pytest.mark.parametrize("seed", range(6))
def test_healthy_machine_is_quiet(seed: int) -> None:
    """Strong 1X/2X, gear mesh, mains and a noise-excited resonance: nothing present."""
    g = find_bearing(["6205", "6308", "ZA-2115", "30208", "22210", "6202"][seed])
    rpm = [600.0, 1500.0, 1800.0, 2400.0, 3000.0, 3600.0][seed]
    rec = simulate(SimSpec(g, rpm, 25600.0, 3.0, "healthy", seed=100 + seed,
                           mains_hz=[50.0, 60.0][seed % 2],
                           options={"shaft": 6.0, "gear": 3.0}))
    d = diagnose(rec.x, 25600.0, g, ShaftSpeed(rpm, "given"))
    assert d.overall.location == "normal"
    for v in (d.overall, *d.windows):
        assert not any(f.present for f in v.faults), [f.to_json() for f in v.faults]


def _mains_modulated(fs: float, seconds: float, seed: int) -> np.ndarray:
    """A stopped rig next to a rectifier: sensor noise, 60 Hz pickup with harmonics, and
    a noise band whose amplitude follows the mains harmonics (so the envelope spectrum
    shows 60, 120, 180, 240 … Hz)."""
    rng = np.random.default_rng(seed)
    n = int(fs * seconds)
    t = np.arange(n) / fs
    sos = signal.butter(4, [3000, 5000], btype="bandpass", fs=fs, output="sos")
    carrier = signal.sosfilt(sos, rng.standard_normal(n))
    am = 1 + 0.6 * sum(np.sin(2 * np.pi * 60 * k * t + k) for k in range(1, 9)) / 3
    pickup = sum(0.5 / k * np.sin(2 * np.pi * 60 * k * t) for k in range(1, 6))
    return 0.3 * rng.standard_normal(n) + 3 * carrier * am + pickup


def test_mains_harmonic_never_taken_for_bpfo() -> None:
    """BPFO placed on the 240 Hz mains harmonic (4th): never present, and the machine
    with no shaft line is not running."""
    g = find_bearing("6205")
    fr = 240.0 / fault_frequencies(g, 60.0).bpfo  # BPFO = 240 Hz exactly
    x = _mains_modulated(12000.0, 4.0, 5)
    v = diagnose_span(x, 12000.0, g, ShaftSpeed(fr * 60, "profile"))
    bpfo = {f.name: f for f in v.faults}["BPFO"]
    assert v.mains_hz == 60.0
    assert not bpfo.present
    assert not any(f.present for f in v.faults)
    assert v.location == "not_running"


@pytest.mark.parametrize("seed", range(3))
def test_stopped_machine_not_running(seed: int) -> None:
    g = find_bearing("6308")
    rec = simulate(SimSpec(g, 1480.0, 20000.0, 3.0, "stopped", seed=200 + seed,
                           mains_hz=50.0))
    v = diagnose_span(rec.x, 20000.0, g, ShaftSpeed(1480.0, "machine profile"))
    assert v.location == "not_running"
    assert not any(f.present for f in v.faults)


def test_measured_zero_speed_is_not_running() -> None:
    rng = np.random.default_rng(0)
    v = diagnose_span(rng.standard_normal(20000), 10000.0, find_bearing("6205"),
                      ShaftSpeed(0.0, "tacho tach"))
    assert v.location == "not_running" and v.faults == ()


def test_speed_estimated_when_not_given() -> None:
    g = find_bearing("6206")
    rec = simulate(SimSpec(g, 1750.0, 25600.0, 3.0, "outer_race", seed=4, fault_db=-3))
    v = diagnose_span(rec.x, 25600.0, g, None, rpm_range=(1500, 2000))
    assert v.rpm_source == "spectrum"
    assert v.rpm == pytest.approx(1750.0, rel=5e-3)
    assert v.location == "outer_race"


def test_windows_cover_the_span() -> None:
    g = find_bearing("6205")
    rec = simulate(SimSpec(g, 1797.0, 12000.0, 3.4, "inner_race", seed=2, fault_db=0))
    d = diagnose(rec.x, 12000.0, g, ShaftSpeed(1797.0, "given"), window_s=1.0,
                 start_s=5.0)
    assert [(round(w.start_s, 3), round(w.end_s, 3)) for w in d.windows] == [
        (5.0, 6.0), (6.0, 7.0), (7.0, 8.4)]
    doc = d.to_json()
    assert {"location", "faults", "rpm", "rpm_source", "windows"} <= set(doc)
    assert doc["location"] == "inner_race"


def test_too_short_and_bad_window() -> None:
    g = find_bearing("6205")
    with pytest.raises(DiagnosisError, match="too short"):
        diagnose_span(np.zeros(1000), 12000.0, g, ShaftSpeed(1800, "x"))
    with pytest.raises(DiagnosisError):
        diagnose(np.zeros(20000), 12000.0, g, ShaftSpeed(1800, "x"), window_s=0)


def test_locate_prefers_non_cage() -> None:
    from desktop.diagnosis.evidence import FaultEvidence

    cage = FaultEvidence("FTF", True, 50.0, ())
    ball = FaultEvidence("BSF", True, 20.0, ())
    assert locate((cage, ball)) == "ball"
    assert locate((cage,)) == "cage"
    assert locate((FaultEvidence("BPFO", False, 0.0, ()),)) == "normal"


def test_long_job_protocol_and_verdict_rows() -> None:
    from desktop.core.tasks import Cancelled, TaskState
    from desktop.diagnosis.run import verdict_rows

    g = find_bearing("6205")
    rec = simulate(SimSpec(g, 1797.0, 12000.0, 3.0, "outer_race", seed=5, fault_db=0))
    seen: list[float] = []
    task = TaskState(lambda p, m, i: seen.append(p))
    d = diagnose(rec.x, 12000.0, g, ShaftSpeed(1797.0, "given"), task=task)
    assert seen[0] == 0.0 and seen == sorted(seen) and len(seen) == 4
    rows = verdict_rows(d)
    assert [set(r) for r in rows] == [{"start_s", "end_s", "class", "probability",
                                       "location", "score"}] * 3
    assert rows[0]["class"] == rows[0]["location"]
    stop = TaskState()
    stop.cancel()
    with pytest.raises(Cancelled):
        diagnose(rec.x, 12000.0, g, ShaftSpeed(1797.0, "given"), task=stop)
