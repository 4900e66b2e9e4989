"""Machine profiles: round trip through the store, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.diagnosis.errors import DiagnosisError
from desktop.diagnosis.profiles import (
    MachineProfile,
    ProfileStore,
    Sensor,
    SpeedSpec,
    check_name,
)


def _profile(name: str = "Pump 3") -> MachineProfile:
    return MachineProfile(name, (Sensor("DE_time", "6205"), Sensor("FE_time", "6203")),
                          SpeedSpec("tacho", channel="tach", pulses_per_rev=2), 2, "rigid",
                          "g")


def test_round_trip(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    path = store.save(_profile())
    assert path == tmp_path / "Pump 3.json"
    assert store.names() == ["Pump 3"]
    back = store.load("Pump 3")
    assert back == _profile()
    assert back.sensor_for("fe_time").bearing == "6203"
    assert back.sensor_for(None).channel == "DE_time"
    assert json.loads(path.read_text())["schema"] == "linewatch.machine/1"


def test_default_store_is_in_user_data(linewatch_home: Path) -> None:
    store = ProfileStore()
    store.save(_profile("fan"))
    assert (linewatch_home / "data" / "machines" / "fan.json").is_file()


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "a\\b", " x", "x ", ".hidden",
                                  "a" * 65, "..", "x..y", "nul\0"])
def test_bad_names_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(DiagnosisError, match="bad machine name"):
        check_name(name)
    with pytest.raises(DiagnosisError):
        ProfileStore(tmp_path).path(name)


def test_refusals(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    store.save(_profile())
    with pytest.raises(DiagnosisError, match="exists"):
        store.save(_profile())
    store.save(_profile(), overwrite=True)
    with pytest.raises(DiagnosisError, match="no machine"):
        store.load("other")
    with pytest.raises(DiagnosisError, match="no bearing"):
        MachineProfile("m", (Sensor("x", "9999"),))
    with pytest.raises(DiagnosisError):
        SpeedSpec("rpm", rpm=-5)
    with pytest.raises(DiagnosisError):
        SpeedSpec("rpm_range", rpm_range=(2000, 1000))
    with pytest.raises(DiagnosisError):
        SpeedSpec("tacho")
    with pytest.raises(DiagnosisError):
        MachineProfile("m", group=3)
    with pytest.raises(DiagnosisError):
        MachineProfile("m", unit="furlongs")
    with pytest.raises(DiagnosisError, match="no sensor"):
        _profile().sensor_for("BA_time")
    store.remove("Pump 3")
    assert store.names() == []
    with pytest.raises(DiagnosisError):
        store.remove("Pump 3")


def test_damaged_file_refused(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DiagnosisError, match="cannot be read"):
        store.load("bad")
    (tmp_path / "other.json").write_text(json.dumps({"schema": "x"}))
    with pytest.raises(DiagnosisError, match="not a Linewatch"):
        store.load("other")
    (tmp_path / "swap.json").write_text(json.dumps(_profile("elsewhere").to_json()))
    with pytest.raises(DiagnosisError, match="holds"):
        store.load("swap")
