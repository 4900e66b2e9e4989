"""Acknowledgements that persist across ``trend`` runs (desktop.baseline.acks): the next
run shows a raised alarm as acknowledged instead of raising it fresh."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.analysis.errors import AnalysisError
from desktop.baseline.acks import AckStore, acknowledge
from desktop.baseline.learn import route_trend
from desktop.baseline.routes import RouteSpec, route
from desktop.cli import main

FS = 12000.0
T0 = dt.datetime(2024, 1, 1)


def _write(path: Path, x: np.ndarray) -> Path:
    pq.write_table(pa.table({"time_s": np.arange(x.size) / FS, "de": x}), path)
    return path


@pytest.fixture()
def folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A route: 3 healthy snapshots, 5 with a strong fault, 4 healthy (hourly)."""
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de", "--unit", "g"]) == 0
    g = find_preset("6205")
    healthy = [s.x for s in list(route(RouteSpec(g, 1800.0, days=0.1, seed=5)))[:10]]
    fault = [s.x for s in list(route(RouteSpec(g, 1800.0, days=0.05, seed=5,
                                               fault="outer_race", onset_day=0.0,
                                               start_db=6.0, end_db=6.0)))[:5]]
    base = [str(_write(tmp_path / f"b{i}.parquet", x)) for i, x in enumerate(healthy[:3])]
    assert main(["baseline", "pump", *base]) == 0
    capsys.readouterr()
    trail = tmp_path / "route"
    trail.mkdir()
    for k, x in enumerate(healthy[3:6] + fault + healthy[6:10]):
        _write(trail / f"{(T0 + dt.timedelta(hours=k)):%Y.%m.%d.%H.%M.%S}.parquet", x)
    return trail


def _events(rows: list[dict]) -> list[dict]:
    return [r["event"] for r in rows if r["event"]]


def test_an_ack_persists_into_the_next_trend(folder: Path) -> None:
    rows = route_trend("pump", [folder]).rows
    assert [e["level"] for e in _events(rows)] == ["alarm"]
    assert rows[-1]["state"] == "alarm" and not rows[-1]["acknowledged"]
    # acknowledged during the fault (hour 6): it stays raised, marked acknowledged
    acknowledge("pump", "de", T0 + dt.timedelta(hours=6, minutes=30), user="ann")
    rows = route_trend("pump", [folder]).rows
    assert rows[6]["ack"]["user"] == "ann" and rows[6]["state"] == "alarm"
    assert rows[6]["acknowledged"] and rows[-1]["acknowledged"]
    assert len(_events(rows)) == 1  # the one raise, in its place; nothing fresh
    # acknowledged now (after the last snapshot, the machine healthy again): ok
    acknowledge("pump")
    rows = route_trend("pump", [folder]).rows
    assert rows[-1]["state"] == "ok" and not rows[-1]["acknowledged"]
    assert rows[-1]["ack"]["sensor"] == "*"
    assert AckStore().clear("pump") == 2 and AckStore().load("pump") == []


def test_an_ack_before_the_route_or_for_another_sensor_does_nothing(folder: Path) -> None:
    acknowledge("pump", "de", T0 - dt.timedelta(days=1))
    acknowledge("pump", "nde", T0 + dt.timedelta(hours=9))
    rows = route_trend("pump", [folder]).rows
    assert rows[-1]["state"] == "alarm" and not any(r["acknowledged"] for r in rows)


def test_a_damaged_ack_file_is_one_line(folder: Path) -> None:
    store = AckStore()
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path("pump").write_text('[{"sensor": "de", "at": "yesterday"}]')
    with pytest.raises(AnalysisError, match="acknowledgement is damaged"):
        route_trend("pump", [folder])
