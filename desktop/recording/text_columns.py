"""Columns of a delimited file the parser cannot take as they are. Separate Date and
Time columns are joined into one date-time. Text columns in the data rows (a
``status`` column with ``OK`` / ``Störung``, an operator's name): found from the
head and set aside so the numeric columns are read, with a note naming them. The
serial port's parser takes a row of numbers only; a file's text column would otherwise
make every row malformed.

A column is a text column when every non-empty value in the rows that hold numbers is
neither a number nor a date or time (a date or time-of-day column is a time axis, not
text to set aside).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from desktop.formats.detect import numeric_field
from desktop.formats.tokens import ISO_PREFIX

#: Delimiters tried, the unambiguous ones first (``;`` files may use a decimal comma).
_DELIMITERS = ("\t", ";", ",")
#: Dates and times of day: never text to set aside.
_DATE_OR_TIME = re.compile(r"^\d{1,4}[./:-]\d{1,2}(?:[./:-]\d{1,4})?(?:[ T].*)?$")
_LOOKED_AT = 400


@dataclass(frozen=True)
class TextColumns:
    """Where the text columns are: ``delimiter`` and ``width`` of the table's rows and
    the 0-based ``indices`` (with their header ``names``) of the columns set aside."""

    delimiter: str
    width: int
    indices: tuple[int, ...]
    names: tuple[str, ...]


def split_fields(line: str, delimiter: str) -> list[str]:
    """Fields of one line, quotes respected."""
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


def _number(field: str) -> bool:
    f = field.strip().strip("\"'")
    return (numeric_field(f, ".") or numeric_field(f, ",") or bool(ISO_PREFIX.fullmatch(f))
            or bool(_DATE_OR_TIME.match(f)))


def find_text_columns(lines: list[str]) -> TextColumns | None:
    """The text columns of a table whose head is ``lines`` (rewritten as the parser will
    see them), or None when every column holds numbers."""
    body = [ln for ln in lines[:_LOOKED_AT] if ln.strip()]
    tail = body[-20:]
    for delimiter in _DELIMITERS:
        widths = {len(split_fields(ln, delimiter)) for ln in tail}
        if len(widths) != 1 or (width := widths.pop()) < 2:
            continue
        rows = [split_fields(ln, delimiter) for ln in body]
        rows = [r for r in rows if len(r) == width]
        data = [r for r in rows if any(f.strip() and _number(f) for f in r)]
        if len(data) < 2:
            return None
        text = tuple(k for k in range(width)
                     if any(r[k].strip() for r in data)
                     and not any(r[k].strip() and _number(r[k]) for r in data))
        if not text or len(text) == width:
            return None
        header = next((r for r in rows if not any(f.strip() and _number(f) for f in r)), None)
        names = tuple((header[k].strip().lstrip("#").strip() if header else "")
                      or f"column {k + 1}" for k in text)
        return TextColumns(delimiter, width, text, names)
    return None


def drop_text_columns(line: str, columns: TextColumns) -> str:
    """``line`` without the text columns when it is a row of the table (``width``
    fields); other lines (a preamble, a line already without them) as they are."""
    fields = split_fields(line, columns.delimiter)
    if len(fields) != columns.width:
        return line
    d = columns.delimiter
    kept = [f'"{f}"' if d in f else f for k, f in enumerate(fields) if k not in columns.indices]
    return d.join(kept)


#: A date alone (ISO, dotted or slashed) and a time of day alone (AM/PM optional).
_DATE_ONLY = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4}|\d{4}/\d{1,2}/\d{1,2})$")
_CLOCK_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?$")


@dataclass(frozen=True)
class DateTimePair:
    """A date column (0-based ``index``) followed by a time-of-day column, in rows of
    ``width`` fields split by ``delimiter``: joined into one date-time field."""

    delimiter: str
    width: int
    index: int


def find_date_time_pair(lines: list[str]) -> DateTimePair | None:
    """Separate Date and Time columns (``01.05.2024;11:59:58``, ``2024-05-01,08:00``) in
    the rows of a table whose head is ``lines``, or None."""
    body = [ln for ln in lines[:_LOOKED_AT] if ln.strip()]
    tail = body[-20:]
    for delimiter in _DELIMITERS:
        widths = {len(split_fields(ln, delimiter)) for ln in tail}
        if len(widths) != 1 or (width := widths.pop()) < 3:
            continue
        rows = [[f.strip().strip("\"'") for f in split_fields(ln, delimiter)] for ln in tail]
        rows = [r for r in rows if all(not f or _number(f) or _CLOCK_ONLY.match(f) for f in r)]
        if len(rows) < 2:
            return None
        for k in range(width - 1):
            if all(_DATE_ONLY.match(r[k]) and _CLOCK_ONLY.match(r[k + 1]) for r in rows):
                return DateTimePair(delimiter, width, k)
        return None
    return None


def join_date_time(line: str, pair: DateTimePair) -> str:
    """``line`` with its date and time fields joined by a blank (a header's two names
    joined the same way); other lines as they are."""
    fields = split_fields(line, pair.delimiter)
    if len(fields) != pair.width:
        return line
    k = pair.index
    fields[k:k + 2] = [f"{fields[k].strip()} {fields[k + 1].strip()}"]
    d = pair.delimiter
    return d.join(f'"{f}"' if d in f else f for f in fields)
