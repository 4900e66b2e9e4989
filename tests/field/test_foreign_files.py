"""Files written by other tools (pandas, Polars, DAQ software) and published data sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from scipy.io import savemat

from desktop.app import SourceOptions, create_source
from desktop.cli import main
from desktop.core.errors import RecordingError
from desktop.recording.readers import read_recording, summarize_recording
from desktop.streams.file_view import index_file
from tests.field.support import field_case


def _check_timestamp_file(path: Path, rate: float, samples: int, channel: str) -> None:
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == [channel]
    assert rec.samples == samples and rec.effective_rate() == pytest.approx(rate)
    assert rec.timestamps is not None and rec.timestamps[0] == 0.0
    assert rec.start_time  # the wall-clock start is kept
    summary = summarize_recording(path)
    assert summary.samples == samples and summary.duration_s == pytest.approx(samples / rate)
    # replay: and the window's file session read the same thing.
    source = create_source(f"replay:{path}", SourceOptions(speed=float("inf")))
    source.open()
    got = 0
    while not source.finished:
        got += len(source.read(0.0))
    assert got == samples
    assert index_file(path).written == samples  # what the window opens
    assert read_recording(path).samples == samples  # what `predict` reads too


def test_field_foreign_timestamp_parquet() -> None:
    _check_timestamp_file(field_case("foreign-timestamp.parquet"), 1000.0, 2000, "value")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("kind", ["parquet", "feather", "arrow"])
def test_timestamp_columns_of_any_unit_are_the_time_axis(tmp_path: Path, unit: str,
                                                         kind: str) -> None:
    step = {"s": 1, "ms": 4, "us": 4000, "ns": 4_000_000}[unit]
    rate = {"s": 1.0}.get(unit, 250.0)
    stamps = pa.array(1_700_000_000 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
                      + np.arange(300) * step, pa.timestamp(unit, tz="UTC"))
    table = pa.table({"when": stamps, "flow": np.linspace(0, 1, 300)})
    path = tmp_path / f"t.{kind}"
    if kind == "parquet":
        pq.write_table(table, path)
    elif kind == "feather":
        feather.write_feather(table, path)
    else:
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
    _check_timestamp_file(path, rate, 300, "flow")
    assert read_recording(path).start_time.startswith("2023-11-14T22:13:20")


def test_pandas_datetime_index_int_bool_and_text_columns(tmp_path: Path) -> None:
    idx = pd.date_range("2024-05-01 12:00", periods=400, freq="5ms", tz="Europe/Berlin",
                        name="stamp")
    df = pd.DataFrame({"I(mA)": np.arange(400, dtype=np.int32),
                       "valve": np.arange(400) % 2 == 0,
                       "state": ["run"] * 400,
                       "v": np.r_[np.inf, -np.inf, np.zeros(398)]}, index=idx)
    df.to_parquet(tmp_path / "pd.parquet")
    rec = read_recording(tmp_path / "pd.parquet")
    assert [(c.name, c.unit) for c in rec.channels] == [("I", "mA"), ("valve", ""), ("v", "")]
    assert rec.effective_rate() == pytest.approx(200)
    assert rec.start_time.startswith("2024-05-01T10:00:00")
    assert rec.values[:3, 1].tolist() == [1, 0, 1]
    assert np.isnan(rec.values[:2, 2]).all() and not np.isinf(rec.values).any()
    assert rec.metadata["malformed"] == {"non_finite": 2}
    assert any("state" in note for note in rec.metadata["notes"])


def test_info_prints_notes_and_replay_works_on_a_foreign_file(tmp_path: Path, capsys
                                                                ) -> None:
    stamps = pa.array(np.arange(100) * 10, pa.timestamp("ms"))
    pq.write_table(pa.table({"ts": stamps, "x": np.arange(100.0), "tag": ["a"] * 100}),
                   tmp_path / "f.parquet")
    assert main(["info", str(tmp_path / "f.parquet"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["samples"] == 100 and doc["sample_rate"] == pytest.approx(100)
    assert doc["channels"] == ["x"] and any("tag" in n for n in doc["notes"])
    assert main(["record", "--source", f"replay:{tmp_path / 'f.parquet'}", "--speed", "max",
                 "--out", str(tmp_path / "r.parquet"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["samples"] == 100


def test_a_text_time_s_column_is_refused_naming_it(tmp_path: Path) -> None:
    pq.write_table(pa.table({"time_s": ["0", "1"], "x": [1.0, 2.0]}), tmp_path / "b.parquet")
    with pytest.raises(RecordingError, match="'time_s'") as err:
        read_recording(tmp_path / "b.parquet")
    assert "\n" not in str(err.value)


# -- MATLAB ----------------------------------------------------------------------------------
def test_mat_prefers_the_variable_with_the_files_own_number(tmp_path: Path) -> None:
    de = np.sin(np.arange(1200.0))
    savemat(tmp_path / "99.mat", {"X098_DE_time": np.ones((1000, 1)),
                                  "X099_DE_time": de[:, None],
                                  "X098_FE_time": np.ones((1000, 1)),
                                  "X099_FE_time": np.cos(np.arange(1200.0))[:, None],
                                  "X099RPM": np.array([[1797]])})
    rec = read_recording(tmp_path / "99.mat", 12000)
    assert [c.name for c in rec.channels] == ["X099_DE_time", "X099_FE_time"]
    assert rec.samples == 1200 and not np.isnan(rec.values).any()
    assert np.array_equal(rec.values[:, 0], de)


def test_mat_without_the_files_number_is_refused_listing_the_candidates(tmp_path: Path
                                                                        ) -> None:
    savemat(tmp_path / "bearing.mat", {"X098_DE_time": np.ones((1000, 1)),
                                       "X099_DE_time": np.ones((1200, 1))})
    with pytest.raises(RecordingError) as err:
        read_recording(tmp_path / "bearing.mat", 12000)
    assert "X098_DE_time" in str(err.value) and "X099_DE_time" in str(err.value)


def test_mat_never_pads_shorter_arrays(tmp_path: Path) -> None:
    savemat(tmp_path / "x.mat", {"signal": np.ones((500, 1)), "calib": np.ones((3, 1))})
    rec = read_recording(tmp_path / "x.mat", 1000)
    assert [c.name for c in rec.channels] == ["signal"] and not np.isnan(rec.values).any()
