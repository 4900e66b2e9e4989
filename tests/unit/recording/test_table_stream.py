"""A foreign Parquet file streamed row group by row group reads to exactly what the whole
read gives (desktop/recording/table_stream.py): values, times, wall-clock start, channels,
notes and counts, for each kind of time axis a logger writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.recording.format import ReadOptions
from desktop.recording.parquet_file import read_parquet, table_stream
from desktop.recording.stream import collect

N = 2_500


def _time_columns() -> dict[str, pa.Array]:
    t0 = dt.datetime(2026, 3, 29, 0, 59, 0)
    ms = 1_774_745_940_000 + np.arange(N, dtype=np.int64) * 2
    return {
        "timestamp": pa.array([t0 + dt.timedelta(milliseconds=2 * i) for i in range(N)],
                              pa.timestamp("us")),
        "time_ms": pa.array(ms),
        "timestamp_f": pa.array(ms.astype(np.float64)),
        "Time (s)": pa.array(np.arange(N) * 0.002 + 10.0),
        "date": pa.array([(t0 + dt.timedelta(seconds=i)).isoformat() for i in range(N)]),
        "time_s": pa.array(np.arange(N) * 0.002),
    }


def _write(path: Path, time_name: str | None, column: pa.Array | None) -> Path:
    rng = np.random.default_rng(7)
    a = rng.standard_normal(N)
    a[5] = np.inf  # a non-finite sample: a gap, counted
    b = rng.standard_normal(N).astype(np.float32)
    cols: dict[str, pa.Array] = {}
    if time_name is not None and column is not None:
        if time_name in ("time_ms", "Time (s)", "time_s", "timestamp_f"):
            vals = column.to_numpy().copy()
            vals[1300] = vals[1200]  # time going back in the second row group
            column = pa.array(vals)
        name = "timestamp" if time_name == "timestamp_f" else time_name
        cols[name] = column
    cols["acc [g]"] = pa.array(a)
    cols["temp"] = pa.array(b)
    cols["status"] = pa.array(["run"] * N)  # text: left out with a note
    cols["count"] = pa.array(np.arange(N, dtype=np.int32))
    pq.write_table(pa.table(cols), path, row_group_size=1000)
    return path


@pytest.mark.parametrize("time_name", [None, *_time_columns()])
def test_streamed_equals_whole(tmp_path: Path, time_name: str | None) -> None:
    column = _time_columns()[time_name] if time_name else None
    path = _write(tmp_path / "logger.parquet", time_name, column)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    whole = read_parquet(path)
    stream = table_stream(path, "parquet", ReadOptions(), read_parquet)
    streamed = collect(stream, path)
    assert streamed.channels == whole.channels
    np.testing.assert_array_equal(streamed.values, whole.values)
    if whole.timestamps is None:
        assert streamed.timestamps is None
    else:
        np.testing.assert_array_equal(streamed.timestamps, whole.timestamps)
    assert streamed.start_time == whole.start_time
    assert streamed.metadata == whole.metadata
    assert streamed.source == whole.source
    assert streamed.values.shape[0] == N - (1 if time_name not in (None, "timestamp", "date")
                                            else 0)


def test_rows_per_chunk_bounded(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.parquet", "time_ms", _time_columns()["time_ms"])
    stream = table_stream(path, "parquet", ReadOptions(), read_parquet)
    from desktop.recording import table_stream as ts

    sizes = [len(c.values) for c in ts.foreign_parquet_stream(path, pq.ParquetFile(path),
                                                               None, rows=400).chunks]
    assert max(sizes) <= 400 and sum(sizes) == N - 1
    fractions = [c.done for c in stream.chunks]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_rows_going_back_are_left_out_with_a_note(tmp_path: Path) -> None:
    """Row groups written out of time order: the rows going back are left out, counted and
    named in a note, the same whole or streamed (a newcomer saw 20,000 rows vanish)."""
    t = np.arange(3000) / 100.0
    order = np.r_[2000:3000, 0:2000]  # the last group first
    path = tmp_path / "unsorted.parquet"
    pq.write_table(pa.table({"time_s_x": t[order], "v": np.sin(t[order])}).rename_columns(
        ["time", "v"]), path, row_group_size=1000)
    whole = read_parquet(path)
    streamed = collect(table_stream(path, "parquet", ReadOptions(), read_parquet), path)
    assert whole.samples == streamed.samples == 1000
    assert whole.metadata["malformed"]["time_backwards"] == 2000
    assert any("2,000 rows whose time in column 'time' goes back" in n
               for n in whole.metadata["notes"])
    assert streamed.metadata == whole.metadata
