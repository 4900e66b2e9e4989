"""The per-machine anomaly model (desktop.baseline.anomaly, issue 22 item 1): Hotelling
T² on the log indicators fitted on the machine's own healthy snapshots, with a held-out
limit; stored with the baseline; old baselines load and fall back to the limits' score."""

from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.analysis.bearings import find_preset
from desktop.analysis.errors import AnalysisError
from desktop.baseline.anomaly import MIN_SNAPSHOTS, AnomalyModel, f_limit, fit_anomaly
from desktop.baseline.judge import judge
from desktop.baseline.model import OLD_NOTE, MachineBaseline, fit_sensor_baseline
from desktop.baseline.monitor import SensorSetup
from desktop.baseline.routes import RouteSpec, route

FS = 12000.0


@pytest.fixture(scope="module")
def data() -> dict:
    g = find_preset("6205")
    setup = SensorSetup("de", "g", g, 1800.0)
    snaps = [setup.indicators(s.x, FS)
             for s in route(RouteSpec(g, 1800.0, days=0.75, seed=4), step=1)]
    fault = [setup.indicators(s.x, FS)
             for s in list(route(RouteSpec(g, 1800.0, days=0.05, seed=4, fault="outer_race",
                                           onset_day=0.0, start_db=-6.0, end_db=-6.0)))[:4]]
    return {"setup": setup, "base": snaps[:72], "later": snaps[72:], "fault": fault}


def test_fits_on_healthy_and_scores_faults_far_above(data: dict) -> None:
    sb = fit_sensor_baseline("de", "g", FS, data["base"], 72.0)
    model = sb.anomaly
    assert model is not None and model.n == 72 and len(model.names) >= 10
    assert model.f_limit > 0 and model.limit == max(model.held_out_t2, 9.0)
    later = [judge(i, sb) for i in data["later"]]
    assert {j.anomaly_method for j in later} == {"t2"}
    assert np.mean([j.anomaly >= 1.0 for j in later]) <= 0.1  # healthy, unseen hours
    faults = [judge(i, sb) for i in data["fault"]]
    assert min(j.anomaly for j in faults) > 1.5
    assert judge(data["fault"][0], sb).to_json()["anomaly_method"] == "t2"


def test_round_trip_and_old_baselines_fall_back(data: dict) -> None:
    sb = fit_sensor_baseline("de", "g", FS, data["base"], 72.0)
    doc = json.loads(json.dumps(MachineBaseline("m", {"de": sb}).to_json()))
    back = MachineBaseline.from_json(doc).sensors["de"]
    assert back.anomaly is not None and back.anomaly.names == sb.anomaly.names
    ind = data["fault"][0]
    assert judge(ind, back).anomaly == pytest.approx(judge(ind, sb).anomaly, rel=1e-5)
    del doc["sensors"]["de"]["anomaly"]  # as stored before the model existed
    old = MachineBaseline.from_json(doc).sensors["de"]
    j = judge(ind, old)
    assert old.anomaly is None and OLD_NOTE in old.notes and j.anomaly_method == "limits"
    assert j.level == judge(ind, sb).level  # the level never depended on the model


def test_thin_baselines_have_no_model_and_damage_is_refused(data: dict) -> None:
    thin = fit_sensor_baseline("de", "g", FS, data["base"][:MIN_SNAPSHOTS - 1], 29.0)
    assert thin.anomaly is None and judge(data["fault"][0], thin).anomaly_method == "limits"
    assert fit_anomaly([i.values for i in data["base"][:10]]) is None
    good = fit_sensor_baseline("de", "g", FS, data["base"], 72.0).anomaly
    assert good is not None
    doc = good.to_json()
    doc["precision"] = [[1.0]]
    with pytest.raises(AnalysisError, match="anomaly model is damaged"):
        AnomalyModel.from_json(doc)
    assert f_limit(5, 13) == 0.0 and f_limit(200, 13) > 13
