"""ASCII sensor lines → float64 arrays, vectorised over whole blocks of bytes.

Why vectorised: at 921,600 baud a device sends ~15 k lines/s and a replayed CSV far more;
a Python loop of ``split``/``float`` per line (~0.5 M values/s) would eat the core the
UI needs. Here a block of bytes is classified with numpy (line boundaries, bad bytes,
delimiter counts, characters that cannot be part of a number) and every clean line is
converted in one C call (``np.fromstring``). Only the rare suspect lines (garbage,
``nan`` text, a repeated header) and the slow formats (``name:value`` pairs, ISO
timestamps) go through the per-line path, which is also the reference the fast path
must agree with.

The format is detected from the first lines and then fixed for the whole stream, so a
garbage line later can never switch the delimiter or the channel set (key:value streams
may still add channels, by design).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from collections import Counter

import numpy as np

from desktop.core.types import MalformedCounter
from desktop.formats.base import ParsedBlock

DELIMITERS = (",", ";", "\t", " ")
SECONDS_NAMES = {"t", "time", "timestamp", "ts", "time_s", "seconds", "sec", "s", "epoch"}
MILLIS_NAMES = {"ms", "millis", "time_ms", "timestamp_ms", "t_ms", "milliseconds"}
_ISO = re.compile(rb"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_KV_PAIR = re.compile(rb"^\s*([A-Za-z_][A-Za-z0-9_ .\-/\[\]%]*?)\s*[:=]\s*(\S+)\s*$")
_SPACES = re.compile(rb"[ \t]+")
_EDGE_SPACES = re.compile(rb"^ | $", re.MULTILINE)

# Bytes that may appear in a clean numeric line (besides the delimiter and newline).
_NUMERIC = np.zeros(256, dtype=bool)
for _c in b"0123456789.+-eE":
    _NUMERIC[_c] = True
# Bytes that make a line "non_utf8": anything non-ASCII and control characters except tab.
_BAD_BYTE = np.zeros(256, dtype=bool)
_BAD_BYTE[128:] = True
_BAD_BYTE[:32] = True
_BAD_BYTE[[9, 10]] = False
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 32]] = True


def _empty(names: list[str], timed: bool) -> ParsedBlock:
    return ParsedBlock(np.empty((0, len(names))), np.empty(0) if timed else None, tuple(names))


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


class AsciiLineParser:
    """Streaming parser for delimited or ``name:value`` ASCII lines (see module doc)."""

    def __init__(
        self,
        delimiter: str | None = None,
        header: bool | None = None,
        timestamp: str = "auto",
        layout: str = "auto",
        detect_lines: int = 5,
        max_line_bytes: int = 65536,
    ) -> None:
        if delimiter is not None and delimiter not in DELIMITERS:
            raise ValueError(f"delimiter must be one of {DELIMITERS!r}")
        if timestamp not in ("auto", "none", "s", "ms", "iso"):
            raise ValueError("timestamp must be auto, none, s, ms or iso")
        if layout not in ("auto", "delimited", "keyvalue"):
            raise ValueError("layout must be auto, delimited or keyvalue")
        self._opt_delimiter = delimiter
        self._opt_header = header
        self._opt_timestamp = timestamp
        self._opt_layout = layout
        self.detect_lines = max(1, detect_lines)
        self.max_line_bytes = max_line_bytes
        self._malformed = MalformedCounter()
        self._buf = b""
        self._pending: list[bytes] = []  # complete lines held back until detection
        self._detected = False
        self._drop_next = False
        self._skipping_overlong = False
        # Fixed after detection:
        self.layout = "delimited"
        self.delimiter = ","
        self.timestamp = "none"  # none | s | ms | iso
        self.header_line: bytes | None = None
        self._names: list[str] = []
        self._fields = 0  # fields per delimited line, timestamp included

    # -- FrameParser properties --------------------------------------------------------
    @property
    def channel_names(self) -> list[str]:
        return list(self._names)

    @property
    def timestamped(self) -> bool:
        return self.timestamp != "none"

    @property
    def malformed(self) -> MalformedCounter:
        return self._malformed

    @property
    def description(self) -> str:
        if not self._detected:
            return "ASCII lines (format not detected yet)"
        if self.layout == "keyvalue":
            text = f"name:value pairs, {len(self._names)} channels"
        else:
            delim = {"\t": "tab", " ": "spaces"}.get(self.delimiter, repr(self.delimiter))
            head = "with header" if self.header_line is not None else "no header"
            text = f"delimited {delim}, {head}, {len(self._names)} channels"
        if self.timestamp != "none":
            text += f", timestamp column in {self.timestamp}"
        return text

    # -- stream handling -----------------------------------------------------------------
    def resync(self) -> None:
        self._buf = b""
        self._skipping_overlong = False
        self._drop_next = True

    def feed(self, data: bytes) -> ParsedBlock:
        data = self._buf + data if self._buf else data
        if self._skipping_overlong or self._drop_next:
            cut = data.find(b"\n")
            if cut < 0:
                self._buf = b"" if self._skipping_overlong else self._cap(data)
                return self._nothing()
            first = data[:cut]
            if self._drop_next and not self._keep_first_line(first):
                self._malformed["torn"] += 1
            elif self._drop_next:
                cut = -1  # a header right after opening: keep it
            self._drop_next = self._skipping_overlong = False
            data = data[cut + 1:]
        last = data.rfind(b"\n")
        if last < 0:
            self._buf = self._cap(data)
            return self._nothing()
        self._buf = self._cap(data[last + 1:])
        return self._process(data[: last + 1])

    def _cap(self, rest: bytes) -> bytes:
        """A partial line longer than any sane line is garbage: drop it up to its newline."""
        if len(rest) > self.max_line_bytes:
            self._malformed["overlong"] += 1
            self._skipping_overlong = True
            return b""
        return rest

    def _keep_first_line(self, line: bytes) -> bool:
        """After (re)opening, a header line is worth keeping: devices print it on reset."""
        if self._detected:
            return False
        fields = [f for f in re.split(rb"[,;\t ]+", line.strip()) if f]
        return bool(fields) and not any(_is_number(f) for f in fields) and all(
            32 <= b < 127 or b == 9 for b in line.rstrip(b"\r"))

    def finish(self) -> ParsedBlock:
        rest, self._buf = self._buf, b""
        if self._skipping_overlong:
            rest = b""
        if rest.strip():
            return self._process(rest + b"\n", final=True)
        return self._process(b"", final=True)

    def _nothing(self) -> ParsedBlock:
        return _empty(self._names, self.timestamped)

    def _process(self, complete: bytes, final: bool = False) -> ParsedBlock:
        if not self._detected:
            self._pending.extend(complete.split(b"\n")[:-1] if complete else [])
            nonempty = [ln for ln in self._pending if ln.strip(b" \t\r")]
            if len(nonempty) < self.detect_lines and not final:
                return self._nothing()
            if not nonempty:
                self._pending = []
                return self._nothing()
            self._detect(nonempty)
            complete = b"\n".join(self._pending) + b"\n" if self._pending else b""
            self._pending = []
            if self.header_line is not None:
                complete = complete.replace(self.header_line + b"\n", b"", 1)
        if not complete:
            return self._nothing()
        if self.layout == "keyvalue":
            return self._parse_keyvalue(complete)
        return self._parse_delimited(complete)

    def _count(self, kind: str, n: int) -> None:
        if n:
            self._malformed[kind] += n

    # -- detection -----------------------------------------------------------------------
    def _split(self, line: bytes, delimiter: str) -> list[bytes]:
        line = line.strip(b"\r")
        if delimiter == " ":
            return line.split()
        return [f.strip(b" ") for f in line.split(delimiter.encode())]

    def _detect(self, lines: list[bytes]) -> None:
        clean = [ln.rstrip(b"\r") for ln in lines
                 if not any(b >= 128 or (b < 32 and b != 9) for b in ln.rstrip(b"\r"))]
        clean = clean or [ln.rstrip(b"\r") for ln in lines]
        layout = self._opt_layout
        if layout == "auto":
            kv = sum(1 for ln in clean if _looks_keyvalue(ln))
            layout = "keyvalue" if kv * 2 > len(clean) else "delimited"
        self.layout = layout
        if layout == "keyvalue":
            self.timestamp = "none" if self._opt_timestamp == "auto" else self._opt_timestamp
            self._detected = True
            return
        self.delimiter = self._opt_delimiter or _best_delimiter(clean)
        rows = [self._split(ln, self.delimiter) for ln in clean]
        counts = Counter(len(r) for r in rows)
        self._fields = counts.most_common(1)[0][0]
        first = rows[0]
        is_header = self._opt_header
        if is_header is None:
            numeric = sum(_is_number(f) for f in first)
            is_header = len(first) == self._fields and numeric * 2 < len(first)
        names: list[str] = []
        if is_header:
            self.header_line = lines[0].rstrip(b"\n")
            names = [f.decode("ascii", "replace").strip().strip("\"'") or f"ch{i + 1}"
                     for i, f in enumerate(first)]
            data_rows = rows[1:]
        else:
            data_rows = rows
        ts = self._opt_timestamp
        if ts == "auto":
            ts = "none"
            if names and names[0].lower() in SECONDS_NAMES:
                ts = "s"
            elif names and names[0].lower() in MILLIS_NAMES:
                ts = "ms"
            elif data_rows and 2 * sum(bool(r and _ISO.match(r[0])) for r in data_rows) > len(
                    data_rows):
                ts = "iso"
        self.timestamp = ts
        n_channels = self._fields - (1 if ts != "none" else 0)
        if names:
            names = names[1:] if ts != "none" else names
            names = _unique(names[:n_channels])
        else:
            names = [f"ch{i + 1}" for i in range(n_channels)]
        self._names = names
        self._detected = True

    # -- delimited -----------------------------------------------------------------------
    def _parse_delimited(self, text: bytes) -> ParsedBlock:
        text = text.replace(b"\r", b"")
        if self.delimiter == " ":
            text = _EDGE_SPACES.sub(b"", _SPACES.sub(b" ", text))
        arr = np.frombuffer(text, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        if nl.size == 0:
            return self._nothing()
        starts = np.empty_like(nl)
        starts[0] = 0
        starts[1:] = nl[:-1] + 1

        def per_line(mask: np.ndarray) -> np.ndarray:
            cs = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
            return cs[nl] - cs[starts]

        delim = ord(self.delimiter)
        is_delim = arr == delim
        content = per_line(~_WHITESPACE[arr] & (arr != 10))
        nonempty = content > 0
        bad = per_line(_BAD_BYTE[arr]) > 0
        delims = per_line(is_delim)
        # Characters that cannot be part of a plain number, and empty fields (",," or a
        # delimiter at a line edge) make a line suspect: it goes to the per-line path.
        odd = ~(_NUMERIC[arr] | is_delim | (arr == 10))
        empty_field = np.zeros(arr.size, dtype=bool)
        empty_field[:-1] = is_delim[:-1] & (is_delim[1:] | (arr[1:] == 10))
        empty_field[starts[nonempty]] |= is_delim[starts[nonempty]]
        suspect = (per_line(odd | empty_field) > 0) & ~bad
        if self.timestamp == "iso":
            suspect = ~bad  # every line goes through the per-line path
        right_width = delims == self._fields - 1
        self._count("non_utf8", int(np.count_nonzero(bad & nonempty)))
        wrong = nonempty & ~bad & ~right_width & ~suspect
        self._count("columns", int(np.count_nonzero(wrong)))
        fast = nonempty & ~bad & right_width & ~suspect
        n_fast = int(np.count_nonzero(fast))
        fast_rows = self._bulk(text, arr, starts, nl, fast, n_fast) if n_fast else None
        if n_fast and fast_rows is None:
            # Something numeric-looking did not parse ("1..2"): let the reference path judge.
            suspect, fast, n_fast = suspect | fast, np.zeros_like(fast), 0
        slow_idx = np.flatnonzero(suspect & nonempty)
        if slow_idx.size == 0:
            if fast_rows is None:
                return self._nothing()
            return self._finish_rows(fast_rows)
        # Suspect lines (garbage, nan text, a repeated header) one by one, then merged
        # back into stream order with the bulk-converted ones.
        kept: list[int] = []
        values: list[list[float]] = []
        times: list[float] = []
        for i in slow_idx:
            parsed = self._parse_line(text[starts[i]:nl[i]])
            if parsed is not None:
                kept.append(int(i))
                values.append(parsed[1])
                if parsed[0] is not None:
                    times.append(parsed[0])
        n_values = self._fields - (1 if self.timestamp == "iso" else 0)
        slow_rows = np.asarray(values, dtype=np.float64).reshape(len(values), n_values)
        if self.timestamp == "iso":
            return ParsedBlock(slow_rows, np.asarray(times, dtype=np.float64),
                               tuple(self._names))
        if fast_rows is None:
            return self._finish_rows(slow_rows)
        order_idx = np.concatenate([np.flatnonzero(fast), np.asarray(kept, dtype=np.int64)])
        merged = np.concatenate([fast_rows, slow_rows])[np.argsort(order_idx, kind="stable")]
        return self._finish_rows(merged)

    def _bulk(self, text: bytes, arr: np.ndarray, starts: np.ndarray, nl: np.ndarray,
              fast: np.ndarray, n_fast: int) -> np.ndarray | None:
        """Convert all ``fast`` lines in one C call; None if any of them did not parse."""
        if n_fast == nl.size:
            chunk = text
        else:
            keep = np.repeat(fast, (nl - starts) + 1)
            chunk = arr[keep].tobytes()
        if self.delimiter != " ":
            chunk = chunk.replace(self.delimiter.encode(), b" ")
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            try:
                flat = np.fromstring(chunk, dtype=np.float64, sep=" ")
            except (DeprecationWarning, ValueError):
                return None
        if flat.size != n_fast * self._fields:
            return None
        return flat.reshape(n_fast, self._fields)

    def _finish_rows(self, rows: np.ndarray) -> ParsedBlock:
        """Split off the timestamp column and drop rows with NaN/inf."""
        finite = np.isfinite(rows).all(axis=1)
        bad = int(rows.shape[0] - np.count_nonzero(finite))
        if bad:
            self._malformed["non_finite"] += bad
            rows = rows[finite]
        if self.timestamp in ("s", "ms"):
            times = rows[:, 0] / (1000.0 if self.timestamp == "ms" else 1.0)
            return ParsedBlock(np.ascontiguousarray(rows[:, 1:]), times, tuple(self._names))
        return ParsedBlock(rows, None, tuple(self._names))

    def _parse_line(self, line: bytes) -> tuple[float | None, list[float]] | None:
        """The reference path for one delimited line; counts and returns None if bad."""
        if self.header_line is not None and line == self.header_line.replace(b"\r", b""):
            return None  # the device re-printed its header (it was reset): not an error
        fields = self._split(line, self.delimiter)
        if len(fields) != self._fields:
            self._malformed["columns"] += 1
            return None
        t: float | None = None
        if self.timestamp == "iso":
            t = _parse_iso(fields[0])
            if t is None:
                self._malformed["timestamp"] += 1
                return None
            fields = fields[1:]
        try:
            vals = [float(f) for f in fields]
        except ValueError:
            self._malformed["non_numeric"] += 1
            return None
        if not all(math.isfinite(v) for v in vals):
            self._malformed["non_finite"] += 1
            return None
        return t, vals

    # -- key:value -----------------------------------------------------------------------
    def _parse_keyvalue(self, text: bytes) -> ParsedBlock:
        rows: list[dict[str, float]] = []
        for raw in text.split(b"\n"):
            line = raw.strip(b"\r \t")
            if not line:
                continue
            if any(b >= 128 or (b < 32 and b != 9) for b in line):
                self._malformed["non_utf8"] += 1
                continue
            pairs = [p for p in re.split(rb"[,;\t]| (?=[A-Za-z_])", line) if p.strip()]
            row: dict[str, float] = {}
            kind = None
            for pair in pairs:
                match = _KV_PAIR.match(pair)
                if not match:
                    kind = "columns"
                    break
                try:
                    value = float(match.group(2))
                except ValueError:
                    kind = "non_numeric"
                    break
                if not math.isfinite(value):
                    kind = "non_finite"
                    break
                row[match.group(1).decode()] = value
            if kind or not row:
                self._malformed[kind or "columns"] += 1
                continue
            for name in row:
                if name not in self._names:
                    self._names.append(name)  # channels appear as names appear
            rows.append(row)
        if not rows:
            return self._nothing()
        index = {name: i for i, name in enumerate(self._names)}
        values = np.full((len(rows), len(self._names)), np.nan)
        for r, row in enumerate(rows):
            for name, value in row.items():
                values[r, index[name]] = value
        return ParsedBlock(values, None, tuple(self._names))


def _looks_keyvalue(line: bytes) -> bool:
    pairs = [p for p in re.split(rb"[,;\t]| (?=[A-Za-z_])", line.strip()) if p.strip()]
    return bool(pairs) and all(_KV_PAIR.match(p) for p in pairs)


def _best_delimiter(lines: list[bytes]) -> str:
    """The delimiter giving the most common field count > 1 on the most lines."""
    best, best_score = " ", (-1, -1)
    for delim in DELIMITERS:
        counts = Counter(
            len(ln.split() if delim == " " else ln.split(delim.encode())) for ln in lines)
        width, agree = counts.most_common(1)[0]
        score = (agree if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def _parse_iso(field: bytes) -> float | None:
    if not _ISO.match(field):
        return None
    text = field.decode().replace("Z", "+00:00")
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def _unique(names: list[str]) -> list[str]:
    """Channel names must be unique columns: ``x, x`` becomes ``x, x_2``."""
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out
