"""Issue #23's logger and DAQ exports read right (the values are the field cases' own
right readings; copies are in ``tests/fixtures/field-cases/logger-exports``). Each kind
also has generated inputs in ``tests/unit/recording/test_kinds_*.py``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.recording.readers import read_recording, summarize_recording
from tests.field.support import field_case


def _case(name: str) -> Path:
    return field_case(f"logger-exports/{name}")


def test_tdms_two_groups_keep_two_rates(capsys: pytest.CaptureFixture[str]) -> None:
    path = _case("tdms-two-groups-two-rates.tdms")
    fast = read_recording(path, channel="accel")
    assert [c.name for c in fast.channels] == ["accel"]
    assert fast.sample_rate == pytest.approx(10_000) and fast.duration_s == pytest.approx(0.2)
    slow = read_recording(path, channel="bearing_temp")
    assert slow.sample_rate == pytest.approx(10) and slow.duration_s == pytest.approx(200)
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["inferred"]["groups"]) == {"Vibration", "Temperature"}


def test_xlsx_info_sheet_first() -> None:
    rec = read_recording(_case("xlsx-info-sheet-first.xlsx"))
    assert [c.name for c in rec.channels] == ["temp", "humidity"]
    assert np.allclose(rec.values[:, 0], 21.0 + np.arange(10) / 10)
    assert rec.values[:, 1].tolist() == list(range(40, 50))
    assert rec.effective_rate() == pytest.approx(1.0)


def test_xlsx_day_serials() -> None:
    rec = read_recording(_case("xlsx-day-serial-times.xlsx"))
    start = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC).timestamp()
    assert rec.samples == 10 and rec.timestamps[0] == pytest.approx(start, abs=1e-3)
    assert rec.effective_rate() == pytest.approx(1.0, rel=1e-4)


def test_csv_hash_header_and_units_row() -> None:
    rec = read_recording(_case("csv-hash-header.csv"))
    assert [c.name for c in rec.channels] == ["a", "b"] and rec.samples == 8
    assert rec.effective_rate() == pytest.approx(100.0)
    units = read_recording(_case("csv-units-row.csv"))
    assert [(c.name, c.unit) for c in units.channels] == [("temp", "degC"), ("pressure", "bar")]
    assert units.samples == 3 and units.effective_rate() == pytest.approx(1.0)


def test_parquet_epoch_milliseconds() -> None:
    summary = summarize_recording(_case("parquet-epoch-ms-int64.parquet"))
    assert summary.sample_rate == pytest.approx(10.0)
    assert summary.start_time.startswith("2024-05-01T12:00:00")
    assert "ms" in summary.inferred["time_unit"]


def test_mat_struct_with_rate() -> None:
    rec = read_recording(_case("mat-v5-struct-with-rate.mat"))
    assert [c.name for c in rec.channels] == ["bearing.gs"]
    assert rec.sample_rate == 97_656 and rec.duration_s == pytest.approx(0.042, abs=5e-4)


def test_dst_repeat_is_said_with_its_rows() -> None:
    rec = read_recording(_case("csv-local-time-dst-repeat.csv"))
    assert any("DST" in n and "lines 4-7" in n for n in rec.metadata["notes"])
