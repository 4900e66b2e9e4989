"""The alert/alarm limit rule: floors relative to the baseline, statistical limits on logs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop.analysis.errors import AnalysisError
from desktop.baseline.limits import K_ALARM, K_ALERT, Limits, fit_limits


def test_steady_level_gets_the_floors() -> None:
    lim = fit_limits("acc_rms", [1.0, 1.02, 0.98, 1.01])
    assert lim.alert == pytest.approx(2 * lim.centre)   # +6 dB
    assert lim.alarm == pytest.approx(4 * lim.centre)   # +12 dB


def test_shape_indicators_have_lower_floors() -> None:
    lim = fit_limits("kurtosis", [3.0, 3.0, 3.0])
    assert lim.alert == pytest.approx(4.5) and lim.alarm == pytest.approx(6.0)


def test_wide_spread_gives_statistical_limits() -> None:
    rng = np.random.default_rng(0)
    v = np.exp(rng.normal(0.0, 0.5, 400))
    lim = fit_limits("vel_rms", v)
    y = np.log(v)
    c = math.sqrt(1 + 1 / v.size)
    s = float(np.std(y, ddof=1))
    assert lim.alert == pytest.approx(math.exp(y.mean() + K_ALERT * c * s))
    assert lim.alarm == pytest.approx(math.exp(y.mean() + K_ALARM * c * s))
    assert lim.alarm > 4 * lim.centre


def test_no_usable_value_refused_and_json_round_trip() -> None:
    with pytest.raises(AnalysisError):
        fit_limits("peak", [0.0, float("nan")])
    lim = fit_limits("peak", [1.0, 2.0, 3.0])
    again = Limits.from_json(lim.to_json())
    assert again.alert == pytest.approx(lim.alert, rel=1e-5) and again.n == 3


def test_moved_limits_keep_their_offsets() -> None:
    lim = fit_limits("acc_rms", [1.0, 1.0, 1.0])
    moved = lim.moved_to(1.2)
    assert moved.alert / moved.centre == pytest.approx(lim.alert / lim.centre)
