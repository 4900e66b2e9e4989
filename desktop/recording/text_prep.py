"""A text file's bytes prepared for the parser, as its :class:`TextLayout` says: the
preamble skipped, the header replaced, numbers and date-times rewritten line by line;
and, after a parse that left rows out as going back in time, the note that names them
when local time repeated (a DST change).

A file that needs none of this passes through untouched (the same bytes, the same speed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.types import WALL_CLOCK_MIN_S
from desktop.formats.columns import split_unit
from desktop.formats.tokens import ISO_PREFIX
from desktop.recording.summary import add_note
from desktop.recording.text_layout import analyse
from desktop.recording.text_rewrite import HEAD_BYTES, TextLayout, rewrite_line
from desktop.recording.textio import _text_chunks

#: A backward jump of about one hour in naive local time is a DST change's repeated hour.
_DST_JUMP_S = (3000.0, 3900.0)
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$")


def layout_of(path: Path, dayfirst: bool | None = None, thousands: str | None = None,
              decimal: str | None = None) -> TextLayout:
    """Read the head of a text file and decide its :class:`TextLayout`."""
    head = b""
    for chunk in _text_chunks(path, HEAD_BYTES):
        head = chunk
        break
    return analyse(head, dayfirst, thousands, str(path), check_thousands=decimal != ",")


def prepared_chunks(path: Path, layout: TextLayout, chunk_bytes: int) -> Iterator[bytes]:
    """The file's UTF-8 bytes as the parser should see them."""
    chunks = _text_chunks(path, chunk_bytes)
    if layout.trivial:
        yield from chunks
        return
    skip = layout.skip_lines
    pending = b""
    started = False
    for chunk in chunks:
        data = pending + chunk
        cut = data.rfind(b"\n") + 1
        complete, pending = data[:cut], data[cut:]
        if not complete:
            continue
        if not started:
            lines = complete.split(b"\n")
            while skip and len(lines) > 1:
                lines.pop(0)
                skip -= 1
            if skip:
                continue
            started = True
            complete = b"\n".join(lines)
            if layout.header is not None:
                complete = layout.header.encode("utf-8") + b"\n" + complete
        yield _rewrite(complete, layout)
    if pending and (started or not skip):
        if not started and layout.header is not None:
            pending = layout.header.encode("utf-8") + b"\n" + pending
        yield _rewrite(pending, layout)


def _rewrite(block: bytes, layout: TextLayout) -> bytes:
    if not layout.rewrites:
        return block
    text = block.decode("utf-8", errors="replace")
    return "\n".join(rewrite_line(ln, layout) for ln in text.split("\n")).encode("utf-8")


def dst_note(path: Path, layout: TextLayout, chunk_bytes: int = 1 << 20) -> str | None:
    """After a parse that left rows out as ``time_backwards``: a note naming the rows when
    naive local times went back about one hour (a DST change repeats an hour), else None."""
    best = -float("inf")
    runs: list[list[int]] = []  # [first line, last line] of each repeated stretch
    jumps: list[tuple[str, str]] = []  # (the time before, the time after) each jump
    in_run = False
    prev_text = ""
    lineno = 0
    pending = b""
    for chunk in _text_chunks(path, chunk_bytes):
        data = pending + chunk
        cut = data.rfind(b"\n") + 1
        lines, pending = data[:cut].split(b"\n")[:-1], data[cut:]
        for raw in lines:
            lineno += 1
            text = rewrite_line(raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff"),
                                layout).strip("\"'")
            hit = ISO_PREFIX.match(text)
            if hit is None or _OFFSET.search(hit.group(1)):
                continue
            try:
                t = dt.datetime.fromisoformat(hit.group(1)).timestamp()
            except ValueError:
                continue
            if t < best:
                if in_run:
                    runs[-1][1] = lineno
                elif _DST_JUMP_S[0] <= best - t <= _DST_JUMP_S[1]:
                    runs.append([lineno, lineno])
                    jumps.append((prev_text, hit.group(1)))
                    in_run = True
            else:
                in_run = False
                best = t
            prev_text = hit.group(1)
    if not runs:
        return None
    spans = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs[:5])
    before, after = jumps[0]
    return (f"local time repeats (a DST change: {before} is followed by {after}, without a "
            f"UTC offset): lines {spans} fall in the repeated hour and were left out as "
            "time_backwards; export the times in UTC or with their offset to keep them")


def finish_metadata(metadata: dict[str, object], path: Path, parser: Any,
                    layout: TextLayout) -> None:
    """What was inferred (layout and the parser's time column) and the DST note, added to
    a text recording's metadata once the whole file is parsed."""
    inferred = dict(layout.inferred)
    dialect = getattr(parser, "dialect", None)
    if dialect is not None and dialect.timed:
        if dialect.header:
            inferred["time_column"] = split_unit(dialect.header[dialect.time_index])[0]
        if dialect.timestamp != "iso":
            inferred["time_unit"] = dialect.timestamp
        elif layout.stamp:  # rewritten to ISO here: say what the file wrote
            inferred["time_unit"] = ("wall-clock date-time, "
                                     + str(layout.inferred.get("time_format", layout.stamp)))
        else:
            inferred["time_unit"] = "ISO 8601 date-time"
    if inferred:
        metadata["inferred"] = inferred
    if layout.text_columns is not None:
        names = ", ".join(repr(n) for n in layout.text_columns.names)
        add_note(metadata, f"text column(s) {names} set aside (not numbers); the numeric "
                           "columns were read")
    if parser.malformed.get("time_backwards"):
        note = dst_note(path, layout)
        if note:
            add_note(metadata, note)


#: A forward jump of about one hour: a DST change's missing hour (spring forward).
_DST_GAP_S = (3600.0 - 600.0, 3600.0 + 600.0)


def dst_gap_note(times: np.ndarray | None) -> str | None:
    """A note when naive wall-clock times jump forward about one hour in the early
    morning of a Sunday in March/April (September/October south of the equator): a DST
    change, the hour does not exist in local time, so the jump is a gap in time, not
    missing data; else None."""
    if times is None or len(times) < 3 or float(times[0]) < WALL_CLOCK_MIN_S:
        return None
    steps = np.diff(times)
    typical = float(np.median(steps))
    if not typical > 0 or typical * 4 > _DST_GAP_S[0]:
        return None
    for i in np.flatnonzero((steps - typical >= _DST_GAP_S[0])
                            & (steps - typical <= _DST_GAP_S[1]))[:3]:
        before = dt.datetime.fromtimestamp(float(times[i]), dt.UTC).replace(tzinfo=None)
        after = dt.datetime.fromtimestamp(float(times[i + 1]), dt.UTC).replace(tzinfo=None)
        if before.weekday() == 6 and before.month in (3, 4, 9, 10) and 0 <= before.hour <= 3:
            return (f"local time jumps forward one hour at data row {i + 2} ({before} is "
                    f"followed by {after}, without a UTC offset): a DST change (the hour "
                    "does not exist in local time): a gap in time, no data missing")
    return None
