"""pymodbus's own server, in a thread, for the Modbus source tests (TCP and RTU over ptys).

:class:`ModbusTestServer` serves one device (non-shared blocks: coils and discrete inputs
are bit-addressed, holding and input registers are separate tables) from pymodbus's
simulator datastore (``SimDevice``/``SimData``), on loopback TCP or on one end of a socat
pty pair. It can be stopped and started again on the same address (a server that goes
away and comes back), and :meth:`set` changes register values between polls.

:class:`SocatPair` makes the pty pair with ``socat -d -d pty,raw,echo=0 pty,raw,echo=0``
and reads the two device paths from socat's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
from typing import Any

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

_BLOCKS = {"coil": 0, "discrete": 1, "holding": 2, "input": 3}
_FC_BLOCK = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 3: "holding", 6: "holding",
             16: "holding", 4: "input"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ModbusTestServer:
    """One Modbus device served by pymodbus on TCP loopback or a serial port (RTU)."""

    def __init__(self, *, tcp_port: int | None = None, serial_port: str | None = None,
                 baud: int = 19200, parity: str = "N", stopbits: int = 1, unit: int = 1,
                 holding: int = 200, inputs: int = 20, coils: int = 16,
                 discrete: int = 16) -> None:
        self.tcp_port = tcp_port
        self.serial_port = serial_port
        self.baud, self.parity, self.stopbits = baud, parity, stopbits
        self.unit = unit
        self.sizes = {"holding": holding, "input": inputs, "coil": coils,
                      "discrete": discrete}
        self._updates: list[tuple[str, int, list[int]]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self.requests = 0
        #: replies still to send with their last byte flipped (a bad RTU CRC on the line)
        self.corrupt = 0
        #: seconds every reply is held back (longer than the client's timeout: silence)
        self.delay_s = 0.0

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending and data and self.corrupt > 0:
            self.corrupt -= 1
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    def set(self, table: str, address: int, values: list[int]) -> None:
        """New raw values (registers, or 0/1 bits) from the next request on."""
        with self._lock:
            self._updates.append((table, address, list(values)))

    async def _action(self, function_code: int, start_address: int, address: int,
                      count: int, registers: list[int], set_values: object) -> None:
        self.requests += 1
        if self.delay_s:  # a device that answers too late (or not at all)
            await asyncio.sleep(self.delay_s)
        table = _FC_BLOCK.get(function_code)
        with self._lock:
            keep = []
            for name, addr, values in self._updates:
                if name != table:
                    keep.append((name, addr, values))
                    continue
                for i, v in enumerate(values):
                    if table in ("coil", "discrete"):  # 16 bits packed per register
                        reg = (addr + i) // 16 - start_address
                        bits = SimUtils.registersToBits([registers[reg]])
                        bits[(addr + i) % 16] = bool(v)
                        registers[reg] = SimUtils.bitsToRegisters(bits)[0]
                    else:
                        registers[addr - start_address + i] = v
            self._updates = keep
        return None

    def _device(self) -> SimDevice:
        blocks: list[list[SimData]] = [[], [], [], []]
        for table, size in self.sizes.items():
            kind = DataType.BITS if table in ("coil", "discrete") else DataType.REGISTERS
            value: bool | int = False if kind is DataType.BITS else 0
            blocks[_BLOCKS[table]].append(SimData(0, count=size, values=value, datatype=kind))
        return SimDevice(id=self.unit, simdata=tuple(blocks),  # type: ignore[arg-type]
                         action=self._action)

    def start(self) -> ModbusTestServer:
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def serve() -> None:
            if self.serial_port is not None:
                self._server = ModbusSerialServer(
                    self._device(), framer=FramerType.RTU, port=self.serial_port,
                    baudrate=self.baud, parity=self.parity, stopbits=self.stopbits,
                    trace_packet=self._trace)
            else:
                assert self.tcp_port is not None
                self._server = ModbusTcpServer(self._device(),
                                               address=("127.0.0.1", self.tcp_port))
            task = asyncio.ensure_future(self._server.serve_forever())
            for _ in range(200):  # wait until it listens (or the port is open)
                await asyncio.sleep(0.01)
                if self.serial_port is not None or self._listening():
                    break
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # Requests still being answered (a delayed reply) end here, not in a garbage
            # collection at some later moment of the test run.
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for pending in rest:
                pending.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(serve())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="modbus-test-server")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the pymodbus test server did not start")
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", int(self.tcp_port or 0)), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return
        with contextlib.suppress(Exception):  # the loop may already be closing
            asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._server = self._thread = None

    def __enter__(self) -> ModbusTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def socat_available() -> bool:
    return shutil.which("socat") is not None


class SocatPair:
    """Two connected pseudo-terminals made by socat (``.a`` and ``.b`` device paths)."""

    def __init__(self, link_a: str | None = None, link_b: str | None = None) -> None:
        """``link_a``/``link_b``: stable symlinks to the two ptys (socat's ``link=``), the
        way ``/dev/serial/by-id/…`` names a USB adapter; socat removes them when it ends."""
        exe = shutil.which("socat")
        if exe is None:
            raise RuntimeError("socat is not installed")
        ends = [f"pty,raw,echo=0,link={link}" if link else "pty,raw,echo=0"
                for link in (link_a, link_b)]
        self.proc = subprocess.Popen(
            [exe, "-d", "-d", *ends],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        paths: list[str] = []
        deadline = time.monotonic() + 10
        assert self.proc.stderr is not None
        while len(paths) < 2 and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            match = re.search(r"PTY is (\S+)", line)
            if match:
                paths.append(match.group(1))
        if len(paths) < 2:
            self.close()
            raise RuntimeError("socat did not report two ptys")
        self.a, self.b = paths
        # socat logs the transfer start next; keep its stderr drained so it never blocks.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for _ in self.proc.stderr:
            pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> SocatPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
