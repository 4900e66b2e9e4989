"""Parsing JSON that came from outside (cards, label files, metadata) in bounded time and memory.

``json.loads`` recurses once per ``[`` or ``{``: a file of 200,000 ``[`` (a few hundred
kilobytes) ends in a :class:`RecursionError` deep inside the decoder, which no caller
expects and which turns "one bad model folder" into "the model list is empty". Every
reader of JSON it did not write itself goes through :func:`loads` instead, which measures
the nesting first (vectorised, about 50 MB/s) and refuses anything deeper than
``max_depth`` with the line and column where it happens, and :func:`read_json_file`, which
also refuses a file larger than the caller's cap before reading a byte of it.

Both raise :class:`JSONProblem` (a ``ValueError``) whose message is one line without the
file name, so each caller can say which file it was and what to do about it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

#: Deeper than anything Linewatch writes (cards, label files and metadata are 2–4 deep).
MAX_DEPTH = 64


class JSONProblem(ValueError):
    """JSON that cannot be used: invalid, too deep or too large (``line``/``column`` 1-based
    where known, else 0)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(where + message)
        self.line, self.column = line, column


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def too_deep_at(data: bytes, max_depth: int = MAX_DEPTH) -> int | None:
    """Byte offset of the first ``[``/``{`` (outside strings) that opens level
    ``max_depth + 1``, or None when the text never nests that deep."""
    raw = np.frombuffer(data, dtype=np.uint8)
    opens = (raw == ord("[")) | (raw == ord("{"))
    if int(np.count_nonzero(opens)) <= max_depth:
        return None  # cannot be too deep: the common case costs one pass
    # A quote ends or starts a string unless an odd run of backslashes precedes it.
    quotes = np.flatnonzero(raw == ord('"'))
    if quotes.size:
        index = np.arange(raw.size)
        last_plain = np.maximum.accumulate(np.where(raw == ord("\\"), -1, index))
        before = quotes - 1
        run = np.where(before >= 0, before - last_plain[np.maximum(before, 0)], 0)
        real = quotes[run % 2 == 0]
        toggles = np.zeros(raw.size, dtype=np.int8)
        toggles[real] = 1
        outside = (np.cumsum(toggles, dtype=np.int64) & 1) == 0
    else:
        outside = np.ones(raw.size, dtype=bool)
    closes = (raw == ord("]")) | (raw == ord("}"))
    step = (opens & outside).astype(np.int32) - (closes & outside).astype(np.int32)
    depth = np.cumsum(step, dtype=np.int64)
    deep = np.flatnonzero(depth > max_depth)
    return int(deep[0]) if deep.size else None


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses nesting deeper than ``max_depth`` before decoding.

    Raises :class:`JSONProblem` ("line L, column C: …") for invalid JSON, too deep
    nesting, or text that is not UTF-8.
    """
    data = text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else text
    offset = too_deep_at(data, max_depth)
    if offset is not None:
        line, column = _line_column(data, offset)
        raise JSONProblem(f"nested deeper than {max_depth} levels", line, column)
    try:
        decoded = data.decode("utf-8-sig") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        raise JSONProblem("not UTF-8 text", line, column) from None
    try:
        return json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise JSONProblem(f"not valid JSON ({exc.msg})", exc.lineno, exc.colno) from None
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise JSONProblem(f"nested deeper than {max_depth} levels") from None


def read_json_file(path: Path, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``path``; refuses a file over ``max_bytes`` without reading it.

    Raises :class:`JSONProblem` (too large, invalid, too deep) and ``OSError`` (missing,
    unreadable) for the caller to phrase.
    """
    with open(path, "rb") as fh:
        size = _size(fh)
        if size > max_bytes:
            raise JSONProblem(f"{size:,} bytes, more than the {max_bytes:,} bytes such a "
                              "file may have")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we looked (or a pipe): still refused
        raise JSONProblem(f"more than the {max_bytes:,} bytes such a file may have")
    return loads(data, max_depth=max_depth)


def _size(fh: Any) -> int:
    try:
        return os.fstat(fh.fileno()).st_size
    except OSError:
        return 0
