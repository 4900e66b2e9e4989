"""Exports: a time span of a recording to CSV/Parquet, and verdict tables to CSV/JSON/Parquet.

A selection keeps the recording's own times (``time_s`` as in the file, or ``i / rate``
for files without a time column), so a span cut at 10–12 s still says 10–12 s and lines up
with labels made on the whole file. Parquet selections carry the full description (units,
rate, source) and where they came from (``selection``); CSV is the plain
``time_s,<channels>`` table that Linewatch and any spreadsheet read back with the same
numbers (values written with 17 significant digits, exactly as stored). A gap (NaN) is an
empty CSV field; Linewatch's CSV reader skips such a row as malformed, so a span with gaps
keeps them only in Parquet.

Labels already export with ``linewatch labels export`` (:mod:`desktop.labels.io`); this
module does not repeat it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import InputError, MissingFileError, UsageError
from desktop.core.jsonfile import loads as json_limited
from desktop.core.jsonfile import read_json_file

SELECTION_SUFFIXES = (".csv", ".parquet")
VERDICT_SUFFIXES = (".csv", ".json", ".parquet")


@dataclass
class Selection:
    """Rows ``[i0, i1)`` of a recording: its own times, the chosen channels' values."""

    file: str
    channels: tuple[Any, ...]  # ChannelSpec
    times: np.ndarray
    values: np.ndarray  # (n, len(channels))
    sample_rate: float | None
    start_s: float
    end_s: float
    source: str
    start_time: str

#: A verdict JSON (from `predict --json` or `--out x.json`) larger than this is refused.
MAX_VERDICT_JSON_BYTES = 1 << 30


def _pick(names: list[str], wanted: list[str]) -> list[int]:
    from desktop.analysis.channels import pick_channel

    picked = []
    for w in wanted:
        i = pick_channel(names, w)[0]
        if i not in picked:
            picked.append(i)
    return picked


def select(file: str | Path, start: float | None = None, end: float | None = None,
           channels: list[str] | None = None, rate: float | None = None) -> Selection:
    """The samples of ``file`` with ``start <= t < end`` (seconds from its first sample).

    ``channels`` are names or unique parts of names (default: all). Raises
    :class:`InputError` for a span outside the file, no rate, or an unknown channel.
    """
    from desktop.recording.readers import read_recording

    path = Path(file).expanduser()
    rec = read_recording(path, rate)
    names = [c.name for c in rec.channels]
    idx = _pick(names, channels) if channels else list(range(len(names)))
    if rec.timestamps is not None and rec.samples:
        times = np.asarray(rec.timestamps, dtype=np.float64)
        rel = times - times[0]
    else:
        fs = rec.effective_rate()
        if not fs:
            raise InputError(f"{path} does not say its sample rate: give --rate HZ")
        times = np.arange(rec.samples, dtype=np.float64) / fs
        rel = times
    duration = rec.duration_s
    lo = 0.0 if start is None else float(start)
    hi = math.inf if end is None else float(end)
    if not (lo >= 0 and hi > lo and lo < duration):
        raise InputError(f"--start/--end must satisfy 0 <= START < END and START < "
                         f"{duration:.3f} s (the file's length)")
    # Times a device clock counted from far away lose bits when the first is subtracted:
    # a sample stamped exactly at --start must not fall out for a rounding error.
    eps = 4 * float(np.spacing(np.max(np.abs(times)))) if times.size else 0.0
    keep = (rel >= lo - eps) & (rel < hi - eps)
    if not keep.any():
        raise InputError(f"no samples between {lo:g} and {hi:g} s")
    i0 = int(np.argmax(keep))
    i1 = i0 + int(keep[i0:].sum())
    return Selection(str(path), tuple(rec.channels[i] for i in idx), times[i0:i1],
                     rec.values[i0:i1][:, idx], rec.sample_rate, float(rel[i0]),
                     float(rel[i1 - 1]), rec.source, rec.start_time)


def write_selection(sel: Selection, out: Path) -> None:
    """``out`` by extension: ``.parquet`` (Linewatch's recording layout) or ``.csv``."""
    from desktop.core.atomic import atomic_open

    suffix = out.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from desktop.recording.schema import build_schema

        meta: dict[str, Any] = {"source": sel.source or f"file:{Path(sel.file).name}",
                                "start_time": sel.start_time,
                                "selection": {"file": sel.file, "start_s": sel.start_s,
                                              "end_s": sel.end_s}}
        if sel.sample_rate:
            meta["sample_rate"] = sel.sample_rate
        schema = build_schema(sel.channels, meta)
        arrays = [pa.array(sel.times, pa.float64())]
        arrays += [pa.array(sel.values[:, j], pa.float64()) for j in range(len(sel.channels))]
        table = pa.Table.from_arrays(arrays, schema=schema)
        with atomic_open(out, "wb") as fh:
            pq.write_table(table, fh)
        return
    if suffix != ".csv":
        raise UsageError(f"--out {out}: give a .csv or .parquet file")
    from desktop.core.spreadsheet import csv_writer

    with atomic_open(out, "w", newline="") as fh:
        w = csv_writer(fh)  # channel names get the spreadsheet-formula guard
        w.writerow(["time_s", *(c.name for c in sel.channels)])
        for t, row in zip(sel.times.tolist(), sel.values.tolist(), strict=True):
            w.writerow([_num(t), *(_num(v) for v in row)])


def _num(v: float) -> str:
    """17 significant digits round-trip a float64; a gap is an empty field."""
    return "" if not math.isfinite(v) else repr(float(v))


# ---------------------------------------------------------------------------- verdicts
def read_verdicts(path: Path) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """A verdict table as columns, and its description.

    Reads what ``predict --out`` writes (.parquet, .csv, .json) and the document of
    ``predict FILE --json`` (its ``windows``, with ``file`` from its summary).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            doc = read_json_file(path, max_bytes=MAX_VERDICT_JSON_BYTES)  # size, nesting capped
        except (OSError, ValueError) as exc:
            raise InputError(f"{path} is not a JSON verdict file: {exc}") from exc
        if isinstance(doc, dict) and isinstance(doc.get("verdicts"), list):
            rows = doc["verdicts"]
            desc = {k: v for k, v in doc.items() if k != "verdicts"}
        elif isinstance(doc, dict) and isinstance(doc.get("windows"), list):
            file = str(doc.get("summary", {}).get("file", ""))
            rows = [{"file": file, **w} for w in doc["windows"]]
            desc = {"kind": "verdicts", "model": doc.get("model", {}),
                    "files": [doc.get("summary", {})], "failed": []}
        elif isinstance(doc, list):
            rows, desc = doc, {}
        else:
            raise InputError(f"{path} holds neither a verdict table nor `predict --json` "
                             "output")
        return _columns(rows), desc
    if suffix in (".parquet", ".csv"):
        import pyarrow as pa

        try:
            if suffix == ".parquet":
                import pyarrow.parquet as pq

                table = pq.read_table(path)
            else:
                import pyarrow.csv as pacsv

                table = pacsv.read_csv(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path} is not a readable verdict table: {exc}") from exc
        missing = [c for c in ("start_s", "end_s", "class") if c not in table.column_names]
        if missing:
            raise InputError(f"{path} is not a verdict table (no {', '.join(missing)})")
        raw = (table.schema.metadata or {}).get(b"linewatch")
        try:
            desc = json_limited(raw) if raw else {}
        except ValueError:
            desc = {}
        return {c: table.column(c).to_pylist() for c in table.column_names}, desc
    raise InputError(f"{path}: a verdict table is .parquet, .csv or .json")


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    return {k: [r.get(k) for r in rows] for k in keys}


def export_verdicts(src: Path, out: Path) -> int:
    """Convert a verdict table (or ``predict --json``) to ``out`` (.csv, .json, .parquet).

    Returns the number of rows.
    """
    from desktop.ml.inference.batch import write_table

    if out.suffix.lower() not in VERDICT_SUFFIXES:
        raise UsageError(f"--out {out}: give a .csv, .json or .parquet file")
    columns, desc = read_verdicts(src)
    write_table(columns, desc, out)
    return len(next(iter(columns.values()), []))

