"""The long jobs behind Learn baseline… and Route trend… (desktop.baseline.learn): progress
and cancel through a TaskState, nothing stored when cancelled, a span judged against the
baseline of the channel's sensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.baseline.hooks import setup_for
from desktop.baseline.learn import judge_span, learn_baseline
from desktop.baseline.model import MachineBaseline, sensor_for_channel
from desktop.baseline.routes import RouteSpec, route
from desktop.baseline.store import BaselineStore
from desktop.core.tasks import Cancelled, TaskState
from desktop.diagnosis.profiles import MachineProfile, ProfileStore, Sensor, SpeedSpec

FS = 12000.0


def _files(tmp_path: Path) -> tuple[list[Path], np.ndarray]:
    ProfileStore().save(MachineProfile("pump", (Sensor("de", "6205"),),
                                       SpeedSpec("rpm_range", rpm_range=(1500.0, 1900.0))))
    g = find_preset("6205")
    healthy = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3)))[:3]
    fault = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3, fault="outer_race",
                                 onset_day=0.0, start_db=3.0, end_db=6.0)))[:3]
    out = []
    for i, s in enumerate(healthy):
        path = tmp_path / f"h{i}.parquet"
        pq.write_table(pa.table({"time_s": np.arange(s.x.size) / FS, "de": s.x}), path)
        out.append(path)
    return out, np.concatenate([s.x for s in fault])


def test_learn_reports_progress_and_stores_a_thin_baseline(tmp_path: Path) -> None:
    files, _ = _files(tmp_path)
    seen: list[tuple[float, str]] = []
    result = learn_baseline("pump", files, task=TaskState(lambda p, m, _i: seen.append((p, m))))
    assert result.thin and result.sensors["de"].snapshots == 3
    assert result.path == BaselineStore().path("pump")
    assert seen[-1][0] == 1.0 and any("snapshot" in m for _p, m in seen)
    assert [p for p, _m in seen] == sorted(p for p, _m in seen)


def test_cancelled_learning_stores_nothing(tmp_path: Path) -> None:
    files, _ = _files(tmp_path)
    task = TaskState()
    task.cancel()
    with pytest.raises(Cancelled):
        learn_baseline("pump", files, task=task)
    assert not BaselineStore().exists("pump")


def test_a_fault_span_is_an_alarm_against_the_healthy_baseline(tmp_path: Path) -> None:
    files, fault = _files(tmp_path)
    learn_baseline("pump", files)
    base = BaselineStore().load("pump")
    assert sensor_for_channel(base, "DE") is base.sensors["de"]
    assert sensor_for_channel(base, "X097_de_time") is base.sensors["de"]
    assert sensor_for_channel(base, "fe") is None
    assert sensor_for_channel(MachineBaseline("m", {}), "de") is None
    setup = setup_for(ProfileStore().load("pump"), "de")
    out = judge_span(setup, base.sensors["de"], fault, FS, channel="de")
    assert out.judgement.level == "alarm" and out.judgement.location == "outer_race"
    assert out.windows == 3 and set(out.levels) <= {"alert", "alarm"}
