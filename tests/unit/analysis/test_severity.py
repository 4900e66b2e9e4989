"""ISO 20816-3 severity on sines of known velocity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop.analysis.errors import AnalysisError
from desktop.analysis.severity import (
    G_N,
    ZONE_LIMITS_MM_S,
    parse_unit,
    severity,
    velocity_rms,
    zone_limits,
    zone_of,
)

FS = 5000.0


def _accel_g(freq: float, v_rms_mm_s: float, seconds: float = 10.0) -> np.ndarray:
    """Acceleration (g) of a sine whose velocity RMS is v_rms_mm_s: a = 2πf·v."""
    t = np.arange(int(FS * seconds)) / FS
    a_peak = 2 * math.pi * freq * v_rms_mm_s * math.sqrt(2) * 1e-3 / G_N
    return a_peak * np.sin(2 * np.pi * freq * t)


def test_a_50_hz_sine_of_4_mm_s_given_in_g_reads_4_mm_s() -> None:
    x = _accel_g(50.0, 4.0)
    assert x.max() == pytest.approx(0.1812, abs=1e-4)  # hand: 2π·50·4√2e-3/9.80665
    assert velocity_rms(x, FS, "g") == pytest.approx(4.0, rel=0.02)
    assert velocity_rms(x * G_N, FS, "m/s2") == pytest.approx(4.0, rel=0.02)
    assert velocity_rms(x * G_N, FS, "m/s²") == pytest.approx(4.0, rel=0.02)


@pytest.mark.parametrize("freq", [12.5, 50.0, 333.3, 950.0])
def test_integration_is_right_across_the_band(freq: float) -> None:
    assert velocity_rms(_accel_g(freq, 2.5), FS, "g") == pytest.approx(2.5, rel=0.02)


def test_velocity_input_is_taken_as_it_is() -> None:
    t = np.arange(int(FS * 4)) / FS
    v = 3.0 * math.sqrt(2) * np.sin(2 * np.pi * 120 * t) + 7.0  # DC is not vibration
    assert velocity_rms(v, FS, "mm/s") == pytest.approx(3.0, rel=0.01)


def test_outside_10_to_1000_hz_does_not_count() -> None:
    quiet = _accel_g(3.0, 5.0) + _accel_g(2000.0, 5.0)
    assert velocity_rms(quiet, FS, "g") < 0.1
    both = quiet + _accel_g(100.0, 1.0)
    assert velocity_rms(both, FS, "g") == pytest.approx(1.0, rel=0.03)


def test_zone_boundaries_from_the_standard() -> None:
    assert ZONE_LIMITS_MM_S == {
        (1, "rigid"): (2.3, 4.5, 7.1), (1, "flexible"): (3.5, 7.1, 11.0),
        (2, "rigid"): (1.4, 2.8, 4.5), (2, "flexible"): (2.3, 4.5, 7.1)}
    limits = zone_limits(2, "Rigid")
    assert [zone_of(v, limits) for v in (0.5, 1.39, 1.4, 2.0, 2.8, 4.49, 4.5, 20)] == [
        "A", "A", "B", "B", "C", "C", "D", "D"]
    with pytest.raises(AnalysisError, match="group 3"):
        zone_limits(3, "rigid")


@pytest.mark.parametrize(("group", "foundation", "zone"), [
    (1, "rigid", "B"), (1, "flexible", "B"), (2, "rigid", "C"), (2, "flexible", "B")])
def test_4_mm_s_falls_in_the_zone_of_each_table(group: int, foundation: str, zone: str
                                                ) -> None:
    result = severity(_accel_g(50.0, 4.0), FS, "g", group, foundation, block_s=5)
    assert result.zone == zone and result.velocity_rms_mm_s == pytest.approx(4.0, rel=0.02)


def test_trend_follows_a_machine_getting_worse() -> None:
    x = np.concatenate([_accel_g(50.0, 1.0, 10), _accel_g(50.0, 3.0, 10),
                        _accel_g(50.0, 6.0, 10)])
    result = severity(x, FS, "g", 2, "rigid", block_s=10)
    assert [b.zone for b in result.trend] == ["A", "C", "D"]
    assert [b.start_s for b in result.trend] == [0.0, 10.0, 20.0]
    assert [round(b.velocity_rms_mm_s, 1) for b in result.trend] == [1.0, 3.0, 6.0]
    assert result.limits_mm_s == (1.4, 2.8, 4.5) and result.band_hz == (10.0, 1000.0)
    assert result.trend[1].to_json()["zone"] == "C"


def test_units_are_checked_and_the_message_names_the_option() -> None:
    assert parse_unit(" G ") == ("acceleration", G_N)
    for bad in ("", "V", "in/s", "mV/g"):
        with pytest.raises(AnalysisError, match="--unit"):
            parse_unit(bad)


def test_a_block_too_short_for_10_hz_is_refused() -> None:
    with pytest.raises(AnalysisError, match="too short"):
        velocity_rms(_accel_g(50.0, 1.0, 0.1), FS, "g")
    with pytest.raises(AnalysisError, match="does not fit"):
        velocity_rms(_accel_g(50.0, 1.0), 15.0, "g")
