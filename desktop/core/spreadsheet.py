"""The spreadsheet-formula guard every CSV (or Excel) writer applies to its text cells.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel and LibreOffice (OWASP "CSV injection"): a channel name, a label, a note or a file
name such as ``=HYPERLINK(…)`` would run in the colleague's spreadsheet that opens the
export. Every writer of text cells therefore passes them through :func:`guard_formula`,
which puts a ``'`` in front (the spreadsheet shows the text, not a formula). A cell that
already starts with ``'`` gets one more, so :func:`unguard_formula` is the exact inverse
and a file Linewatch exported and reads back (label files) round-trips losslessly.

Numbers are never guarded: ``-1.5`` written by ``repr(float)`` is a number to every
spreadsheet, not a formula (:func:`guard_cells` passes text that is a plain number through).
Writers: ``export`` (a recording's span), ``verdicts export`` and ``predict --out x.csv``,
``labels export``, the parts CSV; reports are HTML/PDF (their tables are HTML-escaped).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard_formula(text: str) -> str:
    """A text cell as a CSV export writes it: ``'`` before a formula start (or before an
    existing leading ``'``, so :func:`unguard_formula` is its exact inverse)."""
    if text and (text[0] in FORMULA_START or text[0] == "'"):
        return "'" + text
    return text


def unguard_formula(text: str) -> str:
    """Undo :func:`guard_formula`: strip one ``'`` that precedes a formula start or ``'``."""
    if len(text) >= 2 and text[0] == "'" and (text[1] in FORMULA_START or text[1] == "'"):
        return text[1:]
    return text


#: A number written as text (``repr(float)``, ``-1e-05``): a spreadsheet reads it as a
#: number, never as a formula, so it is written as it is.
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?inf|nan")


def guard_cells(values: Iterable[Any]) -> list[Any]:
    """A row (or column) with every ``str`` cell guarded, except text that is a plain
    number; anything that is not a ``str`` is left as it is."""
    return [guard_formula(v) if isinstance(v, str) and not _NUMBER.fullmatch(v) else v
            for v in values]


class GuardedWriter:
    """``csv.writer`` for files a spreadsheet opens: every text cell guarded, and a row
    holding a carriage return quoted whole (with a ``"\\n"`` line end the csv module does
    not quote a lone ``\\r``, which spreadsheets and readers take as a line break)."""

    def __init__(self, fh: IO[str], lineterminator: str = "\n") -> None:
        self._plain = csv.writer(fh, lineterminator=lineterminator)
        self._quoted = csv.writer(fh, lineterminator=lineterminator, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[Any]) -> None:
        cells = guard_cells(row)
        carriage = any(isinstance(c, str) and "\r" in c for c in cells)
        (self._quoted if carriage else self._plain).writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(fh: IO[str], lineterminator: str = "\n") -> GuardedWriter:
    """The CSV writer every Linewatch export uses (see :class:`GuardedWriter`)."""
    return GuardedWriter(fh, lineterminator)


__all__ = ["FORMULA_START", "GuardedWriter", "csv_writer", "guard_cells", "guard_formula",
           "unguard_formula"]
