"""Reading a table of measurements and matching its columns to a model's inputs.

Rules (the same for every tabular model):

* columns are matched **by name** (case and surrounding spaces are ignored); the order in
  the file does not matter and the table is reordered to the model's order;
* a missing input column, an unexpected extra column, or a column that holds text is
  refused with a message naming the columns (a renamed column shows up as one missing and
  one extra, and the message says so); an id column (``id``, ``part_id``, …) and, when the
  caller names it, a label column are set aside instead of refused;
* a table without a header is accepted only when the model allows it *and* it has exactly
  as many columns as the model has inputs; it is then read by position, and a notice says
  so (the caller shows it).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import InputError, MissingFileError

ID_NAMES = ("id", "part_id", "part", "plate_id", "sample_id", "row_id", "serial", "time",
            "timestamp", "sample", "date", "datetime", "date_time", "index")
MAX_TABLE_BYTES = 512 << 20
#: a cell that is a number with a decimal comma (``-0,25``, ``1,5e3``)
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")
#: column names listed in one refusal before "… and N more"
MAX_NAMED = 8


class ColumnError(InputError):
    """The table's columns do not match the model's inputs (the message names them)."""


def _names(names: list[str]) -> str:
    """At most :data:`MAX_NAMED` names, then how many more."""
    if len(names) <= MAX_NAMED:
        return ", ".join(names)
    return f"{', '.join(names[:MAX_NAMED])} … and {len(names) - MAX_NAMED} more"


@dataclass
class Table:
    """Numeric inputs in the model's column order, plus what was set aside."""

    values: np.ndarray                    # (rows, inputs) float64, NaN where a cell is empty
    columns: list[str]                    # the model's input names, in order
    ids: list[str] | None = None          # the id column's values, when there was one
    id_column: str | None = None
    labels: list[str] | None = None       # the label column's values, when asked for
    notices: list[str] = field(default_factory=list)


def _norm(name: object) -> str:
    return str(name).strip().lower()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_frame(source: Any):
    """A pandas DataFrame from a path (CSV, TSV or whitespace text) or a DataFrame.

    A file whose first line is all numbers is read as headerless: its columns are then the
    integers 0, 1, 2 … (and :func:`match_columns` decides whether that is acceptable).
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if path.is_dir():
        raise InputError(f"{path} is a folder: give the table files in it (CSV, TSV, "
                         f"whitespace text or Parquet)")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MissingFileError(f"{path} does not exist") from None
    if path.suffix.lower() in (".parquet", ".pq"):  # e.g. what `linewatch record` writes
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several kinds; one line for all
            raise InputError(f"{path} could not be read as a Parquet table: {exc}") from None
        if len(frame) == 0:
            raise InputError(f"{path} has no data rows")
        return frame
    if size > MAX_TABLE_BYTES:
        raise InputError(f"{path} is {size} bytes; tables up to {MAX_TABLE_BYTES} are read")
    with open(path, "rb") as raw:
        sample = raw.read(65536)
    if b"\x00" in sample:
        raise InputError(f"{path} is not a text table (binary content: a signal recording "
                         f"such as .mat or .wav?); quality and process models read CSV or "
                         f"whitespace-separated tables, one row per part or sample")
    if "\ufffd" in sample.decode("utf-8", errors="replace")[:4096]:
        raise InputError(f"{path} is not UTF-8 text: save the table as UTF-8 (CSV UTF-8 in "
                         f"Excel), or it is a binary recording, which table models do not read")
    head = sample.decode("utf-8", errors="replace")
    first = head.splitlines()[0] if head.strip() else ""
    if not first:
        raise InputError(f"{path} is empty")
    try:
        dialect = csv.Sniffer().sniff(head, delimiters=",;\t")
        sep: str | None = dialect.delimiter
    except csv.Error:
        sep = None
    if sep is None or sep not in first:
        sep = r"\s+"
    fields = [f for f in (first.split() if sep == r"\s+" else first.split(sep)) if f != ""]
    headerless = bool(fields) and all(_is_number(f) for f in fields)
    if not headerless:
        # pandas renames a repeated header (x, x.1): say it is repeated instead
        names = [f.strip().strip('"').lstrip("\ufeff").strip().lower() for f in fields]
        repeated = sorted({f.strip().strip('"') for f, k in zip(fields, names, strict=True)
                           if names.count(k) > 1})
        if repeated:
            raise ColumnError(f"{path}: the header repeats column(s) {', '.join(repeated)}; "
                              f"each column needs its own name")
    decimal = "."
    if sep != ",":
        # 0,25;1,5 (a decimal comma, e.g. a German Excel export): read it as such
        lines = head.splitlines()[1:6] if not headerless else head.splitlines()[:5]
        tokens = [t for line in lines
                  for t in (line.split() if sep == r"\s+" else line.split(sep)) if t]
        if tokens and any(_DECIMAL_COMMA.match(t) for t in tokens) and not any(
                _is_number(t) and "." in t for t in tokens):
            decimal = ","
    try:
        frame = pd.read_csv(path, sep=sep, header=None if headerless else 0,
                            engine="python" if sep == r"\s+" else "c", decimal=decimal)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} could not be read as a table: {exc}") from None
    if len(frame) == 0:
        raise InputError(f"{path} has a header but no data rows")
    if decimal == ",":
        frame.attrs["notices"] = ["read with decimal commas (0,5 = 0.5)"]
    return frame


def match_columns(frame, inputs: list[str], *, allow_headerless: bool = False,
                  label_column: str | None = None, what: str = "model") -> Table:
    """Check ``frame``'s columns against ``inputs`` and return the inputs in model order."""
    cols = list(frame.columns)
    notices: list[str] = list(frame.attrs.get("notices", []))
    if allow_headerless and cols == list(range(len(cols))):
        if len(cols) != len(inputs):
            transposed = (f"; it has {len(frame)} rows, so it may be stored transposed (one "
                          f"variable per row, like TEP's d00.dat): transpose it first"
                          if len(frame) == len(inputs) else "")
            raise ColumnError(f"the table has no header and {len(cols)} columns; the {what} "
                              f"reads a headerless table only with exactly {len(inputs)} "
                              f"columns ({inputs[0]} … {inputs[-1]}), or add a header row"
                              + transposed)
        frame = frame.set_axis(inputs, axis=1)
        notices.append(f"no header row: the {len(inputs)} columns were read by position as "
                       f"{inputs[0]} … {inputs[-1]}")
        cols = list(inputs)
    elif all(isinstance(c, int) for c in cols):
        raise ColumnError(f"the table has no header row; the {what} needs named columns: "
                          f"{_names(list(inputs))}")
    by_norm: dict[str, Any] = {}
    dupes = []
    for c in cols:
        key = _norm(c)
        if key in by_norm:
            dupes.append(str(c))
        by_norm[key] = c
    if dupes:
        raise ColumnError(f"the table repeats column(s): {_names(dupes)}")
    wanted = {_norm(n): n for n in inputs}
    label_key = _norm(label_column) if label_column else None
    missing = [n for n in inputs if _norm(n) not in by_norm]
    id_cols = [by_norm[k] for k in by_norm if k in ID_NAMES and k not in wanted]
    id_col = id_cols[0] if id_cols else None
    if len(id_cols) > 1:
        notices.append(f"id column {id_col}; also set aside: "
                       f"{', '.join(str(c) for c in id_cols[1:])}")
    extra = [str(c) for k, c in by_norm.items()
             if k not in wanted and k != label_key and not any(c is i for i in id_cols)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s): {_names(missing)}")
        if extra:
            parts.append(f"unexpected column(s): {_names(extra)}")
        hint = ""
        if missing and extra and min(len(missing), len(extra)) <= 3:
            hint = (" — if a column was renamed, rename it back to the name the model was "
                    "trained with")
        raise ColumnError(f"the table's columns do not match the {what}: "
                          f"{'; '.join(parts)}{hint}")
    ordered = [by_norm[_norm(n)] for n in inputs]
    if [c for c in cols if _norm(c) in wanted] != ordered:
        notices.append("columns were matched by name; their order in the table differs "
                       "from the model's")
    sub = frame[ordered]
    bad = []
    values = np.empty(sub.shape, dtype=np.float64)
    for j, c in enumerate(ordered):
        col = sub[c]
        if col.dtype.kind in "fiub":
            values[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        import pandas as pd

        num = pd.to_numeric(col, errors="coerce")
        text = col.notna() & num.isna()
        if text.any():
            first = int(np.flatnonzero(text.to_numpy())[0])
            bad.append(f"{c} (row {first + 1}: {str(col.iloc[first])[:30]!r})")
        values[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    if bad:
        raise ColumnError(f"non-numeric values in column(s): {'; '.join(bad)} — a text or "
                          f"date column can be named id or time to be set aside")
    infinite = np.isinf(values)
    if infinite.any():
        i, j = (int(v[0]) for v in np.nonzero(infinite))
        raise ColumnError(f"infinite value in column {inputs[j]}, row {i + 1} "
                          f"({str(sub.iloc[i, j])[:20]!r}): replace it with a measured value "
                          f"or leave the cell empty")
    empty = np.isnan(values)
    if empty.any():
        named = [inputs[j] for j in np.flatnonzero(empty.any(axis=0))]
        notices.append(f"{int(empty.sum())} empty cell(s) (blank, NA, n/a …) in column(s) "
                       f"{', '.join(named[:5])}{' …' if len(named) > 5 else ''}")
    ids = [str(v) for v in frame[id_col].tolist()] if id_col is not None else None
    labels = None
    if label_key is not None and label_key in by_norm:
        labels = [str(v) for v in frame[by_norm[label_key]].tolist()]
    return Table(values=values, columns=list(inputs), ids=ids,
                 id_column=None if id_col is None else str(id_col), labels=labels,
                 notices=notices)


def refuse_empty_cells(table: Table, why: str) -> None:
    """For models that need every value: refuse a table with an empty cell, naming the
    first one's column and row (and how many more there are).

    Raises:
        InputError: ``empty cell in column C, row R (and N more): {why}``.
    """
    empty = np.isnan(table.values)
    if empty.any():
        i, j = (int(v[0]) for v in np.nonzero(empty))
        more = int(empty.sum()) - 1
        raise InputError(f"empty cell in column {table.columns[j]}, row {i + 1}"
                         + (f" (and {more} more)" if more else "") + f": {why}")


def frame_from_csv_text(text: str):
    """Handy for tests: a DataFrame from CSV text."""
    import pandas as pd

    return pd.read_csv(io.StringIO(text))
