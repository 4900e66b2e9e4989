"""Baselines: 3 snapshots accepted (thin), fewer refused, stored per machine and sensor."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.analysis.errors import AnalysisError
from desktop.baseline.indicators import Indicators
from desktop.baseline.model import (
    MachineBaseline,
    SensorBaseline,
    fit_sensor_baseline,
    snapshot_windows,
)
from desktop.baseline.monitor import SensorSetup, learn
from desktop.baseline.store import BaselineStore


def _ind(v: float) -> Indicators:
    return Indicators({"acc_rms": v, "kurtosis": 3.0})


def test_three_snapshots_make_a_thin_baseline() -> None:
    rng = np.random.default_rng(1)
    setup = SensorSetup("de", "g")
    base = learn(setup, [rng.standard_normal(12000) for _ in range(3)], 12000.0)
    assert base.snapshots == 3 and base.thin
    assert any("thin baseline" in n for n in base.notes)
    assert base.limits["acc_rms"].alert == pytest.approx(2 * base.limits["acc_rms"].centre)


def test_two_snapshots_refused() -> None:
    with pytest.raises(AnalysisError, match="at least 3"):
        fit_sensor_baseline("de", "g", 1000.0, [_ind(1.0), _ind(1.1)], 2.0)


def test_windows_of_a_long_record_and_a_short_one() -> None:
    assert len(snapshot_windows(np.zeros(10_500), 1000.0)) == 11   # last 0.5 s kept
    assert len(snapshot_windows(np.zeros(700), 1000.0)) == 1
    assert len(snapshot_windows(np.zeros(100_000), 1000.0, max_windows=7)) == 7
    with pytest.raises(AnalysisError):
        snapshot_windows(np.zeros(400), 1000.0)


def test_store_keeps_sensors_apart() -> None:
    store = BaselineStore()
    a = fit_sensor_baseline("de", "g", 1000.0, [_ind(1.0)] * 3, 3.0)
    b = fit_sensor_baseline("fe", "g", 1000.0, [_ind(5.0)] * 40, 40.0)
    store.put_sensor("pump 1", a)
    store.put_sensor("pump 1", b)
    got = store.load("pump 1")
    assert set(got.sensors) == {"de", "fe"}
    assert got.sensors["fe"].limits["acc_rms"].centre == pytest.approx(5.0)
    assert got.sensors["de"].thin and not got.sensors["fe"].thin
    assert "baselines" in str(store.path("pump 1"))


def test_damaged_or_missing_baseline_is_one_error() -> None:
    with pytest.raises(AnalysisError, match="no baseline"):
        BaselineStore().load("nothing")
    with pytest.raises(AnalysisError):
        MachineBaseline.from_json({"version": 99})
    with pytest.raises(AnalysisError, match="damaged"):
        SensorBaseline.from_json({"sensor": "x"})
