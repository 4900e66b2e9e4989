"""What a header cell says: a channel name and its unit, or a time column and its unit.

Loggers and spreadsheets write units into headers in a handful of ways: ``I(mA)``,
``Time (ms)``, ``temp [°C]``, ``p/bar``, ``time_us``. One parser for all of them keeps the
serial port, CSV files and the recordings agreed on a channel's name (without the unit)
and unit (``ChannelSpec.unit``, shown on axes and kept in recordings).
"""

from __future__ import annotations

import re

# Divisor (or multiplier, for minutes and hours) from a time column's unit to seconds.
# Division is kept for the sub-second units because ``ms / 1000`` is exact where
# ``ms * 1e-3`` is not, and recordings compare times bit for bit.
TIME_DIVISORS: dict[str, float] = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
TIME_MULTIPLIERS: dict[str, float] = {"min": 60.0, "h": 3600.0}
TIME_UNITS = tuple(TIME_DIVISORS) + tuple(TIME_MULTIPLIERS)
# Counters that count in these units are 32-bit on microcontrollers (millis(), micros()).
COUNTER_UNITS = frozenset({"ms", "us", "ns"})
COUNTER_WRAP = float(1 << 32)

_UNIT_ALIASES = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "ms": "ms", "msec": "ms", "millis": "ms", "millisecond": "ms", "milliseconds": "ms",
    "us": "us", "µs": "us", "μs": "us", "usec": "us", "micros": "us", "microseconds": "us",
    "ns": "ns", "nanos": "ns", "nanoseconds": "ns",
    "min": "min", "minutes": "min", "h": "h", "hours": "h",
}  # fmt: skip
# Names that mean "the time axis" by themselves (the unit may follow in brackets or a
# suffix); a bare "millis" or "micros" names its unit too.
_TIME_WORDS = frozenset({"t", "time", "timestamp", "ts", "elapsed", "epoch", "unix", "zeit"})
# Short names ("t", "s", "ms", "T" may be a temperature) count only in the first column.
_LONG_TIME_WORDS = frozenset({"time", "timestamp", "elapsed", "epoch", "unix", "zeit"})
_BARE_UNIT_NAMES = {
    "ms": "ms", "millis": "ms", "milliseconds": "ms", "us": "us", "micros": "us",
    "microseconds": "us", "seconds": "s", "sec": "s", "s": "s",
}  # fmt: skip
_BRACKETED = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<u1>[^()]*)\)|\[(?P<u2>[^\[\]]*)\])$")
_SLASHED = re.compile(r"^(?P<name>[^/]*[^/\s])\s*/\s*(?P<unit>[^/\s][^/]*)$")
_SUFFIXED = re.compile(r"^(?P<name>[a-z]+)[_\-](?P<unit>[a-zµμ]+)$")


def split_unit(header: str) -> tuple[str, str]:
    """``"I(mA)"`` → ``("I", "mA")``; ``"temp [°C]"`` → ``("temp", "°C")``;
    ``"vib µm/s"`` → ``("vib", "µm/s")``; ``"p/bar"`` → ``("p", "bar")``; a header
    without a unit → ``(header, "")``.

    A unit after a blank or a slash is taken only when it is a known unit (compound ones
    such as ``m/s``, ``µm/s``, ``l/min``, ``m/s²`` kept whole), and after a blank only a
    unit that cannot be part of a plain name (``Motor 1``, ``Phase A`` keep their names).
    """
    text = header.strip()
    match = _BRACKETED.match(text)
    if match and match.group("name"):
        unit = match.group("u1") if match.group("u1") is not None else match.group("u2")
        return match.group("name").strip(), (unit or "").strip()
    name, _, last = text.rpartition(" ")
    if name.strip() and _spaced_unit(last):
        return name.strip(), last
    match = _SLASHED.match(text)
    if match and is_unit(match.group("unit").strip()):
        return match.group("name").strip(), match.group("unit").strip()
    return text, ""


def is_unit(token: str) -> bool:
    """True when ``token`` is a known unit or a quotient of known units (``µm/s``,
    ``m/s²``, ``l/min``, ``m3/h``), case ignored."""
    low = token.strip().lower()
    if not low:
        return False
    if low in KNOWN_UNITS or low in _UNIT_ALIASES:
        return True
    parts = low.split("/")
    return len(parts) > 1 and all(
        p.rstrip("²³23").rstrip("^") in KNOWN_UNITS or p.rstrip("²³23").rstrip("^")
        in _UNIT_ALIASES for p in parts if p) and all(parts)


#: Known units that are also words or labels of a name (``Motor 1``, ``Phase A``,
#: ``Pump in``): never split off after a blank.
_NOT_AFTER_BLANK = frozenset({
    "1", "-", "a", "c", "f", "k", "g", "h", "m", "n", "s", "t", "l", "v", "w", "in", "ts",
    "rn", "unit", "units", "count", "counts", "ph", "rh", "var", "deg", "mil", "volt",
    "volts", "amps", "sec", "second", "seconds", "minutes", "hours", "min",
})  # fmt: skip


def _spaced_unit(token: str) -> bool:
    """A unit written after a blank (``temp °C``, ``speed m/s``, ``p bar``)."""
    low = token.lower()
    if low in _NOT_AFTER_BLANK or not is_unit(token):
        return False
    return "/" in low or low in KNOWN_UNITS


def time_unit(header: str) -> str | None:
    """The unit of a time column named ``header`` (``"s"``, ``"ms"``, ``"us"``…), or None
    when the name does not name a time axis.

    ``time``, ``t``, ``timestamp``, ``Time(ms)``, ``Time (ms)``, ``Time [s]``, ``time_us``,
    ``t_ms``, ``millis``, ``micros``, ``epoch``, ``epoch_ms``: a name without a unit is in
    seconds. An unknown unit (``time [furlongs]``) is not a time column.
    """
    name, unit = split_unit(header)
    low = name.lower()
    if unit:
        if low not in _TIME_WORDS:
            return None
        return _UNIT_ALIASES.get(unit.lower())
    if low in _BARE_UNIT_NAMES:
        return _BARE_UNIT_NAMES[low]
    if low in _TIME_WORDS or low == "time_s":
        return "s"
    match = _SUFFIXED.match(low)
    if match and match.group("name") in _TIME_WORDS:
        return _UNIT_ALIASES.get(match.group("unit"))
    return None


def time_column(header: tuple[str, ...]) -> tuple[int, str] | None:
    """Index and unit of the time column of a header: the first column when its name names
    time, else the first column named with a long time word (``time``, ``timestamp``,
    ``millis``…), else None."""
    for i, cell in enumerate(header):
        unit = time_unit(cell)
        if unit is None:
            continue
        word = split_unit(cell)[0].lower()
        base = re.split(r"[_\-]", word)[0]
        if i == 0 or base in _LONG_TIME_WORDS or word in ("millis", "micros"):
            return i, unit
    return None


def to_seconds(values: object, unit: str) -> object:
    """Numbers in ``unit`` (a scalar or a numpy array) as seconds."""
    if unit in TIME_MULTIPLIERS:
        return values * TIME_MULTIPLIERS[unit]  # type: ignore[operator]
    divisor = TIME_DIVISORS[unit]
    return values / divisor if divisor != 1.0 else values  # type: ignore[operator]


#: Units a logger writes in a units row (lower case; brackets are stripped first).
KNOWN_UNITS = frozenset({
    "s", "ms", "us", "µs", "min", "h", "sec", "hz", "khz", "rpm", "1/min",
    "degc", "°c", "degf", "°f", "c", "f", "k", "deg", "°", "rad",
    "bar", "mbar", "bar(g)", "barg", "pa", "hpa", "kpa", "mpa", "psi", "psig", "inh2o",
    "v", "mv", "kv", "a", "ma", "ka", "w", "kw", "mw", "kwh", "va", "kva", "var", "ohm", "ω",
    "g", "m/s", "mm/s", "m/s2", "m/s²", "mm/s2", "in/s", "ips", "mm", "m", "um", "µm",
    "mil", "in", "nm", "n", "kn", "kg", "t", "l", "l/min", "l/h", "m3/h", "m³/h", "gpm",
    "%", "%rh", "rh", "db", "dba", "ppm", "ph", "lux", "v dc", "vdc", "vac", "ma dc",
    "count", "counts", "-", "1", "unit", "units", "volts", "volt", "amps", "deg c", "deg f",
    "ts", "rn", "mv/v", "w/m^2", "w/m2", "m^3/h",
})  # fmt: skip
_UNIT_TOKEN = re.compile(r"^[\[(]?[^\s\[\]()]{1,8}(?: [^\s\[\]()]{1,4})?[\])]?$")


def looks_like_units(cells: list[str]) -> bool:
    """True when a text row is a units row (``s,degC,bar``; ``[s];[°C]``; ``Unit,V,A``):
    every non-empty cell a short token, at least half of them known units or bracketed,
    and none a number. A header row of names (``time,temp,pressure``) is not."""
    tokens = [c.strip() for c in cells if c and c.strip()]
    if not tokens or any(not _UNIT_TOKEN.match(t) for t in tokens):
        return False
    known = 0
    for token in tokens:
        try:
            float(token)
            return False
        except ValueError:
            pass
        bare = token.strip("[]()").lower()
        if bare in KNOWN_UNITS or token[0] in "[(" or bare in TIME_UNITS:
            known += 1
    return known * 2 >= len(tokens) and known >= 1
