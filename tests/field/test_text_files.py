"""Text files of every kind a logger or spreadsheet writes, read to their right values.

Each kind has a shared field case (skipped when ``shared/`` is absent) and generated inputs
of the same kind with other names, separators and units, so the suite stands without it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.core.errors import RecordingError
from desktop.recording.readers import read_recording, summarize_recording
from tests.field.support import field_case

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- empty cells ---------------------------------------------------------------------------
def test_field_empty_cell_is_a_gap_not_a_dropped_row() -> None:
    rec = read_recording(field_case("empty-cell.csv"))
    assert [c.name for c in rec.channels] == ["A", "B"]
    assert rec.samples == 5 and rec.effective_rate() == pytest.approx(100)
    assert rec.values[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert np.array_equal(rec.values[:, 1], [np.nan, 3, 4, 5, 6], equal_nan=True)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_empty_cells_anywhere_are_gaps(tmp_path: Path, sep: str) -> None:
    rows = ["t,x,y,z", "0,1,,3", "1,,2,", "2,4,5,6", "3,,,", "4,7,8,9"]
    rec = read_recording(write(tmp_path, "g.csv", "\n".join(rows).replace(",", sep).encode()
                               + b"\n"))
    expected = np.array([[1, np.nan, 3], [np.nan, 2, np.nan], [4, 5, 6],
                         [np.nan, np.nan, np.nan], [7, 8, 9]])
    assert np.array_equal(rec.values, expected, equal_nan=True)
    assert rec.timestamps is not None and rec.timestamps.tolist() == [0, 1, 2, 3, 4]
    assert rec.metadata["malformed"] == {}


# -- decimal comma -------------------------------------------------------------------------
def test_field_decimal_comma_with_semicolons() -> None:
    rec = read_recording(field_case("decimal-comma.csv"))
    assert [c.name for c in rec.channels] == ["temp", "pressure"]
    assert rec.values[:, 0].tolist() == [21.5, 21.6, 21.7, 21.8, 21.9]
    assert rec.values[:, 1].tolist() == [1013.2, 1013.3, 1013.4, 1013.5, 1013.6]
    assert rec.effective_rate() == pytest.approx(2.0)


@pytest.mark.parametrize("sep", [";", "\t", " "])
def test_decimal_comma_with_other_separators(tmp_path: Path, sep: str) -> None:
    time_name = "Zeit[s]" if sep == " " else "Zeit [s]"  # blanks separate the cells there
    text = sep.join([time_name, "U(V)", "I(mA)"]) + "\n"
    text += "".join(sep.join([f"{i},25", f"-{i},5", f"1{i},75"]) + "\n" for i in range(6))
    rec = read_recording(write(tmp_path, "eu.txt", text.encode()))
    assert [(c.name, c.unit) for c in rec.channels] == [("U", "V"), ("I", "mA")]
    assert rec.values.tolist() == [[-i - 0.5, 10 + i + 0.75] for i in range(6)]
    assert rec.timestamps is not None and rec.timestamps.tolist() == [i + 0.25
                                                                       for i in range(6)]


def test_single_column_with_decimal_comma_is_one_number(tmp_path: Path) -> None:
    rec = read_recording(write(tmp_path, "one.csv", b"level\n21,5\n21,6\n22,75\n"))
    assert [c.name for c in rec.channels] == ["level"]
    assert rec.values[:, 0].tolist() == [21.5, 21.6, 22.75]


def test_a_truly_ambiguous_file_is_refused_naming_the_decimal_option(tmp_path: Path) -> None:
    path = write(tmp_path, "amb.csv", b"21,5\n21,6\n21,7\n")
    with pytest.raises(RecordingError) as err:
        read_recording(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "line 1" in message
    assert "decimal comma" in message and "--decimal ," in message
    assert read_recording(path, decimal=",").values[:, 0].tolist() == [21.5, 21.6, 21.7]
    assert read_recording(path, decimal=".").values.tolist() == [[21, 5], [21, 6], [21, 7]]
    # The rest of the file can settle it: a negative second column is two columns.
    rec = read_recording(write(tmp_path, "two.csv", b"21,5\n21,-6\n"))
    assert rec.values.tolist() == [[21, 5], [21, -6]]


def test_cli_info_takes_decimal_and_refuses_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "amb.csv", b"21,5\n21,6\n")
    run = [sys.executable, "-m", "desktop", "info", str(path)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
           "LINEWATCH_HOME": str(tmp_path / "home")}
    refused = subprocess.run(run, capture_output=True, text=True, env=env, cwd=ROOT)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "--decimal ," in refused.stderr
    ok = subprocess.run([*run, "--decimal", ",", "--json"], capture_output=True, text=True,
                        env=env, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert '"samples": 2' in ok.stdout


# -- encodings -----------------------------------------------------------------------------
def test_field_bom_crlf_spreadsheet_export() -> None:
    rec = read_recording(field_case("bom-crlf.csv"))
    assert [c.name for c in rec.channels] == ["A", "B"]
    assert rec.samples == 8 and rec.effective_rate() == pytest.approx(10)
    assert rec.metadata["malformed"] == {}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_bom_and_utf16_files_keep_their_header(tmp_path: Path, encoding: str) -> None:
    text = "Time [s]\tTemp [°C]\tp/bar\r\n" + "".join(
        f"{i / 4}\t{20 + i}\t1.{i}\r\n" for i in range(8))
    rec = read_recording(write(tmp_path, "w.txt", text.encode(encoding)))
    assert [(c.name, c.unit) for c in rec.channels] == [("Temp", "°C"), ("p", "bar")]
    assert rec.samples == 8 and rec.effective_rate() == pytest.approx(4)
    assert rec.values[:, 1].tolist() == [1 + i / 10 for i in range(8)]
    assert rec.metadata["malformed"] == {}


# -- time columns by name and unit ---------------------------------------------------------
def test_field_time_unit_header() -> None:
    rec = read_recording(field_case("time-unit-header.tsv"))
    assert [(c.name, c.unit) for c in rec.channels] == [("I", "mA")]
    assert rec.effective_rate() == pytest.approx(100)


@pytest.mark.parametrize(
    ("name", "step", "rate"),
    [("time", "0.01", 100), ("t", "0.5", 2), ("timestamp", "0.001", 1000),
     ("Time(ms)", "10", 100), ("Time (ms)", "4", 250), ("Time [s]", "0.02", 50),
     ("time_us", "500", 2000), ("millis", "20", 50), ("t_ms", "1", 1000),
     ("micros", "100", 10_000)],
)
def test_time_columns_by_name_and_unit(tmp_path: Path, name: str, step: str,
                                       rate: float) -> None:
    text = f"{name},x\n" + "".join(f"{i * float(step):g},{i}\n" for i in range(20))
    rec = read_recording(write(tmp_path, "t.csv", text.encode()))
    assert [c.name for c in rec.channels] == ["x"]
    assert rec.effective_rate() == pytest.approx(rate)
    assert rec.timestamps is not None and rec.timestamps[0] == 0


def test_iso_and_epoch_time_columns(tmp_path: Path) -> None:
    iso = "when,x\n" + "".join(f"2024-05-01T12:00:0{i}Z,{i}\n" for i in range(5))
    rec = read_recording(write(tmp_path, "iso.csv", iso.encode()))
    assert rec.effective_rate() == pytest.approx(1) and rec.timestamps[0] > 1.7e9
    epoch_s = "epoch,x\n" + "".join(f"{1714564800 + i / 10},{i}\n" for i in range(5))
    rec = read_recording(write(tmp_path, "es.csv", epoch_s.encode()))
    assert rec.effective_rate() == pytest.approx(10)
    epoch_ms = "timestamp;x\n" + "".join(f"{1714564800000 + 5 * i};{i}\n" for i in range(5))
    rec = read_recording(write(tmp_path, "ems.csv", epoch_ms.encode()))
    assert rec.effective_rate() == pytest.approx(200)
    assert rec.timestamps[0] == pytest.approx(1714564800.0)


# -- counters that wrap, time that goes backwards ------------------------------------------
def test_field_millis_wrap() -> None:
    rec = read_recording(field_case("millis-wrap.csv"))
    assert rec.samples == 5
    assert np.diff(rec.timestamps) == pytest.approx([0.01] * 4)
    assert rec.duration_s > 0


@pytest.mark.parametrize(("name", "per_s"), [("millis", 1e3), ("time_us", 1e6)])
def test_32_bit_counters_unwrap_across_chunks(tmp_path: Path, name: str, per_s: float
                                              ) -> None:
    start = 2**32 - 25 * 7
    ticks = [(start + 7 * i) % 2**32 for i in range(60)]
    text = f"{name},v\n" + "".join(f"{t},{i}\n" for i, t in enumerate(ticks))
    rec = read_recording(write(tmp_path, "wrap.csv", text.encode()))
    assert rec.samples == 60
    assert np.allclose(np.diff(rec.timestamps), 7 / per_s)


def test_time_going_backwards_is_counted_and_left_out(tmp_path: Path) -> None:
    text = b"t,v\n0,0\n1,1\n2,2\n1.5,99\n3,3\n0.5,98\n4,4\n"
    rec = read_recording(write(tmp_path, "back.csv", text))
    assert rec.values[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert rec.metadata["malformed"] == {"time_backwards": 2}
    assert summarize_recording(tmp_path / "back.csv").duration_s > 0
