"""The per-line reference path: a verdict on one line at a time, in Python.

It is the definition of what a line means in a given :class:`Dialect`. The vectorised block
path hands it every line it cannot vouch for, and the tests check both reach the same
verdict on every line, so a result never depends on which path (or chunking) ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from desktop.core.types import MalformedCounter
from desktop.formats.columns import to_seconds
from desktop.formats.detect import Dialect
from desktop.formats.tokens import (
    BAD_LINE,
    ISO_PREFIX,
    TERMINATOR,
    kv_pairs,
    nonnumeric_count,
    parse_iso,
    text_line_ok,
    to_float,
)

# None: a blank line (ignored); a string: the malformed kind; else the row and its time.
Verdict = str | tuple[list[float], float | None] | None


@dataclass
class Rows:
    """Rows collected during one feed/finish call, possibly in several pieces."""

    values: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)

    def add(self, values: np.ndarray, times: np.ndarray | None) -> None:
        """Append a piece (ignored when empty); ``times`` only for timed streams."""
        if values.shape[0]:
            self.values.append(values)
            if times is not None:
                self.times.append(times)


class LineJudge:
    """Judges lines in one dialect; for key-value lines it also owns the growing channels."""

    def __init__(self, dialect: Dialect, max_line_bytes: int) -> None:
        self.dialect = dialect
        self.max_line_bytes = max_line_bytes
        self.names: list[str] = list(dialect.names)
        self._index: dict[str, int] = {name: i for i, name in enumerate(self.names)}
        self._blanks = dialect.blanks

    def parse(self, complete: bytes, malformed: MalformedCounter, out: Rows) -> None:
        """Parse complete lines one by one, counting the rejected ones in ``malformed``."""
        keyvalue = self.dialect.layout == "keyvalue"
        judge = self.keyvalue if keyvalue else self.delimited
        rows: list[list[float]] = []
        times: list[float] = []
        for line in TERMINATOR.split(complete):
            verdict = judge(line)
            if verdict is None:
                continue
            if isinstance(verdict, str):
                malformed[verdict] += 1
                continue
            row, stamp = verdict
            rows.append(row)
            if stamp is not None:
                times.append(stamp)
        if not rows:
            return
        width = len(self.names)
        if keyvalue:
            rows = [r + [math.nan] * (width - len(r)) for r in rows]
        values = np.array(rows, dtype=np.float64).reshape(len(rows), width)
        out.add(values, np.array(times, dtype=np.float64) if self.dialect.timed else None)

    def common(self, line: bytes) -> str | None:
        """Checks shared by every layout: None when the line should be parsed further."""
        if len(line) > self.max_line_bytes:
            return "overlong"
        if not line.strip(b" \t"):
            return ""
        if BAD_LINE.search(line) and not text_line_ok(line):
            return "non_utf8"
        # Valid UTF-8 that is not printable ASCII (a note, a reprinted header naming °C or
        # µm/s) is judged as text below, like its ASCII twin, and never taken as data.
        return None

    def delimited(self, line: bytes) -> Verdict:
        """Verdict on one delimited line: None (blank), a malformed kind, or its row."""
        kind = self.common(line)
        if kind is not None:
            return kind or None
        verdict = self._delimited(line.decode("utf-8"))
        return verdict if line.isascii() or not isinstance(verdict, tuple) else "non_numeric"

    def _delimited(self, text: str) -> Verdict:
        d = self.dialect
        stamp: float | None = None
        if d.timestamp == "iso":
            hit = ISO_PREFIX.match(text.lstrip(" \t"))
            if hit is not None:
                stamp = parse_iso(hit.group(0))
                text = "0" + text.lstrip(" \t")[hit.end() :]
        if d.delimiter is None:
            fields = text.split()
            if len(fields) != d.ncols:
                return "columns"
        else:
            fields = text.split(d.delimiter)
            if len(fields) != d.ncols + d.trailing:
                return "columns"
            fields = [f.strip(self._blanks) for f in fields]
            if d.trailing and fields.pop() != "":
                # Right delimiter count but the empty field is not the last one.
                return "columns" if self.header_like(fields) else "non_numeric"
        if self.header_like(fields):
            return "columns"
        ti = d.time_index if d.timed else -1
        row = []
        finite = True
        for i, f in enumerate(fields):
            if i == ti:
                continue
            if not f:
                row.append(math.nan)  # an empty cell is a gap in that channel
                continue
            value = to_float(f)
            if value is None:
                return "non_numeric"
            finite = finite and math.isfinite(value)
            row.append(value)
        if not finite:
            return "non_finite"
        if d.timestamp not in ("none", "iso"):
            stamp = to_float(fields[ti])
            if stamp is not None:
                stamp = float(to_seconds(stamp, d.timestamp))  # type: ignore[arg-type]
        if ti >= 0 and (stamp is None or not math.isfinite(stamp)):
            return "timestamp"
        return row, stamp

    @staticmethod
    def header_like(fields: list[str]) -> bool:
        """A line of mostly words after detection: a reprinted header, or prose."""
        return len(fields) >= 2 and 2 * nonnumeric_count(fields) > len(fields)

    def keyvalue(self, line: bytes) -> Verdict:
        """Verdict on one ``name:value`` line; a new name adds a channel."""
        kind = self.common(line)
        if kind is not None:
            return kind or None
        if not line.isascii():  # data lines are printable ASCII: valid UTF-8 is text
            return "columns" if kv_pairs(line.decode("utf-8")) is None else "non_numeric"
        pairs = kv_pairs(line.decode("ascii"))
        if pairs is None:
            return "columns"
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            return "columns"
        d = self.dialect
        values: list[tuple[str, float]] = []
        stamp_text: str | None = None
        for name, text in pairs:
            if name == d.timestamp_key:
                stamp_text = text
                continue
            value = to_float(text)
            if value is None:
                return "non_numeric"
            values.append((name, value))
        if not all(math.isfinite(v) for _, v in values):
            return "non_finite"
        stamp: float | None = None
        if d.timestamp_key is not None:
            if stamp_text is not None:
                stamp = parse_iso(stamp_text) if d.timestamp == "iso" else to_float(stamp_text)
            if stamp is None or not math.isfinite(stamp):
                return "timestamp"
            if d.timestamp != "iso":
                stamp = float(to_seconds(stamp, d.timestamp))  # type: ignore[arg-type]
        for name, _ in values:
            if name not in self._index:  # channels appear as names appear
                self._index[name] = len(self.names)
                self.names.append(name)
        row = [math.nan] * len(self.names)
        for name, value in values:
            row[self._index[name]] = value
        return row, stamp
