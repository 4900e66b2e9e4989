"""Snapshot times from names (IMS, ISO, compact), content, mtime; trend ordering."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from desktop.baseline.snapshots import (
    order_snapshots,
    snapshot_time,
    time_from_content,
    time_from_name,
)


def test_names() -> None:
    assert time_from_name("2004.02.12.10.32.39") == dt.datetime(2004, 2, 12, 10, 32, 39)
    assert time_from_name("pump_2024-03-01T08-15-00.parquet") == dt.datetime(2024, 3, 1, 8, 15)
    assert time_from_name("de_20240301_081500.csv") == dt.datetime(2024, 3, 1, 8, 15)
    assert time_from_name("12k_Drive_End_IR007_1_106.mat") is None
    assert time_from_name("2004.13.12.10.32.39") is None


def test_content_time() -> None:
    assert time_from_content("2024-03-01T08:15:00+00:00") == dt.datetime(2024, 3, 1, 8, 15)
    assert time_from_content("") is None and time_from_content("garbage") is None


def test_order_by_name_time_not_by_name_or_mtime(tmp_path: Path) -> None:
    names = ["2004.02.12.10.42.39", "2004.02.12.10.32.39", "2004.02.13.00.02.39"]
    for i, n in enumerate(names):
        p = tmp_path / n
        p.write_text("x")
        os.utime(p, (1e9 - i * 1000, 1e9 - i * 1000))  # mtimes in the other order
    got = order_snapshots([snapshot_time(tmp_path / n) for n in names])
    assert [s.path.name for s in got] == sorted(names)
    assert {s.source for s in got} == {"name"}


def test_mtime_when_nothing_else(tmp_path: Path) -> None:
    p = tmp_path / "snap.csv"
    p.write_text("x")
    os.utime(p, (1_600_000_000, 1_600_000_000))
    st = snapshot_time(p, "")
    assert st.source == "mtime" and st.time == dt.datetime.fromtimestamp(1_600_000_000)
    assert snapshot_time(p, "2024-01-01T00:00:00Z").source == "content"


def test_times_without_seconds_and_dates_alone() -> None:
    """A newcomer's route (``12k_2026-01-02_0800.mat``) fell back to the files' mtime."""
    assert time_from_name("12k_2026-01-02_0800.mat") == dt.datetime(2026, 1, 2, 8, 0)
    assert time_from_name("a_20240301_0815.csv") == dt.datetime(2024, 3, 1, 8, 15)
    assert time_from_name("x_2024-03-01 08:15.csv") == dt.datetime(2024, 3, 1, 8, 15)
    assert time_from_name("route_2024-03-01.csv") == dt.datetime(2024, 3, 1)
    assert time_from_name("r20240301.csv") == dt.datetime(2024, 3, 1)
    assert time_from_name("pump7_12345678.csv") is None  # not a date
