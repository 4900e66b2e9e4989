"""The Modbus source against pymodbus's own server: TCP on loopback, RTU over a socat pty
pair; decoding, per-channel rates, exception replies, bad CRCs, a server that goes away and
comes back, `linewatch record` and the replay of what it recorded."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from pymodbus.client import ModbusTcpClient

from desktop.app import SourceOptions, create_source, source_from_options
from desktop.cli import main
from desktop.core.errors import SourceError
from desktop.core.types import SourceState
from desktop.recording.readers import read_recording
from desktop.sources.modbus import ModbusSource, SerialLine
from desktop.sources.modbus_map import HEADER
from tests.support.modbus_server import ModbusTestServer, SocatPair, free_port, socat_available

pytestmark = pytest.mark.slow
DT = ModbusTcpClient.DATATYPE


def regs(value: float, kind: str, order: str = "big") -> list[int]:
    """A value as the device holds it (pymodbus's own encoder)."""
    return ModbusTcpClient.convert_to_registers(value, getattr(DT, kind.upper()),
                                                word_order=order)  # type: ignore[arg-type]


def write_map(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "map.csv"
    path.write_text("\n".join([",".join(HEADER), *rows]) + "\n", encoding="utf-8")
    return path


def poll(source: ModbusSource, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    times, values = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        block = source.read(0.05)
        if len(block):
            assert block.timestamps is not None
            times.append(block.timestamps)
            values.append(block.values)
    return np.concatenate(times), np.vstack(values)


TYPES_MAP = (
    "i16,holding,0,int16,0.1,,degC,0.05,",
    "u16,holding,1,uint16,,,,0.05,",
    "i32b,holding,2,int32,,,,0.05,big",
    "u32l,holding,4,uint32,,,,0.05,little",
    "f32b,holding,6,float32,2,1,bar,0.05,big",
    "f32l,holding,8,float32,,,,0.05,little",
    "f64,holding,10,float64,,,,0.05,big",
    "slow,input,0,int16,,,,0.5,",
    "run,coil,5,,,,,0.1,",
    "door,discrete,2,bool,,,,0.1,",
)


def load_values(server: ModbusTestServer) -> None:
    server.set("holding", 0, regs(-123, "int16") + regs(65000, "uint16")
               + regs(-70000, "int32", "big") + regs(3_000_000_000, "uint32", "little")
               + regs(1.5, "float32", "big") + regs(-2.25, "float32", "little")
               + regs(math.pi, "float64", "big"))
    server.set("input", 0, regs(-7, "int16"))
    server.set("coil", 5, [1])
    server.set("discrete", 2, [1])


EXPECTED = [-12.3, 65000, -70000, 3_000_000_000, 1.5 * 2 + 1, -2.25, math.pi, -7, 1, 1]


def test_tcp_decodes_every_type_and_word_order_at_each_channels_own_rate(
        tmp_path: Path) -> None:
    port = free_port()
    with ModbusTestServer(tcp_port=port) as server:
        load_values(server)
        source = create_source(f"modbus-tcp:127.0.0.1:{port}",
                               SourceOptions(map_path=str(write_map(tmp_path, *TYPES_MAP))))
        assert isinstance(source, ModbusSource)
        assert [c.unit for c in source.channels][:1] == ["degC"]
        before = time.time()
        source.open()
        try:
            times, values = poll(source, 2.0)
        finally:
            source.close()
    assert np.allclose(values[-1], EXPECTED)
    # stamped at reply, wall-clock seconds, strictly in order
    assert before <= times[0] and times[-1] <= time.time() and np.all(np.diff(times) > 0)
    polls = {g.period_s: g.polls for g in source.groups}
    assert 30 <= polls[0.05] <= 41 and 3 <= polls[0.5] <= 5 and 15 <= polls[0.1] <= 21
    # sample-and-hold: NaN only before a channel's first reply
    slow = values[:, 7]
    first = int(np.argmax(np.isfinite(slow)))
    assert np.all(np.isnan(slow[:first])) and np.all(np.isfinite(slow[first:]))
    assert source.lost_replies == 0 and not source.malformed


def test_exception_replies_and_wrong_type_maps_are_counted_not_fatal(tmp_path: Path) -> None:
    port = free_port()
    with ModbusTestServer(tcp_port=port, holding=10, inputs=4) as server:
        server.set("holding", 0, [11])
        path = write_map(tmp_path,
                         "good,holding,0,uint16,,,,0.1,",
                         "beyond,input,50,uint16,,,,0.1,",       # no such input register
                         "too_wide,holding,9,float32,,,,0.2,",   # a float32 needs 9 and 10
                         "wrong_table,input,8,int16,,,,0.2,")    # holding 8 exists, input not
        source = create_source(f"modbus-tcp:127.0.0.1:{port}", SourceOptions(map_path=str(path)))
        assert isinstance(source, ModbusSource)
        source.open()
        try:
            _, values = poll(source, 1.0)
        finally:
            source.close()
    assert np.all(values[-1, 0] == 11) and np.all(np.isnan(values[:, 1:]))
    assert set(source.malformed) == {"exception_illegal_address"}
    assert source.malformed["exception_illegal_address"] == source.lost_replies >= 15
    assert source.state is SourceState.CLOSED


def test_tcp_server_that_goes_away_and_comes_back(tmp_path: Path) -> None:
    port = free_port()
    path = write_map(tmp_path, "a,holding,0,uint16,,,,0.05,")
    server = ModbusTestServer(tcp_port=port).start()
    server.set("holding", 0, [1])
    states: list[SourceState] = []
    source = create_source(f"modbus-tcp:127.0.0.1:{port}", SourceOptions(map_path=str(path)))
    assert isinstance(source, ModbusSource)
    source.add_state_listener(lambda state, _detail: states.append(state))
    source.open()
    try:
        poll(source, 0.5)
        server.stop()
        _, values = poll(source, 1.5)
        assert source.state is SourceState.RECONNECTING and np.isnan(values[-1, 0])
        server = ModbusTestServer(tcp_port=port).start()  # listening again from here
        server.set("holding", 0, [2])
        back = time.monotonic()
        replies = source.replies
        while source.replies == replies and time.monotonic() - back < 5:
            source.read(0.05)
        reconnect_s = time.monotonic() - back
        _, values = poll(source, 0.3)
    finally:
        source.close()
        server.stop()
    print(f"reconnect after the TCP server returned: {reconnect_s:.3f} s")
    assert reconnect_s <= 2.0
    assert values[-1, 0] == 2 and source.reconnects == 1
    assert states[:2] == [SourceState.CONNECTING, SourceState.CONNECTED]
    assert SourceState.LOST in states and states[-2:] == [SourceState.CONNECTED,
                                                          SourceState.CLOSED]


def test_opening_a_server_that_is_not_there_says_so(tmp_path: Path) -> None:
    path = write_map(tmp_path, "a,holding,0,uint16,,,,1,")
    source = create_source(f"modbus-tcp:127.0.0.1:{free_port()}",
                           SourceOptions(map_path=str(path)))
    with pytest.raises(SourceError, match=r"cannot connect to modbus-tcp:127\.0\.0\.1"):
        source.open()
    with pytest.raises(SourceError, match="needs a register map"):
        create_source("modbus-tcp:127.0.0.1:502", SourceOptions())


def test_fifty_registers_at_10_hz_lose_no_reply(tmp_path: Path) -> None:
    """The short version of the 10-minute figure (bench/modbus_soak.py runs the long one)."""
    port = free_port()
    rows = [f"r{i},holding,{i},uint16,,,,0.1," for i in range(50)]
    with ModbusTestServer(tcp_port=port) as server:
        server.set("holding", 0, list(range(50)))
        source = create_source(f"modbus-tcp:127.0.0.1:{port}",
                               SourceOptions(map_path=str(write_map(tmp_path, *rows))))
        assert isinstance(source, ModbusSource)
        source.open()
        try:
            times, values = poll(source, 5.0)
        finally:
            source.close()
    assert len(source.groups) == 1 and source.lost_replies == 0 and source.late == 0
    assert 48 <= len(times) <= 51
    assert np.allclose(values[-1], np.arange(50))
    assert np.median(np.diff(times)) == pytest.approx(0.1, abs=0.01)


def test_record_then_replay_a_modbus_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    port = free_port()
    path = write_map(tmp_path, "speed,holding,0,uint16,0.5,,rpm,0.05,",
                     "temp,input,0,int16,0.1,,degC,0.2,")
    out = tmp_path / "modbus.parquet"
    with ModbusTestServer(tcp_port=port) as server:
        server.set("holding", 0, [3000])
        server.set("input", 0, regs(-215, "int16"))
        code = main(["record", "--source", f"modbus-tcp:127.0.0.1:{port}", "--map", str(path),
                     "--unit", "1", "--seconds", "1.5", "--out", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, summary
    assert summary["polling"]["lost_replies"] == 0 and summary["channels"] == 2
    rec = read_recording(out)
    assert [(c.name, c.unit) for c in rec.channels] == [("speed", "rpm"), ("temp", "degC")]
    assert rec.timestamps is not None and 1.3 <= rec.duration_s <= 1.8
    assert np.allclose(rec.values[-1], [1500.0, -21.5])
    replay = create_source(f"replay:{out}", SourceOptions(speed=math.inf))
    replay.open()
    got = 0
    while not replay.finished:
        got += len(replay.read(0.05))
    replay.close()
    assert got == rec.samples


def test_the_cli_refuses_a_bad_map_in_one_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = write_map(tmp_path, "a,holding,0,int16,,,,1,", "b,holding,1,double,,,,1,")
    code = main(["record", "--source", "modbus-tcp:127.0.0.1:1502", "--map", str(path),
                 "--out", str(tmp_path / "x.parquet")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert f"{path}:3, column 4 (type)" in err and "write int16, uint16" in err
    assert main(["sources"]) == 0
    listed = capsys.readouterr().out
    assert "modbus-tcp:HOST:PORT" in listed and "modbus-rtu:PORT" in listed


def test_the_window_options_build_a_modbus_source(tmp_path: Path) -> None:
    path = write_map(tmp_path, "a,holding,0,int16,,,,1,")
    source = source_from_options("modbus-rtu:/dev/ttyUSB9",
                                 {"map": str(path), "unit": "7", "baud": "9600",
                                  "parity": "even", "stopbits": "2"})
    assert isinstance(source, ModbusSource)
    assert (source.unit, source.line) == (7, SerialLine(9600, "E", 2))
    assert source.description == "modbus-rtu:/dev/ttyUSB9@9600 E2 unit 7"


# ------------------------------------------------------------------------------ RTU over ptys
needs_socat = pytest.mark.skipif(not socat_available(),
                                 reason="socat is not installed (tools/system_deps.sh adds it): "
                                        "the RTU tests need its pty pair")


@needs_socat
def test_rtu_over_a_pty_pair_decodes_counts_bad_crcs_and_survives_a_silent_device(
        tmp_path: Path) -> None:
    path = write_map(tmp_path, *TYPES_MAP)
    # 8N1: a Linux pty refuses parity bits (tcsetattr EINVAL); parity reaches pyserial as
    # set (test_the_window_options_build_a_modbus_source) and matters on real RS-485 only.
    with SocatPair() as pair:
        server = ModbusTestServer(serial_port=pair.a, baud=19200).start()
        load_values(server)
        source = create_source(f"modbus-rtu:{pair.b}",
                               SourceOptions(map_path=str(path), baud=19200,
                                             modbus_timeout=0.3))
        assert isinstance(source, ModbusSource)
        source.open()
        try:
            _, values = poll(source, 1.5)
            assert np.allclose(values[-1], EXPECTED)
            assert source.lost_replies == 0
            server.corrupt = 3  # three replies with a broken CRC on the line
            _, values = poll(source, 1.5)
            assert source.malformed["crc"] == 3 and source.lost_replies == 3
            server.stop()  # the device stops answering; the port stays
            poll(source, 2.0)
            assert source.malformed["timeout"] >= 3 and source.state is SourceState.LOST
            server = ModbusTestServer(serial_port=pair.a, baud=19200).start()
            load_values(server)
            back = time.monotonic()
            replies = source.replies
            while source.replies == replies and time.monotonic() - back < 5:
                source.read(0.05)
            answer_s = time.monotonic() - back
            _, values = poll(source, 1.0)
        finally:
            source.close()
            server.stop()
    print(f"RTU: first reply {answer_s:.3f} s after the device answered again")
    assert answer_s <= 2.0 and source.state is SourceState.CLOSED
    assert np.allclose(values[-1], EXPECTED)


def test_a_tcp_server_that_stops_answering_is_redialled(tmp_path: Path) -> None:
    """Connected but silent (a hung gateway): timeouts counted, LOST, redialled, and polled
    again as soon as it answers."""
    port = free_port()
    path = write_map(tmp_path, "a,holding,0,uint16,,,,0.05,")
    with ModbusTestServer(tcp_port=port) as server:
        server.set("holding", 0, [5])
        source = create_source(f"modbus-tcp:127.0.0.1:{port}",
                               SourceOptions(map_path=str(path), modbus_timeout=0.2))
        assert isinstance(source, ModbusSource)
        source.open()
        try:
            poll(source, 0.3)
            server.delay_s = 1.0
            _, values = poll(source, 1.5)
            assert source.malformed["timeout"] >= 3 and np.isnan(values[-1, 0])
            assert source.state in (SourceState.LOST, SourceState.RECONNECTING,
                                    SourceState.CONNECTED)  # redialled, still silent
            server.delay_s = 0.0
            back = time.monotonic()
            replies = source.replies
            while source.replies == replies and time.monotonic() - back < 5:
                source.read(0.05)
            answer_s = time.monotonic() - back
            _, values = poll(source, 0.3)
        finally:
            source.close()
    assert answer_s <= 2.0 and values[-1, 0] == 5 and source.reconnects >= 1


@needs_socat
def test_rtu_port_that_vanishes_and_comes_back(tmp_path: Path) -> None:
    """The RS-485 adapter is unplugged (the pty pair and its by-id style link go away) and
    plugged in again at the same path: LOST, then polled again once the port is back."""
    link_server, link_device = str(tmp_path / "server-end"), str(tmp_path / "ttyUSB-by-id")
    path = write_map(tmp_path, "a,holding,0,uint16,,,,0.05,")
    pair = SocatPair(link_server, link_device)
    server = ModbusTestServer(serial_port=link_server).start()
    server.set("holding", 0, [3])
    source = create_source(f"modbus-rtu:{link_device}",
                           SourceOptions(map_path=str(path), baud=19200, modbus_timeout=0.3))
    assert isinstance(source, ModbusSource)
    source.open()
    try:
        poll(source, 0.5)
        assert source.replies > 0
        server.stop()
        pair.close()  # unplugged
        poll(source, 1.5)
        assert source.state in (SourceState.LOST, SourceState.RECONNECTING)
        pair = SocatPair(link_server, link_device)  # plugged in again
        server = ModbusTestServer(serial_port=link_server).start()
        server.set("holding", 0, [4])
        back = time.monotonic()
        replies = source.replies
        while source.replies == replies and time.monotonic() - back < 5:
            source.read(0.05)
        answer_s = time.monotonic() - back
        _, values = poll(source, 0.3)
    finally:
        source.close()
        server.stop()
        pair.close()
    print(f"RTU: polled again {answer_s:.3f} s after the port came back")
    assert answer_s <= 2.0 and values[-1, 0] == 4 and source.reconnects >= 1
