"""How a text file's table is laid out above and inside its rows, found from its head.

Loggers and DAQ programs write more than a header over their numbers: a preamble
(Campbell TOA5's four lines, ``key: value`` lines of a DAQ export, ``#`` comments), a
units row under the header (``s,degC,bar``), a ``# `` before the header (numpy
``savetxt``), quoted numbers with thousands separators (``"1,234.5"``), and date-times
the ISO parser does not read (``05/01/2024 01:00:00 PM``). The serial port's parser
reads one header line over data, so for a *file* the head is read once here and the
stream is then prepared line by line (:mod:`desktop.recording.text_prep`): the preamble
is kept as metadata and skipped, the header cleaned (units folded in as ``temp [degC]``),
numbers and times rewritten into what the parser reads. Nothing is guessed silently:
every choice is listed in :attr:`TextLayout.inferred`, and an ambiguous day/month order
or thousands mark is refused naming the option that settles it.
"""

from __future__ import annotations

import csv
import re

from desktop.formats.columns import looks_like_units, time_unit
from desktop.formats.detect import DetectOptions, looks_like_data, numeric_row
from desktop.formats.tokens import ISO_PREFIX, nonnumeric_count
from desktop.recording.format import OptionNeeded
from desktop.recording.text_columns import (
    drop_text_columns,
    find_date_time_pair,
    find_text_columns,
    join_date_time,
)
from desktop.recording.text_rewrite import (
    DOTTED_STAMP,
    HEAD_BYTES,
    ISO_AMPM,
    MISSING,
    MONTH_STAMP,
    QUOTED_NUMBER,
    QUOTED_THOUSANDS,
    UNAMBIGUOUS_THOUSANDS,
    US_STAMP,
    YMD_STAMP,
    TextLayout,
    rewrite_line,
)

_DELIMITERS = (",", ";", "\t", " ")
#: ``1.234,5`` / ``12.345.678,9``: dot groups before a decimal comma (European exports).
#: A quoted number with a decimal comma, dot groups allowed (``"1.234,5"``, ``"2,5"``).
_QUOTED_EU = re.compile(r'"[+-]?\d[\d.]*,\d+"')
EU_GROUPED = re.compile(r"(?<![\w.:,])[+-]?\d{1,3}(?:\.\d{3})+,\d+(?![\w.,:])")


def _split(line: str, delimiter: str) -> list[str]:
    """Fields of one line, quotes respected (``"1,234.5"`` is one field)."""
    if delimiter == " ":
        return line.split()
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


def _delimiter(line: str) -> str:
    """The delimiter under which a data line's fields are all numbers (a decimal comma
    allowed with ``;``, tab and blanks), the most fields winning; ``,`` if none."""
    best, most = ",", 1
    for d in _DELIMITERS:
        fields = [f.strip().strip("\"'") for f in _split(line, d)]
        fields = [f for f in fields if not ISO_PREFIX.fullmatch(f)]
        ok = numeric_row(fields, ".") or (d != "," and numeric_row(fields, ","))
        if ok and len(_split(line, d)) > most:
            best, most = d, len(_split(line, d))
    return best


def _decode_lines(head: bytes) -> tuple[list[str], set[int]]:
    """The head's lines as text, and the indices of those that are not UTF-8: read as
    Windows-1252, the code page Windows loggers write headers in (``Temperatur °C``)."""
    out: list[str] = []
    legacy: set[int] = set()
    for i, raw in enumerate(head.split(b"\n")):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
            legacy.add(i)
        out.append(text.lstrip("\ufeff") if i == 0 else text)
    return out, legacy


def analyse(head: bytes, dayfirst: bool | None = None, thousands: str | None = None,
            name: str = "", check_thousands: bool = True) -> TextLayout:
    """The layout of a text file from its first bytes (see the module doc)."""
    lines, legacy = _decode_lines(head)
    if len(head) >= HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
        legacy.discard(len(lines))
    lines = [ln.rstrip("\r") for ln in lines]
    layout = TextLayout()
    layout.legacy_lines = legacy
    layout.date_time = find_date_time_pair(lines)
    if layout.date_time is not None:
        lines = [join_date_time(ln, layout.date_time) for ln in lines]
        layout.inferred["date_time_columns"] = f"column {layout.date_time.index + 1} + " \
            f"{layout.date_time.index + 2} (date + time of day, joined)"
    _find_stamps(lines, layout, dayfirst, name)
    _find_thousands(lines, layout, thousands, name, check_thousands)
    layout.unquote = layout.thousands == "," or any(
        QUOTED_NUMBER.search(ln) or (("\t" in ln or ";" in ln) and _QUOTED_EU.search(ln))
        for ln in lines[:200])
    layout.missing = any(any(c.isdigit() for c in ln) and MISSING.search(ln)
                         for ln in lines[:400])
    if layout.missing:
        layout.inferred["missing_values"] = "n/a, -, NaN, #N/A, null read as gaps"
    layout.text_columns = find_text_columns([rewrite_line(ln, layout) for ln in lines])
    if layout.text_columns is not None:
        layout.inferred["text_columns"] = list(layout.text_columns.names)
        lines = [drop_text_columns(ln, layout.text_columns) for ln in lines]
    first = _first_data_line(lines, layout)
    if first is None:
        return layout
    delimiter = _delimiter(_clean(lines[first], layout))
    width = len(_split(_clean(lines[first], layout), delimiter))
    _find_header(lines[:first], layout, delimiter, width, first)
    return layout


def _clean(line: str, layout: TextLayout) -> str:
    """A line as the parser will see it (for detection here)."""
    return rewrite_line(line, layout)


def _numeric_width(line: str) -> tuple[str, int] | None:
    """``(delimiter, fields)`` when a line is a row of numbers (an ISO date-time field
    allowed), else None."""
    delimiter = _delimiter(line)
    fields = [f.strip().strip("\"'") for f in _split(line, delimiter)]
    plain = [f for f in fields if not ISO_PREFIX.fullmatch(f)]
    ok = numeric_row(plain, ".") or (delimiter != "," and numeric_row(plain, ","))
    return (delimiter, len(fields)) if ok else None


def _first_data_line(lines: list[str], layout: TextLayout) -> int | None:
    """Index of the first line that starts the table: a row of numbers, and the next
    lines rows of numbers of the same width. One row of numbers of another width among the
    next three (a cell missing in an early row) is the parser's to count as malformed, not
    the start of the table: taken as the start, it turned the header and the rows above it
    into a preamble and the time column into a channel."""
    for i, line in enumerate(lines):
        cleaned = _clean(line, layout)
        if not cleaned.strip():
            continue
        found = _numeric_width(cleaned)
        if found is None:
            continue
        following = [_clean(ln, layout) for ln in lines[i + 1:i + 5] if ln.strip()]
        if all(_numeric_width(ln) == found for ln in following[:2]):
            return i
        widths = [_numeric_width(ln) for ln in following[:3]]
        if (len(widths) == 3 and None not in widths and widths[0] != found
                and widths[1] == widths[2] == found):
            return i
    return None


def _find_header(before: list[str], layout: TextLayout, delimiter: str, width: int,
                 first: int) -> None:
    """The header block just above the first data line: the header, a units row, other
    header rows (TOA5's processing row) and the preamble above them."""
    block: list[int] = []  # lines of the table's width right above the data, bottom up
    for i in range(len(before) - 1, -1, -1):
        line = before[i].lstrip("# ") if before[i].startswith("#") else before[i]
        if not line.strip():
            if block:
                break
            continue
        if len(_split(line, delimiter)) not in (width, width + 1):
            break
        block.append(i)
    header_at = None
    units_at = None
    for i in block:  # bottom up: units under the header, then the header
        fields = [f.strip().strip("\"'") for f in _split(_strip_hash(before[i]), delimiter)]
        if header_at is None and units_at is None and looks_like_units(fields) and any(
                j < i for j in block):
            units_at = i
            continue
        if 2 * nonnumeric_count(fields) > len(fields):
            header_at = i
            break
    hashed = header_at is not None and before[header_at].lstrip().startswith("#")
    if header_at is not None:  # rows under the header with a gap or an error word
        # ("0,1,ERR", "0.1,2,n/a") are rows of the table for the parser to count, never
        # a preamble to drop without a word
        rows = [i for i in block if i > header_at and i != units_at
                and any(f.strip().strip("\"'").replace(".", "", 1).lstrip("+-").isdigit()
                        for f in _split(before[i], delimiter))]
        first = min(rows, default=first)
    skipped_other = [i for i in range(first) if i != header_at and before[i].strip()]
    if header_at is None:
        # Lines the parser would count as malformed become a preamble only when there is
        # clearly one (two lines or more); one word over numbers ("level" over "21,5") is
        # the parser's to judge.
        if len(skipped_other) >= 2 and any(not looks_like_data(before[i], DetectOptions())
                                 for i in skipped_other):
            layout.skip_lines = first
            layout.preamble = [before[i].strip() for i in skipped_other]
            layout.inferred["preamble_lines"] = len(layout.preamble)
            layout.inferred["preamble"] = layout.preamble[:20]
        return
    legacy = header_at in layout.legacy_lines
    if legacy:
        layout.inferred["encoding"] = (f"line {header_at + 1} (the header) is not UTF-8: "
                                       "read as Windows-1252")
    if not hashed and units_at is None and not skipped_other and not legacy:
        return  # a plain header over data: the parser reads it as it is
    names = [f.strip() for f in _split(_strip_hash(before[header_at]), delimiter)]
    units = ([f.strip().strip("\"'") for f in _split(before[units_at], delimiter)]
             if units_at is not None else [""] * len(names))
    cells = []
    for k, cell in enumerate(names):
        unit = units[k] if k < len(units) else ""
        bare = cell.strip("\"'")
        if unit and (time_unit(bare) is None or time_unit(f"{bare} [{unit}]") is not None) \
                and unit.upper() not in ("TS", "RN"):
            layout.units[bare] = unit
            cell = f"{bare} [{unit}]"
        cells.append(cell)
    layout.header = delimiter.join(cells)
    layout.skip_lines = first
    preamble = [before[i].strip() for i in skipped_other if i != units_at]
    layout.preamble = preamble
    if hashed:
        layout.inferred["header"] = f"line {header_at + 1}, '#' removed"
    elif header_at:
        layout.inferred["header"] = f"line {header_at + 1}"
    if units_at is not None:
        layout.inferred["units_row"] = f"line {units_at + 1}"
    if preamble:
        layout.inferred["preamble_lines"] = len(preamble)
        layout.inferred["preamble"] = preamble[:20]


def _strip_hash(line: str) -> str:
    return line.lstrip().lstrip("#").lstrip() if line.lstrip().startswith("#") else line


def _find_stamps(lines: list[str], layout: TextLayout, dayfirst: bool | None,
                 name: str) -> None:
    """Date-times to rewrite, and the day/month order of slashed dates (refused when the
    head cannot tell and no option says)."""
    for pattern, kind in ((ISO_AMPM, "iso-ampm"), (US_STAMP, "us"), (DOTTED_STAMP, "dotted"),
                          (YMD_STAMP, "ymd"), (MONTH_STAMP, "month")):
        hits = [(i, m) for i, ln in enumerate(lines)
                for m in [pattern.match(ln.lstrip(" \t\"'"))] if m]
        if len(hits) < 1:
            continue
        layout.stamp = kind
        if kind == "iso-ampm":
            layout.inferred["time_format"] = "ISO date, 12-hour clock with AM/PM"
        elif kind == "dotted":
            layout.dayfirst = True
            layout.inferred["time_format"] = "DD.MM.YYYY (day first)"
        elif kind == "ymd":
            layout.inferred["time_format"] = "YYYY/MM/DD"
        elif kind == "month":
            layout.inferred["time_format"] = "DD-Mon-YYYY (month by name)"
        else:
            _slash_order(hits, layout, dayfirst, name)
        if kind != "iso-ampm" and any(m.groupdict().get("ap") for _, m in hits):
            layout.inferred["time_format"] = (f"{layout.inferred['time_format']}, "
                                              "12-hour clock with AM/PM")
        return


def _slash_order(hits: list[tuple[int, re.Match[str]]], layout: TextLayout,
                 dayfirst: bool | None, name: str) -> None:
    if dayfirst is None:
        firsts = {int(m.group("a")) for _, m in hits}
        seconds = {int(m.group("b")) for _, m in hits}
        if max(firsts) > 12 >= max(seconds):
            dayfirst = True
        elif max(seconds) > 12 >= max(firsts):
            dayfirst = False
        else:
            line, m = hits[0]
            raise OptionNeeded(
                f"{name}: line {line + 1}: date {m.group(0)!r} may be day/month or "
                "month/day and the first rows do not tell; give --dayfirst (31/12/2024) "
                "or --monthfirst (12/31/2024)")
        how = "from the values"
    else:
        how = "from the option"
    layout.dayfirst = dayfirst
    order = "DD/MM/YYYY (day first)" if dayfirst else "MM/DD/YYYY (month first)"
    layout.inferred["time_format"] = f"{order}, {how}"


def _find_thousands(lines: list[str], layout: TextLayout, thousands: str | None,
                    name: str, quoted: bool = True) -> None:
    """The thousands separator: the option's; ``.`` when numbers read ``1.234,5``
    (a decimal comma after dot groups cannot mean anything else); ``,`` in quoted
    ``"1,234.5"`` (``quoted``: not when the decimal mark is ``,``); an ambiguous
    quoted ``"1,234"`` is refused naming the option."""
    if thousands is not None:
        layout.thousands = thousands
        layout.inferred["thousands"] = f"'{thousands}' (from the option)"
        return
    if any(("\t" in ln or ";" in ln) and EU_GROUPED.search(ln) for ln in lines):
        layout.thousands = "."
        layout.inferred["thousands"] = "'.' before a decimal comma (\"1.234,5\" = 1234.5)"
        return
    for i, line in enumerate(lines if quoted else []):
        for m in QUOTED_THOUSANDS.finditer(line):
            if not UNAMBIGUOUS_THOUSANDS.match(m.group(1)):
                column = len(_split(line[:m.start()] + "x", ","))
                raise OptionNeeded(
                    f"{name}: line {i + 1}, column {column}: {m.group(0)} may use ',' as a "
                    "thousands separator or as a decimal comma; give --thousands , if "
                    "it means 1234 (a decimal comma inside quotes is not read: export with "
                    "';' between fields)")
            layout.thousands = ","
    if layout.thousands:
        layout.inferred["thousands"] = "',' in quoted numbers (\"1,234.5\" = 1234.5)"
