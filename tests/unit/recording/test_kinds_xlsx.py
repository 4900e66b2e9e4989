"""Issue #23, the Excel kinds (4–7): an Info sheet first, day-serial times, separate Date
and Time columns, a two-row header with merged group cells and a units row. Workbooks
are written here with openpyxl, as loggers and colleagues write them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.recording.readers import read_recording


def _book(path: Path, sheets: dict[str, list[list[object]]],
          merges: dict[str, list[str]] | None = None) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        for cells in (merges or {}).get(title, []):
            ws.merge_cells(cells)
    book.save(path)
    return path


def _info(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["info", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_kind04_the_data_sheet_not_the_info_sheet(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    info_rows: list[list[object]] = [["Property", "Value"], ["Logger", "TL-20"],
                                     ["Interval (s)", 0.5], ["Channels", 2], ["Serial", 88123]]
    data_rows: list[list[object]] = [["t", "flow", "level"]]
    data_rows += [[0.5 * i, 3.0 + i, 100 - i] for i in range(20)]
    path = _book(tmp_path / "export.xlsx", {"About": info_rows, "Log": data_rows,
                                            "Notes": [["checked by", "ops"]]})
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["flow", "level"]
    assert rec.values[:, 0].tolist() == [3.0 + i for i in range(20)]
    assert rec.effective_rate() == pytest.approx(2.0)
    info = _info(path, capsys)
    assert info["inferred"]["sheet"] == "Log"
    assert info["inferred"]["sheets"] == ["About", "Log", "Notes"]
    picked = _info(path, capsys, "--sheet", "about")  # the user may still pick any sheet
    assert picked["inferred"]["sheet"] == "About" and picked["samples"] == 3
    assert main(["info", str(path), "--sheet", "Missing"]) == 2
    err = capsys.readouterr().err
    assert "no sheet 'Missing'" in err and "About, Log, Notes" in err


def test_kind05_day_serials_are_wall_clock(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    start = 46023.25  # 2026-01-01 06:00 as an Excel day serial, no date format
    rows: list[list[object]] = [["Timestamp", "press"]]
    rows += [[start + i * 5 / 86400, 1.0 + 0.01 * i] for i in range(12)]  # every 5 s
    path = _book(tmp_path / "serials.xlsx", {"Sheet1": rows})
    rec = read_recording(path)
    want0 = dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC).timestamp()
    assert rec.timestamps[0] == pytest.approx(want0, abs=1e-3)
    assert np.allclose(np.diff(rec.timestamps), 5.0, atol=1e-3)
    assert rec.effective_rate() == pytest.approx(0.2, rel=1e-4)
    assert rec.start_time.startswith("2026-01-01T06:00:00")
    info = _info(path, capsys)
    assert info["inferred"]["time_unit"] == "Excel day serial"
    assert info["inferred"]["time_column"] == "Timestamp"


def test_kind06_date_and_time_columns_combined(tmp_path: Path) -> None:
    day = dt.datetime(2025, 9, 14)
    rows: list[list[object]] = [["Date", "Time", "rpm"]]
    rows += [[day, dt.time(23, 59, 50 + i) if i < 10 else dt.time(0, 0, i - 10), 1500 + i]
             for i in range(10)]
    path = _book(tmp_path / "dt.xlsx", {"Data": rows})
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["rpm"]
    assert rec.timestamps[0] == dt.datetime(2025, 9, 14, 23, 59, 50, tzinfo=dt.UTC).timestamp()
    assert np.allclose(np.diff(rec.timestamps), 1.0)
    assert rec.metadata["inferred"]["time_column"] == "Date + Time"
    text_times = _book(tmp_path / "text.xlsx", {"Data": [["Date", "Time", "v"]] + [
        [day, f"{(i % 12) or 12}:00:0{i % 10} {'AM' if i < 12 else 'PM'}", i]
        for i in (9, 13)]})
    rec = read_recording(text_times)
    assert np.diff(rec.timestamps)[0] == pytest.approx(4 * 3600 - 6)


def test_kind07_two_header_rows_and_a_units_row(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[list[object]] = [
        ["", "Pump A", None, "Pump B", None],
        ["time", "speed", "current", "speed", "current"],
        ["s", "rpm", "A", "rpm", "A"],
    ]
    rows += [[0.1 * i, 1450 + i, 10.5, 1460 - i, 11.0] for i in range(30)]
    path = _book(tmp_path / "two-row.xlsx", {"Data": rows}, {"Data": ["B1:C1", "D1:E1"]})
    rec = read_recording(path)
    assert [(c.name, c.unit) for c in rec.channels] == [
        ("Pump A / speed", "rpm"), ("Pump A / current", "A"),
        ("Pump B / speed", "rpm"), ("Pump B / current", "A")]
    assert rec.samples == 30 and not np.isnan(rec.values).any()
    assert rec.effective_rate() == pytest.approx(10.0)
    info = _info(path, capsys)
    assert info["units"] == ["rpm", "A", "rpm", "A"]
    assert info["inferred"]["header_rows"] == 2 and info["inferred"]["units_row"] is True


def test_kind06_serial_days_or_text_dates_with_a_time_column(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Date", "Time", "v"]]
    rows += [[45_658, (8 * 3600 + 10 * i) / 86400, i] for i in range(6)]  # 2025-01-01
    rec = read_recording(_book(tmp_path / "serial-days.xlsx", {"Log": rows}))
    assert rec.timestamps[0] == pytest.approx(_utc(2025, 1, 1, 8), abs=1e-3)
    assert np.allclose(np.diff(rec.timestamps), 10.0, atol=1e-3)
    assert rec.metadata["inferred"]["time_unit"] == "Excel day serial + time of day"
    text: list[list[object]] = [["Datum", "Uhrzeit", "v"]]
    text += [["14.09.2025", f"06:00:{2 * i:02d}", i] for i in range(5)]
    rec = read_recording(_book(tmp_path / "text-dates.xlsx", {"Log": text}))
    assert rec.timestamps[0] == _utc(2025, 9, 14, 6)
    assert np.allclose(np.diff(rec.timestamps), 2.0)


def _utc(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=dt.UTC).timestamp()
