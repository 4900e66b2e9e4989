"""Excel ``.xlsx`` exports (data loggers, a colleague's spreadsheet) as recordings.

Read with ``openpyxl`` in read-only mode, values only (never formulas, never macros). Old
binary ``.xls`` is refused with a one-line hint. Excel stops at 1,048,576 rows, so a whole
sheet fits in memory by construction. How a sheet is read
(:mod:`desktop.recording.sheet_table` does the work):

- **Which sheet**: ``--sheet NAME``, else the sheet holding the data table (the most rows
  of numbers, a time column first), never an ``Info`` sheet of property/value rows that
  comes first. ``info`` lists every sheet.
- **Header rows**: the text rows above the numbers. Two name rows (a merged group cell
  over its columns) are joined: ``Motor 1 / speed``. A last row of units (``s``,
  ``degC``, ``[bar]``) is the channels' units, not names and not data.
- **Time**: date cells are wall-clock times (Unix seconds, so the window draws a
  date-time axis); a column named like a date or time holding Excel day serials
  (45413.5 = 2024-05-01 12:00) is too; a Date column plus a Time-of-day column are
  combined into one instant; a numeric column named like ``time``/``Time (ms)`` is
  seconds in the unit its name gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.errors import RecordingError
from desktop.core.types import Recording
from desktop.recording.format import FileFormat, OptionNeeded, ReadOptions
from desktop.recording.sheet_table import SheetTable, read_sheet
from desktop.recording.xlsx_limits import WorkbookBudget, check_workbook

XLSX_SUFFIXES = {".xlsx", ".xlsm"}


def read_xlsx(path: Path, rate: float | None = None,
              options: ReadOptions | None = None) -> Recording:
    """The data table of a workbook (see the module doc)."""
    options = options or ReadOptions(rate=rate)
    if path.suffix.lower() == ".xls":
        raise RecordingError(f"{path} is an old binary .xls workbook: save it as .xlsx or CSV")
    import openpyxl

    check_workbook(path)  # a zip bomb is refused before any XML is parsed
    budget = WorkbookBudget(path)  # cells and seconds capped (xlsx_limits)
    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise RecordingError(f"{path} is not a readable .xlsx workbook: {exc}") from exc
    try:
        names = [ws.title for ws in book.worksheets]
        if options.sheet is not None:
            wanted = [ws for ws in book.worksheets
                      if ws.title.strip().lower() == options.sheet.strip().lower()]
            if not wanted:
                raise OptionNeeded(f"{path} has no sheet '{options.sheet}' (sheets: "
                                     f"{', '.join(names)}); give --sheet with one of them")
            sheets = wanted
        else:
            sheets = list(book.worksheets)
        tables: list[tuple[Any, SheetTable | None]] = [
            (ws, read_sheet(budget.rows(ws))) for ws in sheets]
    finally:
        book.close()
    usable = [(ws, t) for ws, t in tables if t is not None]
    if not usable:
        which = f"sheet '{options.sheet}'" if options.sheet else "no sheet"
        raise RecordingError(f"{path}: {which} holds a table of numbers"
                             + ("" if options.sheet else f" (sheets: {', '.join(names)})"))
    found = [(ws, t) for ws, t in usable if t is not None]
    ws, table = max(found, key=lambda item: item[1].score)
    table.resolve_slashed(options.dayfirst, str(path))
    rec = table.recording(path, options.rate)
    inferred = dict(rec.metadata.get("inferred") or {})  # type: ignore[call-overload]
    rec.metadata["format"] = f"Excel sheet '{ws.title}'"
    rec.metadata["inferred"] = {"sheet": ws.title,
                                **({"sheets": names} if len(names) > 1 else {}), **inferred}
    return rec


def _read(path: Path, options: ReadOptions) -> Recording:
    return read_xlsx(path, options.rate, options)


FORMAT = FileFormat(
    "xlsx", "Excel workbooks", tuple(sorted(XLSX_SUFFIXES)), _read,
    rules="the sheet holding the data table (or --sheet); two header rows joined, a units "
          "row as units; date cells, day serials in a date/time column and Date + Time "
          "columns as wall-clock time; slashed text dates by the CSV rules (an unclear "
          "day/month order refused: --dayfirst/--monthfirst); text columns set aside "
          "with a note",
    options=("rate", "sheet", "dayfirst"), refused=(".xls",))
