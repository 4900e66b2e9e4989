"""``modbus-tcp:HOST:PORT`` and ``modbus-rtu:PORT``: poll a Modbus device through pymodbus.

The wire protocol (MBAP header over TCP; RTU framing, CRC-16 and inter-frame silence over
RS-485) is pymodbus's own (``ModbusTcpClient`` / ``ModbusSerialClient``); this module only
decides *what* to ask for and *when*, and turns the replies into samples.

**What is polled.** A register map (:mod:`desktop.sources.modbus_map`) names each value,
its table, address, type, scale/offset, unit, poll period and word order. Values of one
table and one period at contiguous addresses are read in one request
(:func:`~desktop.sources.modbus_map.plan_groups`).

**Pacing.** Each request has its own schedule (``next_due += period``; a request that fell
more than one period behind is rescheduled from now instead of firing a burst, counted
``late``). Modbus is one transaction at a time, so a slow reply delays what is due next.

**Samples: one row per reply, sample-and-hold.** Every reply becomes one row stamped *at
the reply* (wall-clock seconds, Unix epoch, taken from a monotonic clock anchored to the
wall clock at open, so time never runs backwards when the system clock is adjusted). The
values of that reply are fresh; every other channel holds its last good value, NaN before
its first reply. So each channel is sampled at its own period, and the row stream is what
the ring buffer, the plots and a recording (a normal timestamped recording, replayed like
any other) take. A failed request (timeout, exception reply, bad frame) adds a row with
*its* channels NaN (a visible gap, not a held stale value); losing the connection adds a
row of all NaN.

**Failures, counted per kind** (``malformed``, like the serial counters): ``timeout`` (no
byte came back), ``crc`` (bytes came back but pymodbus's framer found no valid frame in
them: CRC or framing error), ``exception_<name>`` (the device answered with a Modbus
exception, e.g. ``exception_illegal_address``), ``short_reply`` (fewer values than asked).
:attr:`ModbusSource.requests` and :attr:`ModbusSource.replies` count every request and
every good reply, so ``requests - replies`` is the lost replies.

**Losing the device.** A closed TCP connection or a vanished serial port is a state change
(CONNECTED → LOST → RECONNECTING): the connection is retried after 0.1, 0.2, 0.5, then
every 1 s, so a server that comes back is polled again within about 1 s (+ one connect).
Three requests in a row without any reply also report LOST ("no reply"); over TCP the
connection is then closed and dialled again (a hung gateway or a half-open socket), on a
serial line the port is kept and polling goes on. The first good reply reports CONNECTED.
:attr:`ModbusSource.outages` lists how long each outage lasted (seconds from the last
good reply to the next one).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from desktop.core.errors import SourceError
from desktop.core.types import Block, ChannelSpec, SourceState
from desktop.sources.base import SampleSource
from desktop.sources.modbus_map import MapEntry, PollGroup, plan_groups, read_map

log = logging.getLogger(__name__)
# pymodbus logs every failed request and connect at ERROR; this source counts and reports
# them itself (one state line per outage, counters per kind), so its own lines are muted.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

BACKOFF_S: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0)
DEFAULT_TIMEOUT_S = 1.0
#: Requests in a row without a reply before the device is reported LOST.
SILENT_REQUESTS = 3
PARITIES = {"none": "N", "even": "E", "odd": "O", "n": "N", "e": "E", "o": "O"}
_DATATYPE = {
    "int16": ModbusTcpClient.DATATYPE.INT16, "uint16": ModbusTcpClient.DATATYPE.UINT16,
    "int32": ModbusTcpClient.DATATYPE.INT32, "uint32": ModbusTcpClient.DATATYPE.UINT32,
    "float32": ModbusTcpClient.DATATYPE.FLOAT32, "float64": ModbusTcpClient.DATATYPE.FLOAT64,
}


@dataclass(frozen=True)
class SerialLine:
    """RS-485/RS-232 line settings of a Modbus RTU device (8 data bits)."""

    baud: int = 19200
    parity: str = "N"  # "N", "E" or "O"
    stopbits: int = 1


def parse_tcp_target(arg: str) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST`` (port 502) or ``[IPv6]:PORT`` → (host, port).

    Raises :class:`SourceError` for an empty host or a port outside 1…65535.
    """
    text = arg.strip()
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
    if match:
        host, port_text = match.group(1), match.group(2)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, None
    host = host.strip()
    if not host:
        raise SourceError("modbus-tcp source needs a host, e.g. modbus-tcp:192.168.0.10:502")
    try:
        port = int(port_text) if port_text else 502
    except ValueError:
        raise SourceError(f"modbus-tcp port must be a number (got {port_text!r})") from None
    if not 1 <= port <= 65535:
        raise SourceError(f"modbus-tcp port must be 1…65535 (got {port})")
    return host, port


def parse_parity(text: str) -> str:
    """``none``/``even``/``odd`` (or ``N``/``E``/``O``) → pyserial's letter."""
    value = PARITIES.get(text.strip().lower())
    if value is None:
        raise SourceError(f"parity must be none, even or odd (got {text!r})")
    return value


def _exception_kind(code: int) -> str:
    try:
        return f"exception_{ExcCodes(code).name.lower()}"
    except ValueError:
        return f"exception_{code}"


class ModbusSource(SampleSource):
    """Polls a Modbus TCP server or RTU device per a register map (see the module doc)."""

    def __init__(
        self,
        transport: str,
        target: str,
        entries: Sequence[MapEntry],
        unit: int = 1,
        line: SerialLine | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        backoff: Sequence[float] = BACKOFF_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        if transport not in ("tcp", "rtu"):
            raise SourceError(f"Modbus transport must be tcp or rtu (got {transport!r})")
        if not 0 <= unit <= 247:
            raise SourceError(f"Modbus unit id must be 0…247 (got {unit})")
        if not entries:
            raise SourceError("a Modbus source needs a register map with at least one value")
        if not timeout_s > 0:
            raise SourceError("the Modbus reply timeout must be positive")
        self.transport = transport
        self.target = target
        self.unit = unit
        self.line = line or SerialLine()
        self.timeout_s = float(timeout_s)
        self.entries = tuple(entries)
        self.groups = plan_groups(self.entries)
        self.channels = tuple(ChannelSpec(e.name, e.unit) for e in self.entries)
        self.sample_rate = None  # rows are stamped at each reply
        if transport == "tcp":
            host, port = parse_tcp_target(target)
            self.description = f"modbus-tcp:{host}:{port} unit {unit}"
        else:
            self.description = (f"modbus-rtu:{target}@{self.line.baud} "
                                f"{self.line.parity}{self.line.stopbits} unit {unit}")
        self._backoff = tuple(backoff) or (1.0,)
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._client: Any = None
        self._connected = False
        self._held = np.full(len(self.entries), np.nan)
        self._rx = False
        self._silent = 0
        self._attempt = 0
        self._next_try = 0.0
        self._wall0 = 0.0
        self._mono0 = 0.0
        self._last_reply: float | None = None
        self._lost_at: float | None = None
        self.requests = 0
        self.replies = 0
        self.reconnects = 0
        self.late = 0
        #: seconds from the last good reply before an outage to the first one after it
        self.outages: list[float] = []

    # -- connection -------------------------------------------------------------------
    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending and data:
            self._rx = True
        return data

    def _make_client(self) -> Any:
        if self.transport == "tcp":
            host, port = parse_tcp_target(self.target)
            return ModbusTcpClient(host, port=port, timeout=self.timeout_s, retries=0,
                                   trace_packet=self._trace)
        return ModbusSerialClient(self.target, baudrate=self.line.baud, bytesize=8,
                                  parity=self.line.parity, stopbits=self.line.stopbits,
                                  timeout=self.timeout_s, retries=0, trace_packet=self._trace)

    def _connect(self) -> bool:
        if self._client is None:
            self._client = self._make_client()
        try:
            ok = bool(self._client.connect())
        except (OSError, ModbusException) as exc:
            log.info("modbus %s: connect failed: %s", self.target, exc)
            ok = False
        self._connected = ok
        return ok

    def open(self) -> None:
        self._set_state(SourceState.CONNECTING, self.target)
        self._mono0 = self._clock()
        self._wall0 = self._wall()
        if not self._connect():
            self._drop()
            self._set_state(SourceState.CLOSED, "cannot connect")
            where = ("is the server running and the port right?" if self.transport == "tcp"
                     else "is the port right and free (not open in another program)?")
            raise SourceError(f"cannot connect to {self.description}: {where}")
        now = self._clock()
        for group in self.groups:
            group.next_due = now
        self._set_state(SourceState.CONNECTED, self.description)

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing a broken link may raise anything
                self._client.close()
        self._connected = False

    def _stamp(self) -> float:
        return self._wall0 + (self._clock() - self._mono0)

    def _lose(self, reason: str, rows: list[tuple[float, np.ndarray]]) -> None:
        log.info("modbus %s lost: %s", self.target, reason)  # the state line says it
        self._drop()
        self._held[:] = np.nan
        rows.append((self._stamp(), self._held.copy()))
        if self._lost_at is None:
            self._lost_at = self._last_reply if self._last_reply is not None else self._clock()
        self._silent = 0
        self._set_state(SourceState.LOST, reason)
        self._attempt = 0
        self._next_try = self._clock() + self._backoff[0]
        self._set_state(SourceState.RECONNECTING, self.target)

    def _try_reconnect(self, deadline: float) -> bool:
        wait = self._next_try - self._clock()
        if wait > 0:
            self._sleep(max(0.0, min(wait, deadline - self._clock())))
            if self._next_try > self._clock():
                return False
        if not self._connect():
            self._drop()
            self._attempt += 1
            delay = self._backoff[min(self._attempt, len(self._backoff) - 1)]
            self._next_try = self._clock() + delay
            self.state_detail = f"{self.target}: no connection; retry in {delay:g} s"
            return False
        self.reconnects += 1
        now = self._clock()
        for group in self.groups:
            group.next_due = now
        log.info("modbus %s reconnected", self.target)
        self._set_state(SourceState.CONNECTED, self.description)
        return True

    # -- polling ----------------------------------------------------------------------
    def _request(self, group: PollGroup) -> Any:
        client = self._client
        call = {"holding": client.read_holding_registers, "input": client.read_input_registers,
                "coil": client.read_coils, "discrete": client.read_discrete_inputs}
        return call[group.function](group.address, count=group.count, device_id=self.unit)

    def _decode(self, group: PollGroup, reply: Any) -> None:
        if group.function in ("coil", "discrete"):
            bits = list(reply.bits)
            if len(bits) < group.count:
                raise ValueError("short")
            for index, entry in group.members:
                raw = float(bool(bits[entry.address - group.address]))
                self._held[index] = raw * entry.scale + entry.offset
            return
        registers = list(reply.registers)
        if len(registers) < group.count:
            raise ValueError("short")
        for index, entry in group.members:
            start = entry.address - group.address
            decoded = ModbusTcpClient.convert_from_registers(
                registers[start:start + entry.width], _DATATYPE[entry.type],
                word_order="little" if entry.word_order == "little" else "big")
            if not isinstance(decoded, int | float):
                raise TypeError(f"{entry.name}: decoded to {type(decoded).__name__}")
            self._held[index] = float(decoded) * entry.scale + entry.offset

    def _fail_group(self, group: PollGroup, kind: str,
                    rows: list[tuple[float, np.ndarray]]) -> None:
        self.malformed[kind] += 1
        for index, _ in group.members:
            self._held[index] = np.nan
        rows.append((self._stamp(), self._held.copy()))

    def _poll(self, group: PollGroup, rows: list[tuple[float, np.ndarray]]) -> None:
        """One request; appends the row it produced (data or a gap)."""
        self.requests += 1
        group.polls += 1
        self._rx = False
        try:
            reply = self._request(group)
        except ModbusIOException:
            self._fail_group(group, "crc" if self._rx else "timeout", rows)
            self._silent += 1
            if self._silent >= SILENT_REQUESTS:
                self._silence()
                if self.transport == "tcp":  # a hung gateway or half-open socket: redial
                    self._lose(f"no reply from unit {self.unit} in {self._silent} requests",
                               rows)
            return
        except (ConnectionException, OSError) as exc:
            self.requests -= 1  # the link is gone: an outage (outages), not a lost reply
            group.polls -= 1
            reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else \
                "the connection was closed"
            self._lose(reason, rows)
            return
        except ModbusException as exc:  # a reply pymodbus could not decode
            log.info("modbus %s: bad reply: %s", self.target, exc)
            self._fail_group(group, "crc", rows)
            return
        self._silent = 0
        if reply.isError():
            code = int(getattr(reply, "exception_code", 0) or 0)
            self._fail_group(group, _exception_kind(code), rows)
            self._answered()
            return
        try:
            self._decode(group, reply)
        except (ValueError, ModbusException, TypeError):
            self._fail_group(group, "short_reply", rows)
            self._answered()
            return
        self.replies += 1
        self._answered()
        rows.append((self._stamp(), self._held.copy()))

    def _silence(self) -> None:
        """Too many requests in a row without a reply: report the device lost."""
        if self._lost_at is None:
            self._lost_at = self._last_reply if self._last_reply is not None else self._clock()
        if self.state is SourceState.CONNECTED:
            self._set_state(SourceState.LOST, f"no reply from unit {self.unit}")

    def _answered(self) -> None:
        """The device answered (data or an exception): the link works."""
        now = self._clock()
        if self._lost_at is not None:
            self.outages.append(now - self._lost_at)
            self._lost_at = None
        self._last_reply = now
        if self.state is not SourceState.CONNECTED:
            self._set_state(SourceState.CONNECTED, self.description)

    def read(self, timeout: float) -> Block:
        """Poll what falls due within ``timeout`` seconds (a request in flight may take up
        to the reply timeout longer); one row per reply (see the module doc)."""
        deadline = self._clock() + max(0.0, timeout)
        rows: list[tuple[float, np.ndarray]] = []
        while True:
            if not self._connected:
                if self.state in (SourceState.CLOSED, SourceState.FINISHED):
                    break
                if not self._try_reconnect(deadline):
                    break
            group = min(self.groups, key=lambda g: g.next_due)
            now = self._clock()
            if group.next_due > deadline:
                if not rows:
                    self._sleep(max(0.0, deadline - now))
                break
            if group.next_due > now:
                self._sleep(group.next_due - now)
            self._poll(group, rows)
            group.next_due += group.period_s
            now = self._clock()
            if group.next_due < now - group.period_s:
                self.late += 1
                group.next_due = now
            if now >= deadline:
                break
        if not rows:
            return Block.empty(self.channels, timed=True)
        times = np.fromiter((t for t, _ in rows), dtype=np.float64, count=len(rows))
        return Block(np.vstack([v for _, v in rows]), self.channels, times)

    @property
    def lost_replies(self) -> int:
        """Requests sent that brought no usable data back."""
        return self.requests - self.replies

    def stats(self) -> dict[str, object]:
        """Figures for summaries and tests: requests, replies, lost, per-kind failures,
        reconnects, late polls and outage durations (s)."""
        return {"requests": self.requests, "replies": self.replies,
                "lost_replies": self.lost_replies, "failures": dict(self.malformed),
                "reconnects": self.reconnects, "late": self.late,
                "outages_s": [round(x, 3) for x in self.outages],
                "groups": len(self.groups)}

    def close(self) -> None:
        self._drop()
        self._client = None
        self._set_state(SourceState.CLOSED)


def build_modbus_source(
    transport: str,
    arg: str,
    map_path: str | None,
    unit: int = 1,
    line: SerialLine | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ModbusSource:
    """A :class:`ModbusSource` from a spec argument and a map file (``SourceError`` with
    a one-line reason for anything missing or wrong)."""
    kind = f"modbus-{transport}"
    if not arg.strip():
        example = "modbus-tcp:192.168.0.10:502" if transport == "tcp" else \
            "modbus-rtu:/dev/ttyUSB0"
        raise SourceError(f"{kind} source needs a {'host' if transport == 'tcp' else 'port'}"
                          f", e.g. {example}")
    if not map_path:
        raise SourceError(f"a {kind} source needs a register map: --map FILE (a CSV with the "
                          "header name,function,address,type,scale,offset,unit,period_s,"
                          "word_order)")
    if transport == "tcp":
        parse_tcp_target(arg)
    if math.isnan(timeout_s) or timeout_s <= 0:
        raise SourceError("the Modbus reply timeout must be a positive number of seconds")
    return ModbusSource(transport, arg.strip(), read_map(map_path), unit=unit, line=line,
                        timeout_s=timeout_s)
