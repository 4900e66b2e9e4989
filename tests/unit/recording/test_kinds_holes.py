"""Issue #23, further instances of its kinds found by a careful user: the wall-clock start
of every date-time text path, compound units in header cells, text columns among the
numbers (CSV and Excel), slashed text dates in Excel. Inputs are generated here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from desktop.cli import main
from desktop.core.errors import RecordingError
from desktop.formats.columns import split_unit
from desktop.recording.chunks import open_chunks
from desktop.recording.readers import read_recording


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _info(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["info", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _utc(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=dt.UTC).timestamp()


def _book(path: Path, rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.mark.parametrize(("text", "extra", "start", "unit_words"), [
    ("Date,Value\n05/01/2024 11:59:58 AM,1\n05/01/2024 11:59:59 AM,2\n"
     "05/01/2024 12:00:00 PM,3\n05/01/2024 12:00:01 PM,4\n", ("--monthfirst",),
     "2024-05-01T11:59:58", ("MM/DD/YYYY", "AM/PM")),
    ("t,v\n2024-05-01 01:00:00 PM,1\n2024-05-01 01:00:01 PM,2\n2024-05-01 01:00:02 PM,3\n",
     (), "2024-05-01T13:00:00", ("AM/PM",)),
    ("t,v\n13/05/2024 08:00:00,1\n13/05/2024 08:00:01,2\n13/05/2024 08:00:02,3\n", (),
     "2024-05-13T08:00:00", ("DD/MM/YYYY",)),
    ("t;v\n13.05.2024 08:00:00;1\n13.05.2024 08:00:01;2\n13.05.2024 08:00:02;3\n", (),
     "2024-05-13T08:00:00", ("DD.MM.YYYY",)),
    ("time,v\n2024-05-01 08:00:00,1\n2024-05-01 08:00:01,2\n2024-05-01 08:00:02,3\n", (),
     "2024-05-01T08:00:00", ("ISO 8601",)),
    ("timestamp,v\n1714550400,1\n1714550401,2\n1714550402,3\n", (),
     "2024-05-01T08:00:00", ("s",)),
    ("time_ms,v\n1714550400000,1\n1714550400100,2\n1714550400200,3\n", (),
     "2024-05-01T08:00:00", ("ms",)),
])
def test_every_text_wall_clock_reports_its_start(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 text: str, extra: tuple[str, ...], start: str,
                                                 unit_words: tuple[str, ...]) -> None:
    info = _info(_write(tmp_path, "clock.csv", text), capsys, *extra)
    assert info["start_time"].startswith(start)
    for word in unit_words:
        assert word in info["inferred"]["time_unit"]


def test_relative_seconds_have_no_wall_clock_start(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    info = _info(_write(tmp_path, "rel.csv", "time,v\n0,1\n0.5,2\n1.0,3\n"), capsys)
    assert info["start_time"] == ""


def test_monthfirst_us_dates_read_as_the_wall_clock(tmp_path: Path) -> None:
    path = _write(tmp_path, "us.csv", "Date,Value\n05/01/2024 11:59:58 AM,1\n"
                  "05/01/2024 11:59:59 AM,2\n05/01/2024 12:00:00 PM,3\n")
    rec = read_recording(path, dayfirst=False)
    assert rec.timestamps is not None
    np.testing.assert_array_equal(
        rec.timestamps, [_utc(2024, 5, 1, 11, 59, 58), _utc(2024, 5, 1, 11, 59, 59),
                         _utc(2024, 5, 1, 12, 0, 0)])
    assert rec.start_time.startswith("2024-05-01T11:59:58")


@pytest.mark.parametrize(("header", "name", "unit"), [
    ("vib µm/s", "vib", "µm/s"), ("speed m/s", "speed", "m/s"), ("flow l/min", "flow", "l/min"),
    ("accel m/s²", "accel", "m/s²"), ("temp °C", "temp", "°C"), ("vib [µm/s]", "vib", "µm/s"),
    ("flow (l/min)", "flow", "l/min"), ("p/bar", "p", "bar"), ("I(mA)", "I", "mA"),
    ("speed rpm", "speed", "rpm"), ("Motor 1", "Motor 1", ""), ("Phase A", "Phase A", ""),
    ("Pump in", "Pump in", ""), ("x/y", "x/y", ""), ("Motor 1 / speed", "Motor 1 / speed", ""),
    ("pressure", "pressure", ""), ("time", "time", ""),
])
def test_header_units_kept_whole_and_never_invented(header: str, name: str, unit: str) -> None:
    assert split_unit(header) == (name, unit)


def test_csv_compound_units_in_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "u.csv", "time,vib µm/s,speed m/s,flow l/min,accel m/s²,temp °C\n"
                  "0,1,2,3,4,5\n0.1,1,2,3,4,5\n0.2,1,2,3,4,5\n")
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["vib", "speed", "flow", "accel", "temp"]
    assert [c.unit for c in rec.channels] == ["µm/s", "m/s", "l/min", "m/s²", "°C"]


def test_csv_text_columns_set_aside_with_a_note(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "s.csv", "time;value;status;operator\n0;1,5;OK;Hans Müller\n"
                  "0,1;2,5;Störung;Hans Müller\n0,2;3,5;OK;Eva\n0,3;4,5;\"OK; ack\";Eva\n")
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["value"]
    np.testing.assert_allclose(rec.values[:, 0], [1.5, 2.5, 3.5, 4.5])
    assert rec.timestamps is not None
    np.testing.assert_allclose(rec.timestamps, [0.0, 0.1, 0.2, 0.3])
    streamed = np.concatenate([c.values for c in open_chunks(path).chunks])
    np.testing.assert_allclose(streamed[:, 0], [1.5, 2.5, 3.5, 4.5])
    info = _info(path, capsys)
    assert info["inferred"]["text_columns"] == ["status", "operator"]
    assert any("'status'" in n and "'operator'" in n for n in info["notes"])


def test_csv_text_column_with_us_dates(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", "Date,Value,Status\n05/13/2024 11:59:59 AM,1,OK\n"
                  "05/13/2024 12:00:00 PM,2,Fault\n05/13/2024 12:00:01 PM,3,OK\n")
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["Value"]
    assert rec.timestamps is not None
    assert rec.timestamps[1] == _utc(2024, 5, 13, 12, 0, 0)


def test_xlsx_text_column_set_aside_with_a_note(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx", [["time", "value", "status"], [0.0, 1.5, "OK"],
                                       [0.1, 2.5, "Störung"], [0.2, 3.5, "OK"]])
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["value"]
    np.testing.assert_allclose(rec.values[:, 0], [1.5, 2.5, 3.5])
    assert rec.metadata["inferred"]["text_columns"] == ["status"]  # type: ignore[index]
    assert any("'status'" in n for n in rec.metadata["notes"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("cells", "dayfirst", "first"), [
    (["13/05/2024 08:00:00", "13/05/2024 08:00:01"], None, (2024, 5, 13, 8, 0, 0)),
    (["05/13/2024 11:59:59 AM", "05/13/2024 12:00:00 PM"], None, (2024, 5, 13, 11, 59, 59)),
    (["01/05/2024 12:00:00", "01/05/2024 12:00:01"], True, (2024, 5, 1, 12, 0, 0)),
    (["01/05/2024 12:00:00", "01/05/2024 12:00:01"], False, (2024, 1, 5, 12, 0, 0)),
])
def test_xlsx_slashed_text_dates(tmp_path: Path, cells: list[str], dayfirst: bool | None,
                                 first: tuple[int, ...]) -> None:
    path = _book(tmp_path / "d.xlsx", [["Date", "Value"]] + [[c, i] for i, c in enumerate(cells)])
    rec = read_recording(path, dayfirst=dayfirst)
    assert rec.timestamps is not None
    assert rec.timestamps[0] == _utc(*first)
    assert rec.timestamps[1] - rec.timestamps[0] == 1.0
    assert rec.start_time.startswith(dt.datetime(*first).isoformat())


def test_xlsx_ambiguous_slashed_dates_refused_naming_the_options(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _book(tmp_path / "d.xlsx", [["Date", "Value"], ["01/05/2024 12:00:00", 1],
                                       ["01/05/2024 12:00:01", 2]])
    with pytest.raises(RecordingError, match=r"--dayfirst.*--monthfirst"):
        read_recording(path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Date" in err and "Traceback" not in err


@pytest.mark.parametrize("text", [
    "Date;Time;v\n01.05.2024;11:59:58;1\n01.05.2024;11:59:59;2\n01.05.2024;12:00:00;3\n",
    "Date,Time,v\n2024-05-01,11:59:58,1\n2024-05-01,11:59:59,2\n2024-05-01,12:00:00,3\n",
    "Date,Time,v\n05/01/2024,11:59:58 AM,1\n05/01/2024,11:59:59 AM,2\n05/01/2024,12:00:00 PM,3\n",
])
def test_csv_date_and_time_columns_joined(tmp_path: Path, text: str) -> None:
    rec = read_recording(_write(tmp_path, "dt.csv", text), dayfirst=False)
    assert [c.name for c in rec.channels] == ["v"]
    assert rec.timestamps is not None
    np.testing.assert_array_equal(rec.timestamps, [_utc(2024, 5, 1, 11, 59, 58),
                                                   _utc(2024, 5, 1, 11, 59, 59),
                                                   _utc(2024, 5, 1, 12, 0, 0)])
    assert rec.start_time.startswith("2024-05-01T11:59:58")
    assert "date_time_columns" in rec.metadata["inferred"]  # type: ignore[operator]


def test_semicolon_decimal_comma_quoted_thousands(tmp_path: Path) -> None:
    path = _write(tmp_path, "eu.csv", 'time;value;big\n0;1,5;"1.234,5"\n1;2,5;"2.345,5"\n'
                  '2;3,5;"3.456,5"\n3;4,5;"12,5"\n')
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["value", "big"]
    np.testing.assert_allclose(rec.values, [[1.5, 1234.5], [2.5, 2345.5], [3.5, 3456.5],
                                            [4.5, 12.5]])


def _parquet(tmp_path: Path, name: str, columns: dict[str, object]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_float_time_ms_epoch_is_wall_clock(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    base_ms = 1714550400000.0
    path = _parquet(tmp_path, "f.parquet", {"time_ms": np.arange(5) * 100.0 + base_ms,
                                            "v": np.arange(5, dtype=float)})
    rec = read_recording(path)
    assert rec.timestamps is not None
    np.testing.assert_allclose(rec.timestamps - rec.timestamps[0], [0, 0.1, 0.2, 0.3, 0.4],
                               atol=1e-12)
    info = _info(path, capsys)
    assert info["start_time"].startswith("2024-05-01T08:00:00")
    assert info["sample_rate"] == pytest.approx(10.0, rel=1e-12)
    assert "1970" in info["inferred"]["time_unit"]


def test_parquet_relative_float_time_ms_stays_relative(tmp_path: Path) -> None:
    path = _parquet(tmp_path, "r.parquet", {"time_ms": np.arange(5) * 100.0,
                                            "v": np.arange(5, dtype=float)})
    rec = read_recording(path)
    assert rec.start_time == ""
    assert rec.timestamps is not None
    np.testing.assert_allclose(rec.timestamps, [0, 0.1, 0.2, 0.3, 0.4])


def test_parquet_text_and_date_time_columns(tmp_path: Path) -> None:
    import pyarrow as pa

    text = _parquet(tmp_path, "s.parquet", {
        "time": [f"2024-05-01 08:00:0{i}" for i in range(4)], "v": np.arange(4, dtype=float)})
    rec = read_recording(text)
    assert rec.timestamps is not None
    np.testing.assert_allclose(rec.timestamps - rec.timestamps[0], [0, 1, 2, 3])
    assert rec.start_time.startswith("2024-05-01T08:00:00")
    dates = _parquet(tmp_path, "d.parquet", {
        "date": pa.array(np.arange(3, dtype=np.int32) + 19844, pa.date32()),
        "v": np.arange(3, dtype=float)})
    rec = read_recording(dates)
    assert rec.start_time.startswith("2024-05-01T00:00:00")
    assert rec.timestamps is not None
    np.testing.assert_allclose(np.diff(rec.timestamps), [86400.0, 86400.0])
    words = _parquet(tmp_path, "w.parquet", {"timestamp": ["a", "b"], "v": [1.0, 2.0]})
    assert read_recording(words).timestamps is None  # text that is not dates: no time axis


def test_tdms_three_groups_each_listed_and_picked(tmp_path: Path) -> None:
    from nptdms import ChannelObject, TdmsWriter

    path = tmp_path / "three.tdms"
    start = np.datetime64("2024-05-01T08:00:00")
    with TdmsWriter(str(path)) as w:
        w.write_segment([
            ChannelObject("vib", "x", np.arange(100.0),
                          properties={"wf_increment": 1e-3, "wf_start_time": start}),
            ChannelObject("temp", "t", np.arange(10.0), properties={"wf_increment": 0.1}),
            ChannelObject("press", "p", np.arange(5.0), properties={"wf_increment": 0.2})])
    rec = read_recording(path)
    groups = rec.metadata["inferred"]["groups"]  # type: ignore[index]
    assert set(groups) == {"vib", "temp", "press"}
    assert rec.start_time == "2024-05-01T08:00:00+00:00"  # ISO with offset, like the others
    temp = read_recording(path, group="temp")
    assert [c.name for c in temp.channels] == ["t"]  # a waveform named "t" is a signal
    assert temp.effective_rate() == pytest.approx(10.0)
    np.testing.assert_array_equal(temp.values[:, 0], np.arange(10.0))


def test_tdms_shorter_channel_left_out_with_a_note(tmp_path: Path) -> None:
    from nptdms import ChannelObject, TdmsWriter

    path = tmp_path / "uneven.tdms"
    with TdmsWriter(str(path)) as w:
        inc = {"wf_increment": 1e-3}
        w.write_segment([ChannelObject("g", "a", np.arange(100.0), properties=inc),
                         ChannelObject("g", "b", np.arange(60.0), properties=inc)])
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["a"]
    assert any("'g/b'" in n and "60" in n for n in rec.metadata["notes"])  # type: ignore[attr-defined]


def test_mat_struct_arrays_nested_structs_and_cells(tmp_path: Path) -> None:
    import scipy.io as sio

    records = np.zeros((1, 2), dtype=[("x", "O"), ("fs", "O")])
    records[0, 0]["x"], records[0, 0]["fs"] = np.arange(100.0), 1000.0
    records[0, 1]["x"], records[0, 1]["fs"] = np.arange(100.0) * 2, 1000.0
    sio.savemat(tmp_path / "sarr.mat", {"data": records})
    rec = read_recording(tmp_path / "sarr.mat")
    assert [c.name for c in rec.channels] == ["data(1).x", "data(2).x"]
    assert rec.sample_rate == 1000.0
    np.testing.assert_array_equal(rec.values[:, 1], np.arange(100.0) * 2)

    sio.savemat(tmp_path / "nested.mat", {"data": {"vib": {"x": np.arange(10.0),
                                                           "y": np.arange(10.0) + 1},
                                                   "fs": 2000.0}})
    rec = read_recording(tmp_path / "nested.mat")
    assert [c.name for c in rec.channels] == ["data.vib.x", "data.vib.y"]
    assert rec.sample_rate == 2000.0

    cells = np.empty((1, 3), dtype=object)
    cells[0, 0], cells[0, 1], cells[0, 2] = np.arange(50.0), np.arange(50.0) * 3, np.arange(7.0)
    sio.savemat(tmp_path / "cell.mat", {"signals": cells, "fs": 500.0})
    rec = read_recording(tmp_path / "cell.mat")
    assert [c.name for c in rec.channels] == ["signals{1}", "signals{2}"]
    np.testing.assert_array_equal(rec.values[:, 1], np.arange(50.0) * 3)
    assert any("signals{3}" in n for n in rec.metadata["notes"])  # type: ignore[attr-defined]


def test_xlsx_title_over_blank_rows_is_not_a_header(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B2"] = "Pump 3 test run"
    ws.append([])
    ws.append([None, "time", "flow", "press"])
    for i in range(5):
        ws.append([None, i * 0.5, i + 1.0, i * 2.0])
    wb.save(tmp_path / "title.xlsx")
    rec = read_recording(tmp_path / "title.xlsx")
    assert [c.name for c in rec.channels] == ["flow", "press"]
    assert rec.effective_rate() == pytest.approx(2.0)
    assert rec.metadata["inferred"]["title"] == "Pump 3 test run"  # type: ignore[index]


def test_xlsx_blank_date_cells_counted_and_noted(tmp_path: Path) -> None:
    t0 = dt.datetime(2024, 5, 1, 8)
    rows: list[list[object]] = [["Date", "v"]]
    rows += [[t0 + dt.timedelta(seconds=i) if i != 3 else None, float(i)] for i in range(6)]
    rec = read_recording(_book(tmp_path / "b.xlsx", rows))
    np.testing.assert_array_equal(rec.values[:, 0], [0.0, 1.0, 2.0, 4.0, 5.0])
    assert rec.metadata["malformed"] == {"timestamp": 1}
    assert any("'Date'" in n for n in rec.metadata["notes"])  # type: ignore[attr-defined]


def test_dst_forward_change_is_a_gap_with_a_note(tmp_path: Path) -> None:
    path = _write(tmp_path, "dst.csv", "time,v\n2024-03-31 01:59:58,1\n2024-03-31 01:59:59,2\n"
                  "2024-03-31 03:00:00,3\n2024-03-31 03:00:01,4\n")
    rec = read_recording(path)
    assert rec.samples == 4 and not rec.metadata["malformed"]
    assert any("DST" in n and "gap" in n for n in rec.metadata["notes"])  # type: ignore[attr-defined]
    plain = _write(tmp_path, "plain.csv", "time,v\n2024-05-01 01:59:58,1\n2024-05-01 01:59:59,2\n"
                   "2024-05-01 03:00:00,3\n2024-05-01 03:00:01,4\n")  # a Wednesday: no DST
    assert not read_recording(plain).metadata.get("notes")


@pytest.mark.parametrize("marker", ["NaN", "n/a", "-", "#N/A", "null"])
def test_missing_value_words_are_gaps(tmp_path: Path, marker: str) -> None:
    path = _write(tmp_path, "m.csv", f"time,a,b\n0,1,{marker}\n0.1,2,{marker}\n0.2,3,5\n"
                  "0.3,-4,6\n")
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["a", "b"]
    np.testing.assert_array_equal(rec.values, [[1, np.nan], [2, np.nan], [3, 5], [-4, 6]])
    assert rec.metadata["malformed"] == {}


def test_error_word_under_the_header_is_counted_not_a_preamble(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, "e.csv", "time,a,b\n0,1,ERR\n0.1,2,5\n0.2,3,6\n"))
    assert "preamble" not in rec.metadata.get("inferred", {})  # type: ignore[operator]
    assert rec.metadata["malformed"] == {"non_numeric": 1}
    np.testing.assert_array_equal(rec.values, [[2, 5], [3, 6]])


def test_a_cell_missing_in_an_early_row_is_counted_not_a_preamble(tmp_path: Path) -> None:
    """A newcomer's file: the second data row lacks a cell. The header and the first row
    became a preamble and the time column a channel (rate unknown), exit 0."""
    rec = read_recording(_write(tmp_path, "s.csv", "time,a,b\n0,1,2\n0.01,1\n0.02,3,4\n"
                                "0.03,5,6\n0.04,7,8\n"))
    assert [c.name for c in rec.channels] == ["a", "b"]
    assert "preamble" not in rec.metadata.get("inferred", {})  # type: ignore[operator]
    assert rec.metadata["malformed"] == {"columns": 1}
    np.testing.assert_array_equal(rec.values, [[1, 2], [3, 4], [5, 6], [7, 8]])
    np.testing.assert_allclose(rec.timestamps, [0, 0.02, 0.03, 0.04])


def test_a_windows_1252_header_is_read_with_its_units(tmp_path: Path) -> None:
    """A Windows logger's header in its code page (``°C`` as byte B0): it was dropped as
    non-UTF-8 and the time column read as a channel."""
    path = tmp_path / "w.csv"
    path.write_bytes("Zeit,Temperatur °C,Druck\n".encode("cp1252")
                     + b"".join(f"{i},{20 + i},{1 + i / 10:.1f}\n".encode() for i in range(10)))
    rec = read_recording(path)
    assert [(c.name, c.unit) for c in rec.channels] == [("Temperatur", "°C"), ("Druck", "")]
    assert rec.effective_rate() == 1.0 and not rec.metadata["malformed"]
    assert "Windows-1252" in str(rec.metadata["inferred"]["encoding"])  # type: ignore[index]


def test_streamed_text_reports_the_same_wall_clock_start(tmp_path: Path) -> None:
    path = _write(tmp_path, "us.csv", "Date,Value\n05/13/2024 11:59:58 AM,1\n"
                  "05/13/2024 11:59:59 AM,2\n05/13/2024 12:00:00 PM,3\n")
    stream = open_chunks(path)
    list(stream.chunks)
    assert stream.start_time == read_recording(path).start_time
    assert stream.start_time.startswith("2024-05-13T11:59:58")
