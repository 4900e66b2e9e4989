"""The register map of a Modbus source: which values to poll, how to decode them, how often.

A map is a CSV file with exactly this header::

    name,function,address,type,scale,offset,unit,period_s,word_order

one row per channel:

* ``name`` — the channel name (unique, not empty).
* ``function`` — ``holding`` (function code 3), ``input`` (4), ``coil`` (1) or
  ``discrete`` (2).
* ``address`` — the 0-based address **as sent on the wire** (the PDU address of the Modbus
  Application Protocol V1.1b3, §4.4), not the 1-based "40001" register number of a
  datasheet: register 40001 is holding address 0.
* ``type`` — ``int16``, ``uint16`` (one register), ``int32``, ``uint32``, ``float32`` (two
  registers, IEEE 754), ``float64`` (four registers); coils and discrete inputs are single
  bits: leave ``type`` empty or write ``bool``.
* ``scale``, ``offset`` — the value is ``raw × scale + offset`` (empty: 1 and 0).
* ``unit`` — the physical unit shown and recorded (free text, may be empty).
* ``period_s`` — seconds between two polls of this value (0.01 … 3600).
* ``word_order`` — for values spanning several registers: ``big`` (the first register holds
  the most significant word) or ``little`` (the first register holds the least significant
  word); empty means ``big``. The Modbus spec (V1.1b3, §4.2) fixes big-endian byte order
  *within* a register and leaves the order of registers in a wider value to the device, so
  this column is the datasheet's "word swap" setting.

Lines that are empty or start with ``#`` are ignored. Anything else that does not fit is
refused with one line naming the file, the line, the column and what to write instead
(:class:`~desktop.core.errors.SourceError`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from desktop.core.errors import SourceError

HEADER = ("name", "function", "address", "type", "scale", "offset", "unit", "period_s",
          "word_order")
FUNCTIONS = ("holding", "input", "coil", "discrete")
#: type → registers it spans (bits for coils and discrete inputs count as one)
TYPE_WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4,
              "bool": 1}
REGISTER_TYPES = ("int16", "uint16", "int32", "uint32", "float32", "float64")
WORD_ORDERS = ("big", "little")
MIN_PERIOD_S = 0.01
MAX_PERIOD_S = 3600.0
#: A map bigger than this is not a register map (and would poll for minutes per cycle).
MAX_ENTRIES = 2000
MAX_MAP_BYTES = 4 << 20


@dataclass(frozen=True)
class MapEntry:
    """One polled value: where it lives on the device and how it becomes a number."""

    name: str
    function: str
    address: int
    type: str
    scale: float
    offset: float
    unit: str
    period_s: float
    word_order: str
    line: int = 0

    @property
    def is_bit(self) -> bool:
        """Coils and discrete inputs: one bit each."""
        return self.function in ("coil", "discrete")

    @property
    def width(self) -> int:
        """Registers (or bits) this value spans on the wire."""
        return TYPE_WIDTH[self.type]

    @property
    def end(self) -> int:
        """One past the last address this value uses."""
        return self.address + self.width


def _fail(path: Path, line: int, column: str | None, problem: str, todo: str) -> SourceError:
    where = f"{path}:{line}"
    if column is not None:
        where += f", column {HEADER.index(column) + 1} ({column})"
    return SourceError(f"Modbus map {where}: {problem}; {todo}")


def _number(path: Path, line: int, column: str, text: str, default: float) -> float:
    if not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, line, column, f"{text!r} is not a number",
                    "write a decimal number with a '.' (e.g. 0.1) or leave it empty") from None
    if not math.isfinite(value):
        raise _fail(path, line, column, f"{text!r} is not a finite number",
                    "write a decimal number such as 0.1")
    return value


def _entry(path: Path, line: int, cells: dict[str, str], names: set[str]) -> MapEntry:
    name = cells["name"].strip()
    if not name:
        raise _fail(path, line, "name", "the channel name is empty", "give every row a name")
    if name in names:
        raise _fail(path, line, "name", f"the channel name {name!r} is used twice",
                    "give every row its own name")
    function = cells["function"].strip().lower()
    if function not in FUNCTIONS:
        raise _fail(path, line, "function", f"{cells['function']!r} is not a Modbus table",
                    "write holding, input, coil or discrete")
    text = cells["address"].strip()
    try:
        address = int(text, 0) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise _fail(path, line, "address", f"{text!r} is not a whole number",
                    "write the 0-based wire address, e.g. 0 for register 40001") from None
    if not 0 <= address <= 65535:
        raise _fail(path, line, "address", f"{address} is outside 0…65535",
                    "write the 0-based wire address (register 40001 is holding address 0)")
    kind = cells["type"].strip().lower()
    if function in ("coil", "discrete"):
        if kind not in ("", "bool"):
            raise _fail(path, line, "type", f"a {function} is a single bit, not {kind!r}",
                        "leave type empty or write bool (or read a holding/input register)")
        kind = "bool"
    elif kind not in REGISTER_TYPES:
        raise _fail(path, line, "type", f"{cells['type']!r} is not a register type",
                    "write int16, uint16, int32, uint32, float32 or float64")
    if address + TYPE_WIDTH[kind] > 65536:
        raise _fail(path, line, "address", f"a {kind} at {address} runs past address 65535",
                    "check the address or the type")
    scale = _number(path, line, "scale", cells["scale"], 1.0)
    offset = _number(path, line, "offset", cells["offset"], 0.0)
    period = _number(path, line, "period_s", cells["period_s"], math.nan)
    if math.isnan(period):
        raise _fail(path, line, "period_s", "the poll period is empty",
                    f"write seconds between polls, {MIN_PERIOD_S:g} to {MAX_PERIOD_S:g}")
    if not MIN_PERIOD_S <= period <= MAX_PERIOD_S:
        raise _fail(path, line, "period_s", f"{period:g} s is outside "
                    f"{MIN_PERIOD_S:g}…{MAX_PERIOD_S:g} s",
                    f"write seconds between polls, {MIN_PERIOD_S:g} to {MAX_PERIOD_S:g}")
    order = cells["word_order"].strip().lower() or "big"
    if order not in WORD_ORDERS:
        raise _fail(path, line, "word_order", f"{cells['word_order']!r} is not a word order",
                    "write big (first register most significant) or little, or leave it "
                    "empty for big")
    return MapEntry(name, function, address, kind, scale, offset, cells["unit"].strip(),
                    period, order, line)


def read_map(path: str | Path) -> tuple[MapEntry, ...]:
    """Read and check a register map (see the module doc for the format).

    Raises :class:`SourceError` (one line: file, line, column, what to do) for a missing
    or unreadable file, a wrong header, or any bad cell.
    """
    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
        if size > MAX_MAP_BYTES:
            raise SourceError(f"Modbus map {path}: {size / 1e6:.1f} MB is not a register map "
                              f"(at most {MAX_MAP_BYTES >> 20} MB); give the map CSV")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(f"Modbus map {path}: no such file; give the register map CSV with "
                          "--map FILE") from None
    except IsADirectoryError:
        raise SourceError(f"Modbus map {path}: is a folder; give the register map CSV") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"Modbus map {path}: not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start}); save it as UTF-8 CSV") from None
    except OSError as exc:
        raise SourceError(f"Modbus map {path}: cannot read it ({exc.strerror or exc})") from None
    rows = csv.reader(text.splitlines())
    header: tuple[str, ...] | None = None
    entries: list[MapEntry] = []
    names: set[str] = set()
    try:
        for row in rows:
            line = rows.line_num
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = tuple(cell.strip().lower() for cell in row)
                if header != HEADER:
                    raise _fail(path, line, None, f"the header is {','.join(header)!r}",
                                f"the first line must be exactly {','.join(HEADER)}")
                continue
            if len(row) != len(HEADER):
                raise _fail(path, line, None, f"{len(row)} columns instead of {len(HEADER)}",
                            f"give every row the {len(HEADER)} columns of the header "
                            "(empty cells are fine)")
            entry = _entry(path, line, dict(zip(HEADER, row, strict=True)), names)
            names.add(entry.name)
            entries.append(entry)
            if len(entries) > MAX_ENTRIES:
                raise _fail(path, line, None, f"more than {MAX_ENTRIES} rows",
                            "split the map over several sources")
    except csv.Error as exc:
        raise _fail(path, rows.line_num, None, f"not valid CSV ({exc})",
                    "check the quotes on that line") from None
    if header is None or not entries:
        raise SourceError(f"Modbus map {path}: no channels; the first line must be "
                          f"{','.join(HEADER)} and each further line one value to poll")
    return tuple(entries)


@dataclass
class PollGroup:
    """One request: contiguous values of one table polled at one period."""

    function: str
    address: int
    count: int
    period_s: float
    members: list[tuple[int, MapEntry]]  # (channel index, entry)
    next_due: float = 0.0
    polls: int = 0  # requests sent for this group so far


#: The most one read may ask for (Modbus Application Protocol V1.1b3, §6.1–6.4).
MAX_REGISTERS = 125
MAX_BITS = 2000


def plan_groups(entries: tuple[MapEntry, ...]) -> list[PollGroup]:
    """Group entries into as few requests as possible without changing what is read.

    Values of the same table and the same period whose addresses touch or overlap are read
    in one request (up to 125 registers or 2000 bits); a gap between two values is never
    bridged, because a device may answer "illegal data address" for the gap.
    """
    indexed = sorted(enumerate(entries),
                     key=lambda ie: (ie[1].function, ie[1].period_s, ie[1].address))
    groups: list[PollGroup] = []
    for index, entry in indexed:
        last = groups[-1] if groups else None
        limit = MAX_BITS if entry.is_bit else MAX_REGISTERS
        if (last is not None and last.function == entry.function
                and last.period_s == entry.period_s
                and entry.address <= last.address + last.count
                and max(last.address + last.count, entry.end) - last.address <= limit):
            last.count = max(last.address + last.count, entry.end) - last.address
            last.members.append((index, entry))
        else:
            groups.append(PollGroup(entry.function, entry.address, entry.width,
                                    entry.period_s, [(index, entry)]))
    return groups
