"""What one field of an ASCII line can be: a number, an ISO timestamp, a ``name:value`` pair.

Detection, the per-line reference path and the vectorised block path all judge fields by
these definitions, which is what keeps their verdicts identical.
"""

from __future__ import annotations

import datetime as dt
import re

# A line holding a byte outside tab and printable ASCII is line noise, never data.
BAD_LINE = re.compile(rb"[^\t\x20-\x7e]")
TERMINATOR = re.compile(rb"[\r\n]")
# Control bytes other than tab/CR/LF. Devices pad between lines with NUL (DMA buffers,
# fixed-size USB packets) or send XON/XOFF, BEL, DEL: at the start or end of a line they are
# padding and are removed; inside a line they still make it line noise.
CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"
_CONTROL_CLASS = b"[" + re.escape(CONTROL) + b"]+"
_CONTROL_AT_EDGES = re.compile(
    rb"(?:^|(?<=[\r\n]))" + _CONTROL_CLASS + rb"|" + _CONTROL_CLASS + rb"(?=[\r\n]|$)"
)
UTF8_BOM = b"\xef\xbb\xbf"
# Decimal comma: ',' becomes '.', and a '.' (a thousands mark in those locales: "1.013,2")
# becomes '_', which no number may hold, so "1.013" is refused rather than read as 1.013.
DECIMAL_COMMA = bytes.maketrans(b",.", b"._")


def strip_control_edges(lines: bytes) -> bytes:
    """Remove control bytes at the start and end of every line of ``lines`` (C speed)."""
    if not lines or len(lines.translate(None, CONTROL)) == len(lines):
        return lines
    return _CONTROL_AT_EDGES.sub(b"", lines)
# What float() may see: it also takes "1_000" and inner blanks, which no sensor means.
_NUMBER_CHARS = re.compile(r"[0-9+\-.eEnNaAiIfFtTyY]+")
ISO_PREFIX = re.compile(
    r"[\"']?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)"
    r"[\"']?"
)
_KV_SEPARATORS = re.compile(r"[,;\t]")
_KV_BLANKS_AROUND = re.compile(r"[ \t]*([:=])[ \t]*")
_KV_NAME_END = re.compile(r"[:=]")
QUOTES = "\"'"


def text_line_ok(line: bytes) -> bool:
    """True for a line a header or banner may be: valid UTF-8 without control bytes.

    Data lines must be printable ASCII (:data:`BAD_LINE`); a header may name units such as
    ``temp [°C]`` or ``µs``, so header candidates are judged as UTF-8 text.
    """
    if CONTROL_RE.search(line):
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


CONTROL_RE = re.compile(_CONTROL_CLASS)


def to_float(text: str) -> float | None:
    """The number in ``text``, or None; the one definition of "numeric" for every path.

    pyarrow's cast and Python's float() accept exactly the same strings over the
    characters allowed here (checked by fuzzing), which is what keeps the two paths agreed.
    """
    if not _NUMBER_CHARS.fullmatch(text):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_iso(text: str) -> float | None:
    """ISO 8601 date-time → seconds since the Unix epoch; naive times are taken as UTC."""
    match = ISO_PREFIX.fullmatch(text.strip(" \t"))
    if match is None:
        return None
    stamp_text = match.group(1)
    if stamp_text[-1] in "Zz":
        stamp_text = stamp_text[:-1] + "+00:00"
    try:
        stamp = dt.datetime.fromisoformat(stamp_text)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        value = stamp.timestamp()
    except (ValueError, OverflowError):
        return None
    return value


def kv_pairs(text: str) -> list[tuple[str, str]] | None:
    """``"a:1, b=2"`` → ``[("a", "1"), ("b", "2")]``; None if any token is not a pair."""
    if _KV_SEPARATORS.search(text):
        tokens = _KV_SEPARATORS.split(text)
    else:
        tokens = _KV_BLANKS_AROUND.sub(r"\1", text).split()
    pairs = []
    for raw in tokens:
        token = raw.strip(" \t")
        if not token:
            continue  # a trailing separator ("a:1,b:2,") is common and harmless
        match = _KV_NAME_END.search(token)
        if match is None:
            return None
        name = token[: match.start()].strip(" \t").strip(QUOTES)
        if not name:
            return None
        pairs.append((name, token[match.end() :].strip(" \t").strip(QUOTES)))
    return pairs or None


def nonnumeric_count(fields: list[str]) -> int:
    """How many non-empty fields are not numbers (a header or prose has mostly such)."""
    return sum(1 for f in fields if f and to_float(f) is None)
