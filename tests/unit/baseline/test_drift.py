"""The slow-drift rule: bounded, slow, and only from ok snapshots of a quiet sensor."""

from __future__ import annotations

import math

import pytest

from desktop.baseline.drift import DRIFT_MAX, DRIFT_SNAPSHOTS, apply_drift
from desktop.baseline.indicators import Indicators
from desktop.baseline.model import SensorBaseline, fit_sensor_baseline


def _base() -> SensorBaseline:
    return fit_sensor_baseline("de", "g", 1000.0, [Indicators({"acc_rms": 1.0})] * 40, 40.0)


def test_ok_snapshots_move_the_centre_slowly() -> None:
    base = _base()
    assert apply_drift(base, Indicators({"acc_rms": 1.2}), "ok", "ok")
    step = base.drift["acc_rms"]
    assert step == pytest.approx(math.log(1.2) / DRIFT_SNAPSHOTS)
    cur = base.current("acc_rms")
    assert cur.alert / cur.centre == pytest.approx(2.0)


def test_drift_is_bounded() -> None:
    base = _base()
    for _ in range(20 * DRIFT_SNAPSHOTS // 10):
        apply_drift(base, Indicators({"acc_rms": 10.0}), "ok", "ok")
    assert base.current("acc_rms").centre == pytest.approx(DRIFT_MAX, rel=1e-6)


def test_alerts_and_latched_states_never_move_it() -> None:
    base = _base()
    assert not apply_drift(base, Indicators({"acc_rms": 3.0}), "alert", "ok")
    assert not apply_drift(base, Indicators({"acc_rms": 1.1}), "ok", "alarm")
    assert base.drift == {} and base.drift_updates == 0
