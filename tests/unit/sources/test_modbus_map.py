"""The Modbus register map: what a good map means, and one clear line for every bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.errors import SourceError
from desktop.sources.modbus import parse_parity, parse_tcp_target
from desktop.sources.modbus_map import HEADER, plan_groups, read_map

HEAD = ",".join(HEADER)


def write(tmp_path: Path, *rows: str, header: str = HEAD) -> Path:
    path = tmp_path / "map.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_good_map_with_defaults(tmp_path: Path) -> None:
    path = write(tmp_path,
                 "# comment lines and blank lines are skipped",
                 "temp,holding,0,int16,0.1,,°C,1,",
                 "",
                 "flow,input,0x10,float32,,,m3/h,0.5,little",
                 "run,coil,3,,,,,0.2,")
    temp, flow, run = read_map(path)
    assert (temp.name, temp.function, temp.address, temp.type) == ("temp", "holding", 0, "int16")
    assert (temp.scale, temp.offset, temp.unit, temp.word_order) == (0.1, 0.0, "°C", "big")
    assert temp.line == 3
    assert (flow.address, flow.width, flow.word_order, flow.scale) == (16, 2, "little", 1.0)
    assert (run.type, run.is_bit, run.width) == ("bool", True, 1)


def test_contiguous_values_of_one_period_share_a_request(tmp_path: Path) -> None:
    path = write(tmp_path,
                 "a,holding,0,uint16,,,,0.1,",
                 "b,holding,1,float32,,,,0.1,",   # 1-2, touches a
                 "c,holding,3,int32,,,,0.1,",     # 3-4, touches b
                 "d,holding,6,int16,,,,0.1,",     # a gap at 5: never bridged
                 "e,holding,4,uint16,,,,1,",      # another period: its own request
                 "f,input,0,uint16,,,,0.1,",      # another table
                 "g,coil,0,,,,,0.1,",
                 "h,coil,1,bool,,,,0.1,")
    groups = {(g.function, g.address, g.count, g.period_s): [e.name for _, e in g.members]
              for g in plan_groups(read_map(path))}
    assert groups == {
        ("holding", 0, 5, 0.1): ["a", "b", "c"],
        ("holding", 6, 1, 0.1): ["d"],
        ("holding", 4, 1, 1.0): ["e"],
        ("input", 0, 1, 0.1): ["f"],
        ("coil", 0, 2, 0.1): ["g", "h"],
    }


def test_a_request_never_asks_for_more_than_125_registers(tmp_path: Path) -> None:
    rows = [f"r{i},holding,{i * 2},float32,,,,0.1," for i in range(100)]  # 200 registers
    groups = plan_groups(read_map(write(tmp_path, *rows)))
    assert [g.count for g in groups] == [124, 76]


@pytest.mark.parametrize(("row", "column", "says"), [
    ("t,holdings,0,int16,,,,1,", "column 2 (function)", "write holding, input, coil or discrete"),
    ("t,holding,-1,int16,,,,1,", "column 3 (address)", "outside 0…65535"),
    ("t,holding,40001x,int16,,,,1,", "column 3 (address)", "not a whole number"),
    ("t,holding,65535,float32,,,,1,", "column 3 (address)", "runs past address 65535"),
    ("t,holding,0,real,,,,1,", "column 4 (type)", "write int16, uint16"),
    ("t,coil,0,float32,,,,1,", "column 4 (type)", "single bit"),
    ("t,holding,0,int16,abc,,,1,", "column 5 (scale)", "not a number"),
    ("t,holding,0,int16,,nan,,1,", "column 6 (offset)", "not a finite number"),
    ("t,holding,0,int16,,,,,", "column 8 (period_s)", "poll period is empty"),
    ("t,holding,0,int16,,,,0,", "column 8 (period_s)", "outside 0.01…3600"),
    ("t,holding,0,int32,,,,1,middle", "column 9 (word_order)", "write big"),
    (",holding,0,int16,,,,1,", "column 1 (name)", "give every row a name"),
    ("t,holding,0,int16,,,1,", "", "8 columns instead of 9"),
])
def test_a_bad_row_is_refused_with_file_line_column_and_what_to_do(
        tmp_path: Path, row: str, column: str, says: str) -> None:
    path = write(tmp_path, "ok,holding,9,int16,,,,1,", row)
    with pytest.raises(SourceError) as info:
        read_map(path)
    message = str(info.value)
    assert "\n" not in message
    assert f"{path}:3" in message and column in message and says in message
    assert ";" in message  # the problem, then what to do


def test_whole_file_problems(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_map(tmp_path / "missing.csv")
    with pytest.raises(SourceError, match=r":1: the header is .* must be exactly name,function"):
        read_map(write(tmp_path, "t,holding,0,int16,,,,1,", header="name,fc,addr"))
    with pytest.raises(SourceError, match="no channels"):
        read_map(write(tmp_path))
    with pytest.raises(SourceError, match="used twice"):
        read_map(write(tmp_path, "t,holding,0,int16,,,,1,", "t,holding,1,int16,,,,1,"))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes((HEAD + "\nTemp\xe9,holding,0,int16,,,,1,\n").encode("latin-1"))
    with pytest.raises(SourceError, match="not UTF-8"):
        read_map(bad)


def test_targets_and_line_settings() -> None:
    assert parse_tcp_target("10.0.0.5:1502") == ("10.0.0.5", 1502)
    assert parse_tcp_target("plc.local") == ("plc.local", 502)
    assert parse_tcp_target("[::1]:5020") == ("::1", 5020)
    with pytest.raises(SourceError, match="1…65535"):
        parse_tcp_target("host:0")
    with pytest.raises(SourceError, match="needs a host"):
        parse_tcp_target(":502")
    assert parse_parity("even") == "E" and parse_parity("N") == "N"
    with pytest.raises(SourceError, match="none, even or odd"):
        parse_parity("mark")
