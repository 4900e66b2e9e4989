"""Limits on an ``.xlsx`` workbook before and while it is read: a zip bomb is refused in
one line, in bounded memory and time.

An ``.xlsx`` is a zip of XML. A few megabytes can unpack to gigabytes (1 M rows × 48 cells
of the same number compress ~1000:1), and ``openpyxl`` turns every cell into a Python
object, so a reader without limits parses for minutes while its memory grows. Three
limits, checked in this order:

* **unpacked size** (:data:`MAX_UNPACKED_BYTES`, shared strings :data:`MAX_SHARED_STRINGS_BYTES`):
  the zip directory's declared sizes, read before any XML is parsed. They bind: Python's
  zip reader never unpacks a member past its declared size (and a lie fails its CRC);
* **rows × columns** (:data:`MAX_CELLS`, for all sheets together): the cell tags in the
  sheets' XML are counted first (unpacked a megabyte at a time, never parsed: about a
  second for 150 MB); then each sheet's declared dimension before its first row, and the
  cells actually read, row by row;
* **time** (:data:`MAX_SECONDS`): a last stop for anything the two above let through.

Each refusal is a :class:`RecordingError` naming the file, the limit and what to do
(export the sheet as CSV or Parquet, which Linewatch reads in bounded memory at any size).
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from desktop.core.errors import RecordingError
from desktop.core.tasks import current_task

#: The XML of every member together (a 1 M-row × 8-column sheet is ~300 MB of XML).
MAX_UNPACKED_BYTES = 400 << 20
#: ``xl/sharedStrings.xml`` is read into memory whole by openpyxl.
MAX_SHARED_STRINGS_BYTES = 64 << 20
#: Cells of a workbook (rows × columns, all sheets read): 1 M rows × 4 channels, the most
#: an Excel logger file of four channels holds; ~4 µs and ~50 bytes each while parsed.
MAX_CELLS = 4_200_000
#: Seconds one workbook may take to read.
MAX_SECONDS = 120.0

_HINT = "export the sheet as CSV or Parquet (read in bounded memory at any size)"


def check_workbook(path: Path) -> None:
    """Refuse a workbook whose zip directory declares too much XML; reads no XML."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RecordingError(f"{path} is not a readable .xlsx workbook: {exc}") from None
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise RecordingError(f"{path} unpacks to {total / 2**20:,.0f} MB of XML, more than "
                             f"the {MAX_UNPACKED_BYTES >> 20} MB a workbook may have "
                             f"(a zip bomb, or a very big sheet): {_HINT}")
    sheets = [i for i in infos if i.filename.lower().startswith("xl/worksheets/")
              and i.filename.lower().endswith(".xml")]
    cells = 0
    with zipfile.ZipFile(path) as zf:
        for info in sheets:
            cells += _count_cells(zf, info, MAX_CELLS - cells)
            if cells > MAX_CELLS:
                raise RecordingError(f"{path} holds more than {MAX_CELLS:,} cells (counted "
                                     f"up to {info.filename}), the most a workbook may have: "
                                     f"{_HINT}")
    shared = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    if shared > MAX_SHARED_STRINGS_BYTES:
        raise RecordingError(f"{path} holds {shared / 2**20:,.0f} MB of shared text, more "
                             f"than the {MAX_SHARED_STRINGS_BYTES >> 20} MB a workbook may "
                             f"have: {_HINT}")


def _count_cells(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> int:
    """Cell elements (``<c …>``) in a sheet's XML, unpacked a megabyte at a time and never
    parsed (~1 s for 150 MB); stops counting past ``limit``."""
    count, tail = 0, b""
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                data = tail + chunk  # a 3-byte tag cannot lie wholly in the 2-byte tail
                count += data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/")
                if count > limit:
                    break
                tail = data[-2:]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        raise RecordingError(f"{zf.filename} is not a readable .xlsx workbook: {exc}"
                             ) from None
    return count


class WorkbookBudget:
    """The cells and seconds one workbook may take, shared by all the sheets read from it
    (a bomb of many sheets is refused like one of a single big sheet)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = time.monotonic()
        self.cells = 0

    def rows(self, sheet: object) -> Iterator[tuple[object, ...]]:
        """``sheet.iter_rows(values_only=True)`` that stops with a :class:`RecordingError`
        past :data:`MAX_CELLS` cells (declared or read) or :data:`MAX_SECONDS` seconds."""
        path, title = self.path, getattr(sheet, "title", "?")
        try:
            rows_declared = int(getattr(sheet, "max_row", None) or 0)
            cols_declared = int(getattr(sheet, "max_column", None) or 0)
        except (TypeError, ValueError):
            rows_declared = cols_declared = 0
        if self.cells + rows_declared * cols_declared > MAX_CELLS:
            raise RecordingError(f"{path}: sheet '{title}' declares {rows_declared:,} rows × "
                                 f"{cols_declared:,} columns, more than the {MAX_CELLS:,} "
                                 f"cells a workbook may have: {_HINT}")
        task = current_task()  # opened as a job (the window): Cancel stops the read here
        for n, row in enumerate(sheet.iter_rows(values_only=True)):  # type: ignore[attr-defined]
            self.cells += len(row)
            if self.cells > MAX_CELLS:
                raise RecordingError(f"{path}: more than {MAX_CELLS:,} cells (sheet '{title}', "
                                     f"row {n + 1:,}, {len(row):,} columns): {_HINT}")
            if n % 256 == 0 and task is not None:  # the window's Cancel, a progress line
                task.report(None, f"reading {path.name}, sheet '{title}': {n:,} rows")
            if n % 1024 == 0 and time.monotonic() - self.started > MAX_SECONDS:
                raise RecordingError(f"{path}: still not read after {MAX_SECONDS:.0f} s "
                                     f"(sheet '{title}', row {n + 1:,}): {_HINT}")
            yield row


__all__ = ["MAX_CELLS", "MAX_SECONDS", "MAX_SHARED_STRINGS_BYTES", "MAX_UNPACKED_BYTES",
           "WorkbookBudget", "check_workbook"]
