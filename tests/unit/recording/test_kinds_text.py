"""Issue #23, the text kinds (8–12, 15): a units row, a preamble (Campbell TOA5, DAQ
key/value lines), a ``# `` header, quoted thousands, AM/PM and day/month orders, local
time repeating at a DST change. Files are generated here the way those tools write
them; each is read whole and streamed (the window's path) with the same values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.errors import RecordingError
from desktop.recording.chunks import open_chunks
from desktop.recording.readers import read_recording


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _info(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["info", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _streamed(path: Path, **options: object) -> np.ndarray:
    stream = open_chunks(path, **options)
    return np.concatenate([c.values for c in stream.chunks])


def _utc(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=dt.UTC).timestamp()


def test_kind08_units_row_under_the_header(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"{i * 0.5},{20 + i},{1.5 + i / 10},{i * 3}\r\n" for i in range(8))
    path = _write(tmp_path, "units.csv", "Time,Oil temp,Line pressure,Flow\r\n"
                                         "ms,°C,bar,l/min\r\n" + rows)
    rec = read_recording(path)
    assert [(c.name, c.unit) for c in rec.channels] == [
        ("Oil temp", "°C"), ("Line pressure", "bar"), ("Flow", "l/min")]
    assert rec.samples == 8 and rec.metadata["malformed"] == {}
    assert rec.values[:, 0].tolist() == [20.0 + i for i in range(8)]
    assert rec.effective_rate() == pytest.approx(2000.0)  # the units row says ms
    info = _info(path, capsys)
    assert info["units"] == ["°C", "bar", "l/min"] and info["inferred"]["units_row"] == "line 2"
    assert np.array_equal(_streamed(path), rec.values)


def test_kind09_toa5_preamble_is_metadata(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    head = ('"TOA5","Station7","CR1000X","4410","CR1000X.Std.05","CPU:pump.CR1X","2291",'
            '"Min10"\r\n"TIMESTAMP","RECORD","Flow_Avg","Temp_C_Avg"\r\n'
            '"TS","RN","l/s","Deg C"\r\n"","","Avg","Avg"\r\n')
    rows = "".join(f'"2025-02-03 10:{i:02d}:00",{i},{3.5 + i},{11.0 + i / 2}\r\n'
                   for i in range(0, 50, 10))
    path = _write(tmp_path, "CR1000X_Min10.dat", head + rows)
    rec = read_recording(path)
    names = [c.name for c in rec.channels]
    assert names[-2:] == ["Flow_Avg", "Temp_C_Avg"]
    assert [c.unit for c in rec.channels][-2:] == ["l/s", "Deg C"]
    assert rec.timestamps is not None and rec.timestamps[0] == _utc(2025, 2, 3, 10, 0, 0)
    assert np.allclose(np.diff(rec.timestamps), 600.0)
    assert rec.values[:, -2].tolist() == [3.5, 13.5, 23.5, 33.5, 43.5]
    assert rec.metadata["malformed"] == {}
    info = _info(path, capsys)
    assert info["inferred"]["preamble"][0].startswith('"TOA5"')
    assert info["inferred"]["header"] == "line 2"


def test_kind09_daq_key_value_preamble(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    head = ("Test: pump run 7\nOperator: KM\nSample rate: 200 Hz\nDate: 2025-01-09\n"
            "Channels: 2\n\n")
    rows = "".join(f"{i / 200:.3f};{i};{-i}\n" for i in range(10))
    path = _write(tmp_path, "daq.txt", head + "t;a;b\n" + rows)
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["a", "b"]
    assert rec.effective_rate() == pytest.approx(200.0) and rec.samples == 10
    assert rec.metadata["malformed"] == {}
    info = _info(path, capsys)
    assert info["inferred"]["preamble_lines"] == 5
    assert "Sample rate: 200 Hz" in info["inferred"]["preamble"]
    assert np.array_equal(_streamed(path), rec.values)


def test_kind10_numpy_savetxt_hash_header(tmp_path: Path) -> None:
    data = np.column_stack([np.arange(6) / 50, np.arange(6) ** 2, -np.arange(6)])
    for delimiter in (",", " ", "\t"):
        path = tmp_path / f"saved{len(delimiter)}{delimiter == ' '}.txt"
        np.savetxt(path, data, delimiter=delimiter, header=delimiter.join(["t", "x", "y"]))
        rec = read_recording(path)
        assert [c.name for c in rec.channels] == ["x", "y"], delimiter
        assert rec.effective_rate() == pytest.approx(50.0)
        assert rec.values[:, 0].tolist() == [0, 1, 4, 9, 16, 25]


def test_kind11_quoted_thousands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "energy.csv", 'time,energy,power\n0,"12,345.5","1,002.25"\n'
                                          '1,"12,400.0",998.5\n2,"12,455.75","1,010.0"\n')
    rec = read_recording(path)
    assert rec.values.tolist() == [[12345.5, 1002.25], [12400.0, 998.5], [12455.75, 1010.0]]
    assert rec.metadata["malformed"] == {}
    assert "thousands" in _info(path, capsys)["inferred"]
    ambiguous = _write(tmp_path, "amb.csv", 'time,count\n0,"1,234"\n1,"2,000"\n')
    with pytest.raises(RecordingError, match=r"line 2, column 2: .*--thousands ,"):
        read_recording(ambiguous)
    assert main(["info", str(ambiguous)]) == 2
    assert "--thousands" in capsys.readouterr().err
    ok = read_recording(ambiguous, thousands=",")
    assert ok.values[:, 0].tolist() == [1234.0, 2000.0]


def test_kind12_am_pm_timestamps(tmp_path: Path) -> None:
    rows = ["2025-03-04 11:59:58 AM,1", "2025-03-04 12:00:00 PM,2", "2025-03-04 12:30:00 PM,3",
            "2025-03-04 01:00:00 PM,4", "2025-03-04 11:00:00 PM,5", "2025-03-05 12:00:00 AM,6"]
    rec = read_recording(_write(tmp_path, "ampm.csv", "Timestamp,v\n" + "\n".join(rows) + "\n"))
    assert rec.values[:, 0].tolist() == [1, 2, 3, 4, 5, 6]  # nothing dropped as backwards
    assert rec.timestamps.tolist() == [
        _utc(2025, 3, 4, 11, 59, 58), _utc(2025, 3, 4, 12), _utc(2025, 3, 4, 12, 30),
        _utc(2025, 3, 4, 13), _utc(2025, 3, 4, 23), _utc(2025, 3, 5, 0)]


def test_kind12_us_and_day_first_dates(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    us = _write(tmp_path, "us.csv", "Date Time,flow\n" + "".join(
        f"03/{d:02d}/2025 0{h}:15:00 PM,{d}\n" for d, h in ((12, 1), (13, 2), (14, 3))))
    rec = read_recording(us)  # day 13 and 14 in the second place: month first
    assert rec.timestamps.tolist() == [_utc(2025, 3, 12, 13, 15), _utc(2025, 3, 13, 14, 15),
                                       _utc(2025, 3, 14, 15, 15)]
    eu = _write(tmp_path, "eu.csv", "time;v\n" + "".join(
        f"{d:02d}/04/2025 10:00:00;{d}\n" for d in (20, 21)))
    assert read_recording(eu).timestamps[0] == _utc(2025, 4, 20, 10)
    ambiguous = _write(tmp_path, "amb.csv", "time,v\n01/02/2025 10:00,1\n01/03/2025 10:00,2\n")
    assert main(["info", str(ambiguous)]) == 2
    err = capsys.readouterr().err
    assert "amb.csv: line 2" in err and "--dayfirst" in err and err[-1] == "\n"
    assert read_recording(ambiguous, dayfirst=True).timestamps[1] == _utc(2025, 3, 1, 10)
    assert read_recording(ambiguous, dayfirst=False).timestamps[1] == _utc(2025, 1, 3, 10)
    info = _info(ambiguous, capsys, "--monthfirst")
    assert info["inferred"]["time_format"].startswith("MM/DD/YYYY")
    dotted = _write(tmp_path, "de.csv", "Zeit;T\n03.04.2025 08:00:00;1\n03.04.2025 08:00:05;2\n")
    assert read_recording(dotted).timestamps[0] == _utc(2025, 4, 3, 8)


def test_kind15_dst_repeat_is_named(tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    start = dt.datetime(2025, 10, 26, 2, 40)
    stamps = [start + dt.timedelta(minutes=10 * i) for i in range(2)]  # 02:40, 02:50
    stamps += [dt.datetime(2025, 10, 26, 2, 0) + dt.timedelta(minutes=10 * i)
               for i in range(6)]  # the hour again: 02:00 … 02:50
    stamps += [dt.datetime(2025, 10, 26, 3, 0)]
    lines = [f"{s:%Y-%m-%d %H:%M:%S},{i}" for i, s in enumerate(stamps)]
    path = _write(tmp_path, "plant-local.csv", "time,level\n" + "\n".join(lines) + "\n")
    rec = read_recording(path)
    notes = rec.metadata["notes"]
    assert any("DST" in n and "lines 4-8" in n for n in notes), notes
    info = _info(path, capsys)
    assert any("local time repeats" in n for n in info["notes"])
    assert info["malformed"]["time_backwards"] == 5
    with_offset = _write(tmp_path, "utc.csv", "time,level\n2025-10-26T02:50:00+02:00,1\n"
                                              "2025-10-26T02:00:00+01:00,2\n")
    assert "notes" not in read_recording(with_offset).metadata


def test_kind09_a_date_in_the_preamble_is_not_the_time_format(tmp_path: Path) -> None:
    path = _write(tmp_path, "pre.csv", "Start: 05/01/2024\nOperator: x\n\ntime,v\n"
                                       "2024-05-01 10:00:00,1\n2024-05-01 10:00:01,2\n"
                                       "2024-05-01 10:00:02,3\n")
    rec = read_recording(path)  # no day/month refusal: the rows are ISO
    assert rec.values[:, 0].tolist() == [1, 2, 3]
    assert rec.metadata["inferred"]["preamble"] == ["Start: 05/01/2024", "Operator: x"]


def test_kind11_european_dot_groups_and_other_marks(tmp_path: Path) -> None:
    path = _write(tmp_path, "eu.csv", "Zeit [s];Leistung [W]\n0;1.234,5\n1;12.345,25\n"
                                      "2;999,5\n")
    rec = read_recording(path)
    assert rec.values[:, 0].tolist() == [1234.5, 12345.25, 999.5]
    assert rec.channels[0].unit == "W"
    swiss = _write(tmp_path, "ch.csv", "t,p\n0,1'234.5\n1,2'000.25\n")
    assert read_recording(swiss, thousands="'").values[:, 0].tolist() == [1234.5, 2000.25]


def test_kind12_year_first_and_month_names(tmp_path: Path) -> None:
    ymd = _write(tmp_path, "ymd.csv", "time,v\n2025/03/04 13:00:00,1\n2025/03/04 13:00:05,2\n")
    assert read_recording(ymd).timestamps.tolist() == [_utc(2025, 3, 4, 13),
                                                       _utc(2025, 3, 4, 13, 0, 5)]
    named = _write(tmp_path, "mon.csv", "time,v\n04-Mar-2025 1:00:00 PM,1\n"
                                        "04-Mar-2025 1:00:10 PM,2\n")
    assert read_recording(named).timestamps[0] == _utc(2025, 3, 4, 13)
