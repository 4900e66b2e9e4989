"""Excel ``.xlsx`` exports (small data loggers, a colleague's spreadsheet) as recordings.

Read with ``openpyxl`` in read-only mode, values only (never formulas, never macros).
The first sheet with numbers is used: its first row of text names the columns, every
numeric column is a channel, and a column named like ``time`` — or holding dates — is
the time axis (dates become Unix seconds, so the window draws a date-time axis). Old
binary ``.xls`` is refused with a one-line hint. Excel stops at 1,048,576 rows, so a
whole sheet fits in memory by construction.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, Recording

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_TIME_NAMES = {"time_s", "time", "t", "timestamp", "seconds", "date", "datetime"}


def _number(cell: object) -> float:
    if isinstance(cell, bool) or cell is None:
        return np.nan
    if isinstance(cell, int | float):
        return float(cell)
    if isinstance(cell, dt.datetime):
        if cell.tzinfo is None:
            cell = cell.replace(tzinfo=dt.UTC)
        return cell.timestamp()
    if isinstance(cell, str):
        try:
            return float(cell.strip().replace(",", "."))
        except ValueError:
            return np.nan
    return np.nan


def read_xlsx(path: Path, rate: float | None = None) -> Recording:
    if path.suffix.lower() == ".xls":
        raise RecordingError(f"{path} is an old binary .xls workbook: save it as .xlsx or CSV")
    import openpyxl

    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise RecordingError(f"{path} is not a readable .xlsx workbook: {exc}") from exc
    try:
        for sheet in book.worksheets:
            rec = _sheet(sheet, path, rate)
            if rec is not None:
                return rec
    finally:
        book.close()
    raise RecordingError(f"{path} holds no sheet with numeric columns")


def _sheet(sheet: object, path: Path, rate: float | None) -> Recording | None:
    rows = sheet.iter_rows(values_only=True)  # type: ignore[attr-defined]
    header: list[str] | None = None
    data: list[tuple[object, ...]] = []
    for row in rows:
        if not any(c is not None for c in row):
            continue
        if header is None and not data and all(isinstance(c, str) or c is None for c in row):
            header = [str(c).strip() if c is not None else "" for c in row]
            continue
        data.append(row)
    if not data:
        return None
    width = max(len(r) for r in data)
    names = list(header or [])[:width] + [f"col{i + 1}" for i in range(len(header or []), width)]
    names = [n or f"col{i + 1}" for i, n in enumerate(names)]
    table = np.array([[_number(c) for c in r] + [np.nan] * (width - len(r)) for r in data])
    is_date = [any(isinstance(r[i], dt.datetime) for r in data[:50] if i < len(r))
               for i in range(width)]
    usable = [i for i in range(width) if np.isfinite(table[:, i]).any()]
    time_col = next((i for i in usable if names[i].lower() in _TIME_NAMES or is_date[i]), None)
    signals = [i for i in usable if i != time_col]
    if not signals:
        return None
    times = table[:, time_col] if time_col is not None else None
    if times is not None:
        keep = np.isfinite(times)
        table, times = table[keep], times[keep]
    return Recording(tuple(ChannelSpec(names[i]) for i in signals),
                     np.ascontiguousarray(table[:, signals]), rate, times,
                     source=f"file:{path.name}",
                     metadata={"format": f"Excel sheet '{sheet.title}'"})  # type: ignore[attr-defined]
