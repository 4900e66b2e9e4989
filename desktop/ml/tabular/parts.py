"""Labelled parts: the CSV an engineer's part labels are kept in, for fine-tuning.

One row per part: an optional ``part_id``, the model's input columns (in the model's
order) and ``label`` (the class the engineer gave it). ``linewatch train --base
quality-steel --labels parts.csv --name my-line`` reads it; the window's parts table
writes it (select parts → Label as → class; Export labelled parts…). Text cells get the
spreadsheet-formula guard (:mod:`desktop.core.spreadsheet`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from desktop.core.atomic import atomic_write_text
from desktop.core.spreadsheet import csv_writer

LABEL_COLUMN = "label"


def parts_csv_text(rows: Iterable[dict[str, Any]], inputs: list[str]) -> str:
    """CSV text for the parts in ``rows`` that carry a ``label`` (dicts with ``values`` in
    the model's column order, ``label`` and optionally ``id``)."""
    buf = io.StringIO()
    w = csv_writer(buf)
    w.writerow(["part_id", *inputs, LABEL_COLUMN])
    for row in rows:
        label = row.get("label")
        if not label:
            continue
        values = ["" if v is None else repr(float(v)) for v in row["values"]]
        w.writerow([row.get("id", row.get("index", "")), *values, label])
    return buf.getvalue()


def write_parts_csv(path: Path, rows: Iterable[dict[str, Any]], inputs: list[str]) -> int:
    """Write the labelled parts of ``rows`` to ``path`` (atomically); returns how many."""
    text = parts_csv_text(rows, inputs)
    atomic_write_text(Path(path), text)
    return text.count("\n") - 1


__all__ = ["LABEL_COLUMN", "parts_csv_text", "write_parts_csv"]
