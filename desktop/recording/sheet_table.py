"""One spreadsheet sheet's rows (cell values) as a table of channels and a time axis.

Used by :mod:`desktop.recording.xlsx` (the rules are in its module doc). Cells come as
openpyxl gives them in values-only mode: ``int``/``float``, ``str``, ``bool``, ``None``,
``datetime``/``date``/``time``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.core.types import ChannelSpec, Recording
from desktop.formats.columns import looks_like_units, split_unit, time_unit
from desktop.recording.format import OptionNeeded
from desktop.recording.summary import add_note
from desktop.recording.text_rewrite import US_STAMP

#: Excel's day 0 for serials (1899-12-30, the 1900 leap-year bug included) in Unix days.
EXCEL_EPOCH_UNIX_DAYS = 25569.0
#: Day serials of plausible logger dates: 1954 … 2119.
_SERIAL_RANGE = (20_000.0, 80_000.0)
_DATE_WORDS = re.compile(r"(date|datum|day|time|zeit|timestamp|stamp)", re.IGNORECASE)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*([AaPp][Mm])?\s*$")
_HEADER_ROWS_MAX = 4
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})((?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)")
_WALL_CLOCK = ("date + time of day", "date-time cells", "Excel day serial",
               "Excel day serial + time of day")


def _is_number(cell: object) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


def _is_stamp(cell: object) -> bool:
    return isinstance(cell, dt.datetime | dt.date | dt.time)


def _time_like(cell: object) -> bool:
    """A date, time or date-time cell, or text that reads as one."""
    return _is_stamp(cell) or _text_date(cell) is not None or (
        isinstance(cell, str) and (_CLOCK.match(cell) is not None
                                   or US_STAMP.fullmatch(cell.strip()) is not None))


def _unix(cell: dt.datetime | dt.date) -> float:
    """A naive date-time as Unix seconds (read as UTC: loggers rarely say their zone)."""
    if not isinstance(cell, dt.datetime):
        cell = dt.datetime(cell.year, cell.month, cell.day)
    if cell.tzinfo is None:
        cell = cell.replace(tzinfo=dt.UTC)
    return cell.timestamp()


def _clock_seconds(cell: object) -> float:
    """Seconds since midnight of a time-of-day cell (``time``, a day fraction, or text
    ``13:05:10``/``1:05:10 PM``), NaN if it is none."""
    if isinstance(cell, dt.time):
        return cell.hour * 3600 + cell.minute * 60 + cell.second + cell.microsecond / 1e6
    if isinstance(cell, dt.datetime):  # a time cell some writers store on 1899-12-30
        return cell.hour * 3600 + cell.minute * 60 + cell.second + cell.microsecond / 1e6
    if _is_number(cell) and 0 <= float(cell) < 1:  # type: ignore[arg-type]
        return float(cell) * 86400.0  # type: ignore[arg-type]
    if isinstance(cell, str):
        m = _CLOCK.match(cell)
        if m:
            h = int(m.group(1)) % 12 if m.group(5) else int(m.group(1))
            if m.group(5) and m.group(5).lower() == "pm":
                h += 12
            return h * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0) + float(
                m.group(4) or 0)
    return np.nan


def _number(cell: object) -> float:
    if _is_number(cell):
        return float(cell)  # type: ignore[arg-type]
    if isinstance(cell, dt.datetime | dt.date) and not isinstance(cell, dt.time):
        return _unix(cell)
    if isinstance(cell, str):
        try:
            return float(cell.strip().replace(",", "."))
        except ValueError:
            stamp = _text_date(cell)
            return _unix(stamp) if stamp is not None else np.nan
    return np.nan


def _text_date(cell: object) -> dt.datetime | None:
    """A date (and time) written as text in an unambiguous order: ISO ``2024-05-01
    12:00:00`` or day-first dotted ``01.05.2024 12:00``; None otherwise (a slashed
    ``05/01/2024`` could be either order: save such a sheet with date cells)."""
    if not isinstance(cell, str):
        return None
    text = cell.strip()
    m = _DOTTED.fullmatch(text)
    if m:
        text = f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}{m.group(4) or ''}"
    if not _ISO_DATE.match(text):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class SheetTable:
    """A sheet split into names, units and data rows, with its time axis decided."""

    names: list[str]
    units: list[str]
    data: list[tuple[object, ...]]
    header_rows: int
    units_row: bool
    score: tuple[int, int] = (0, 0)
    inferred: dict[str, object] = field(default_factory=dict)

    def resolve_slashed(self, dayfirst: bool | None, name: str) -> None:
        """Slashed text dates (``01/05/2024 12:00:00``, ``05/13/2024 1:00 PM``) made
        date-times, per column, with the CSV rules: the order the values show (a first
        number above 12 is a day, a second one above 12 is a day), else ``dayfirst``;
        refused naming ``--dayfirst``/``--monthfirst`` when neither tells."""
        width = len(self.names)
        for k in range(width):
            cells = [(i, r[k]) for i, r in enumerate(self.data) if k < len(r)]
            hits = [(i, m) for i, c in cells
                    if isinstance(c, str) and (m := US_STAMP.fullmatch(c.strip()))]
            if not hits:
                continue
            first = {int(m.group("a")) for _, m in hits}
            second = {int(m.group("b")) for _, m in hits}
            order, how = dayfirst, "from the option"
            if order is None:
                how = "from the values"
                if max(first) > 12 >= max(second):
                    order = True
                elif max(second) > 12 >= max(first):
                    order = False
                else:
                    i, m = hits[0]
                    raise OptionNeeded(
                        f"{name}: column '{self.names[k]}', data row {i + 1}: date "
                        f"{m.group(0)!r} may be day/month or month/day and the rows do not "
                        "tell; give --dayfirst (31/12/2024) or --monthfirst (12/31/2024)")
            rows = [list(r) for r in self.data]
            for i, m in hits:
                rows[i][k] = _slashed_datetime(m, order)
            self.data = [tuple(r) for r in rows]
            text = "DD/MM/YYYY (day first)" if order else "MM/DD/YYYY (month first)"
            self.inferred["time_format"] = f"{text} text, {how}"

    def recording(self, path: Path, rate: float | None) -> Recording:
        """The sheet's channels and time axis as a :class:`Recording`."""
        width = len(self.names)
        table = np.array([[_number(c) for c in r] + [np.nan] * (width - len(r))
                          for r in self.data], dtype=np.float64).reshape(-1, width)
        times, used, inferred = _time_axis(self.names, self.data, table)
        usable = [i for i in range(width) if i not in used and np.isfinite(table[:, i]).any()
                  and not any(_is_stamp(r[i]) for r in self.data[:50] if i < len(r))]
        blank_times = 0
        if times is not None:
            keep = np.isfinite(times)
            blank_times = int(np.count_nonzero(~keep))
            table, times = table[keep], times[keep]
        channels = tuple(ChannelSpec(self.names[i], self.units[i]) for i in usable)
        if self.header_rows > 1:
            inferred["header_rows"] = self.header_rows
        if self.units_row:
            inferred["units_row"] = True
        inferred.update(self.inferred)
        text_columns = [self.names[i] for i in range(width) if i not in used
                        and i not in usable and _text_column(self.data, i)]
        metadata: dict[str, object] = {"inferred": inferred}
        if blank_times:
            metadata["malformed"] = {"timestamp": blank_times}
            add_note(metadata, f"{blank_times:,} row(s) with a blank or unreadable time in "
                               f"column '{inferred.get('time_column', '')}' left out (a gap "
                               "in time, not a shift)")
        if text_columns:
            inferred["text_columns"] = text_columns
            names = ", ".join(repr(n) for n in text_columns)
            add_note(metadata, f"text column(s) {names} set aside (not numbers); the "
                               "numeric columns were read")
        start = ""
        if times is not None and times.size and inferred.get("time_unit") in _WALL_CLOCK:
            start = dt.datetime.fromtimestamp(float(times[0]), dt.UTC).isoformat()
        return Recording(_unique(channels), np.ascontiguousarray(table[:, usable]), rate,
                         times, source=f"file:{path.name}", start_time=start,
                         metadata=metadata)


def _slashed_datetime(m: re.Match[str], dayfirst: bool) -> dt.datetime | None:
    """A slashed date (and time, AM/PM optional) as a date-time, None if impossible."""
    a, b = int(m.group("a")), int(m.group("b"))
    day, month = (a, b) if dayfirst else (b, a)
    hour = int(m.group("h") or 0)
    if m.group("ap"):
        hour = hour % 12 + (12 if m.group("ap").lower() == "pm" else 0)
    sec = float(m.group("s") or 0)
    try:
        return dt.datetime(int(m.group("y")), month, day, hour, int(m.group("mi") or 0),
                           int(sec), round((sec % 1) * 1e6))
    except ValueError:
        return None


def _text_column(data: list[tuple[object, ...]], k: int) -> bool:
    """True when column ``k`` holds text (not numbers, not dates) in its non-empty cells."""
    cells = [r[k] for r in data if k < len(r) and r[k] is not None and r[k] != ""]
    return bool(cells) and all(isinstance(c, str) and not _time_like(c)
                               and np.isnan(_number(c)) for c in cells)


def _unique(channels: tuple[ChannelSpec, ...]) -> tuple[ChannelSpec, ...]:
    seen: dict[str, int] = {}
    out = []
    for ch in channels:
        seen[ch.name] = seen.get(ch.name, 0) + 1
        out.append(ch if seen[ch.name] == 1 else ChannelSpec(f"{ch.name}_{seen[ch.name]}",
                                                             ch.unit))
    return tuple(out)


def read_sheet(rows: Iterable[tuple[object, ...]]) -> SheetTable | None:
    """A sheet's table, or None when it holds no column of numbers."""
    header: list[tuple[object, ...]] = []
    titles: list[str] = []
    data: list[tuple[object, ...]] = []
    for row in rows:
        if not any(c is not None and c != "" for c in row):
            if header and not data:  # rows over a blank row are a title, not the header
                titles += [str(c).strip() for r in header for c in r if c not in (None, "")]
                header = []
            continue
        if not data and all(isinstance(c, str) or c is None for c in row):
            header.append(row)
            continue
        data.append(row)
    if not data:
        return None
    width = max(len(r) for r in data)
    header = header[-_HEADER_ROWS_MAX:]
    texts = [[str(c).strip() if c is not None else "" for c in r] + [""] * (width - len(r))
             for r in header]
    units_row = len(texts) >= 2 and looks_like_units(texts[-1][:width])
    unit_cells = texts.pop() if units_row else [""] * width
    names, units = _names(texts, width)
    units = [u or from_row for u, from_row in zip(units, _bare_units(unit_cells), strict=True)]
    numeric_rows = sum(1 for r in data
                       if sum(_is_number(c) or _time_like(c) for c in r) * 2 >= sum(
                           c is not None for c in r))
    if numeric_rows == 0:
        return None
    timed = any(_is_stamp(c) for r in data[:50] for c in r) or any(
        time_unit(n) is not None or _DATE_WORDS.search(n) for n in names)
    table = SheetTable(names, units, data, len(texts), units_row,
                       (int(timed), numeric_rows * width))
    if titles:
        table.inferred["title"] = " | ".join(titles)[:200]
    return table


def _bare_units(cells: list[str]) -> list[str]:
    return [c.strip().strip("[]()").strip() for c in cells]


def _names(texts: list[list[str]], width: int) -> tuple[list[str], list[str]]:
    """Names (name rows joined, merged group cells carried right) and units from them."""
    if not texts:
        return [f"col{i + 1}" for i in range(width)], [""] * width
    filled = []
    for k, row in enumerate(texts):
        row = row[:width]
        if k < len(texts) - 1:  # a group row: a merged cell spans the columns after it
            carried, last = [], ""
            for cell in row:
                last = cell or last
                carried.append(last)
            row = carried
        filled.append(row)
    names, units = [], []
    for i in range(width):
        parts = [row[i] for row in filled if row[i]]
        parts = [p for j, p in enumerate(parts) if p not in parts[:j]]
        last_name, unit = split_unit(parts[-1]) if parts else ("", "")
        joined = " / ".join([*parts[:-1], last_name]) if parts else ""
        if len(parts) > 1 and i > 0 and not filled[-1][i]:
            joined = ""  # a group name over nothing is not a channel name
        names.append(joined or f"col{i + 1}")
        units.append(unit)
    return names, units


def _time_axis(names: list[str], data: list[tuple[object, ...]], table: np.ndarray
               ) -> tuple[np.ndarray | None, set[int], dict[str, object]]:
    """The time axis as Unix or plain seconds, the columns it used and what was inferred."""
    width = len(names)
    head = data[:50]

    def column(i: int) -> list[object]:
        return [r[i] if i < len(r) else None for r in head]

    dates = [i for i in range(width)
             if any((isinstance(c, dt.datetime | dt.date) and not isinstance(c, dt.time))
                    or _text_date(c) is not None for c in column(i))]
    clocks = [i for i in range(width) if i not in dates and _clock_column(names[i], column(i))]
    if dates and clocks and _midnights(column(dates[0])):
        d, c = dates[0], clocks[0]
        day = table[:, d]
        tod = np.array([_clock_seconds(r[c]) if c < len(r) else np.nan for r in data])
        return day + tod, {d, c}, {"time_column": f"{names[d]} + {names[c]}",
                                   "time_unit": "date + time of day"}
    if dates:
        d = dates[0]
        return table[:, d], {d}, {"time_column": names[d], "time_unit": "date-time cells"}
    for i in range(width):
        values = table[:, i]
        finite = values[np.isfinite(values)]
        if (finite.size and _DATE_WORDS.search(names[i])
                and _SERIAL_RANGE[0] <= finite.min() and finite.max() <= _SERIAL_RANGE[1]
                and not any(isinstance(c, str) for c in column(i))):
            seconds = (values - EXCEL_EPOCH_UNIX_DAYS) * 86400.0
            clocks = [c for c in range(width) if c != i and _clock_column(names[c], column(c))]
            if clocks and np.all(finite == np.floor(finite)):  # whole days + a time column
                c = clocks[0]
                tod = np.array([_clock_seconds(r[c]) if c < len(r) else np.nan for r in data])
                return np.round(seconds + tod, 6), {i, c}, {
                    "time_column": f"{names[i]} + {names[c]}",
                    "time_unit": "Excel day serial + time of day"}
            return np.round(seconds, 6), {i}, {"time_column": names[i],
                                               "time_unit": "Excel day serial"}
    for i in range(width):
        unit = time_unit(names[i])
        if unit is not None and np.isfinite(table[:, i]).any():
            from desktop.formats.columns import to_seconds

            seconds = np.asarray(to_seconds(table[:, i], unit), dtype=np.float64)
            return seconds, {i}, {"time_column": names[i], "time_unit": unit}
    return None, set(), {}


def _clock_column(name: str, cells: list[object]) -> bool:
    """A time-of-day column: time cells, or a column named like time whose cells are day
    fractions or ``hh:mm:ss`` text."""
    present = [c for c in cells if c is not None]
    if not present:
        return False
    if all(isinstance(c, dt.time) for c in present):
        return True
    named = bool(re.search(r"(time|zeit|uhrzeit|clock)", name, re.IGNORECASE))
    return named and all(np.isfinite(_clock_seconds(c)) for c in present)


def _midnights(cells: list[object]) -> bool:
    """True when a date column's cells carry no time of day (pure dates)."""
    present = [_text_date(c) or c for c in cells if c is not None]
    return bool(present) and all(
        not isinstance(c, dt.datetime) or (c.hour, c.minute, c.second, c.microsecond)
        == (0, 0, 0, 0) for c in present)
