"""Line SNR against the local floor, mains detection, thresholds and attribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop.analysis.spectrum import amplitude_spectrum
from desktop.diagnosis.attribution import attribute
from desktop.diagnosis.evidence import FaultEvidence, LineEvidence, fault_evidence
from desktop.diagnosis.lines import (
    detect_mains,
    harmonic_mask,
    line_snr,
    line_threshold_db,
)

FS = 4000.0


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = amplitude_spectrum(x, FS, resolution_hz=0.5)
    return s.freqs_hz, s.amplitude


def _noise(seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(FS * seconds))


def test_line_snr_finds_a_sine_over_noise() -> None:
    t = np.arange(int(FS * 20)) / FS
    f, a = _spectrum(_noise() + 0.2 * np.sin(2 * np.pi * 123.4 * t))
    line = line_snr(f, a, 121.0, 0.02 * 121.0)
    assert line.freq_hz == pytest.approx(123.4, abs=0.5)
    assert line.snr_db > 15


def test_masked_line_and_its_shoulders_never_count() -> None:
    t = np.arange(int(FS * 20)) / FS
    f, a = _spectrum(_noise() + 2.0 * np.sin(2 * np.pi * 120.0 * t))
    mask = harmonic_mask(f, 60.0)  # 120 Hz is the 2nd harmonic
    line = line_snr(f, a, 119.0, 0.02 * 119.0, mask)
    assert line.snr_db < 8  # the shoulder bins next to 120 Hz are no local maxima


def test_noise_rarely_passes_the_threshold() -> None:
    f, a = _spectrum(_noise(seed=3))
    snrs = [line_snr(f, a, c, 0.02 * c).snr_db for c in np.linspace(50, 1500, 200)]
    assert np.mean(np.asarray(snrs) >= 8.0) < 0.02


def test_threshold_rises_for_few_averages() -> None:
    assert line_threshold_db(8.0, 7) == 8.0
    assert line_threshold_db(8.0, 30) == 8.0
    assert 10 < line_threshold_db(8.0, 3) < 11
    assert 13.5 < line_threshold_db(8.0, 1) < 15


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_detect_mains(mains: float) -> None:
    t = np.arange(int(FS * 20)) / FS
    x = _noise() + sum(0.3 / k * np.sin(2 * np.pi * mains * k * t) for k in (1, 2, 3, 5))
    f, a = _spectrum(x)
    m = detect_mains(f, a)
    assert m.freq_hz == mains and m.lines_found >= 3
    assert detect_mains(*_spectrum(_noise(seed=4))).freq_hz is None


def test_shaft_harmonics_are_not_mains() -> None:
    """A 1800 r/min shaft's 2X sits on 60 Hz: its family is not taken for mains."""
    t = np.arange(int(FS * 20)) / FS
    x = _noise() + sum(0.3 * np.sin(2 * np.pi * 30.0 * k * t) for k in (1, 2, 3, 4, 6))
    f, a = _spectrum(x)
    assert detect_mains(f, a, shaft_hz=30.0).freq_hz is None


def test_fault_evidence_claims_a_line_for_the_nearer_fault() -> None:
    t = np.arange(int(FS * 20)) / FS
    x = _noise() + sum(0.15 * np.sin(2 * np.pi * 100.0 * k * t) for k in (1, 2, 3))
    f, a = _spectrum(x)
    evs = {e.name: e for e in fault_evidence(
        f, a, {"BPFO": 100.0, "BPFI": 151.0, "BSF": 67.6, "FTF": 13.1}, 30.3)}
    assert evs["BPFO"].present and evs["BPFO"].score > 30
    bsf3 = evs["BSF"].harmonics[2]  # 3 × 67.6 = 202.8 Hz, nearer 2 × BPFO = 200 Hz
    assert bsf3.claimed_by == "2xBPFO" and not bsf3.found
    assert not evs["BSF"].present and not evs["BPFI"].present


def _ev(name: str, peaks: list[float], score: float) -> FaultEvidence:
    lines = tuple(LineEvidence(k + 1, p, p, 20.0) for k, p in enumerate(peaks))
    return FaultEvidence(name, True, score, lines, resolution_hz=0.5)


def test_attribution_inner_race_comb_explains_ball_lines() -> None:
    fr = 50.0
    bpfi = _ev("BPFI", [245.0, 490.0, 735.0], 40.0)
    bsf = _ev("BSF", [95.2, 195.3, 294.8], 55.0)  # 245 − 3·50, 245 − 50, 245 + 50
    out = {f.name: f for f in attribute((bpfi, bsf), fr, 19.0)}
    assert out["BPFI"].present and not out["BSF"].present
    assert out["BSF"].explained_by == "BPFI"


def test_attribution_keeps_two_independent_faults() -> None:
    a = _ev("BPFO", [107.0, 214.0, 321.0], 60.0)
    b = _ev("BPFI", [162.0, 324.5, 487.0], 50.0)
    out = attribute((a, b), 29.95, 11.9)
    assert all(f.present for f in out)
    assert math.isclose(out[0].score, 60.0)


def test_odd_bsf_harmonics_alone_are_not_a_ball_fault() -> None:
    """Another periodic source at BSF with odd harmonics only (1×, 3×): no ball fault;
    with 2×BSF among the lines it is one."""
    t = np.arange(int(FS * 20)) / FS
    odd = _noise() + sum(0.15 * np.sin(2 * np.pi * 67.0 * k * t) for k in (1, 3))
    f, a = _spectrum(odd)
    freqs = {"BPFO": 101.0, "BPFI": 149.0, "BSF": 67.0, "FTF": 11.9}
    assert not {e.name: e for e in fault_evidence(f, a, freqs, 30.0)}["BSF"].present
    even = _noise() + sum(0.15 * np.sin(2 * np.pi * 67.0 * k * t) for k in (1, 2))
    f, a = _spectrum(even)
    assert {e.name: e for e in fault_evidence(f, a, freqs, 30.0)}["BSF"].present
