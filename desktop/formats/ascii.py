"""Streaming parser for ASCII sensor lines: bytes in, float64 sample arrays out.

Why it is vectorised: at 921,600 baud a device sends ~15 k lines/s and a replayed log far
more, and a Python ``split``/``float`` loop per line (~2 M values/s at best, on one core)
would take the core the UI needs. The delimited numeric path therefore classifies blocks with
numpy (line ends, bad bytes, delimiter and token counts, characters and shapes that
cannot be a number) and converts every clean field of the block with one pyarrow
string→float64 cast (C++, correctly rounded, ~100 M values/s).

Only lines the block pass cannot vouch for (text, ``nan``, a repeated header, oddities
like ``1.2.3``) and the slow-rate formats (``name:value`` pairs, ISO timestamps) take the
per-line path. That path is the reference: for every line both paths reach the same
verdict, so the result never depends on how the transport chunked the stream.

The format is detected from the first lines and then fixed for the whole stream, so a
garbage line later can never switch the delimiter or the column set (key-value streams
may still add channels; that is how the Arduino plotter format works).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from desktop.core.types import MalformedCounter
from desktop.formats.base import ParsedBlock

SECONDS_NAMES = frozenset(
    {"t", "time", "timestamp", "ts", "time_s", "seconds", "sec", "s", "epoch"}
)
MILLIS_NAMES = frozenset({"ms", "millis", "time_ms", "timestamp_ms", "t_ms", "milliseconds"})
TIMESTAMP_MODES = ("auto", "none", "s", "ms", "iso")
LAYOUTS = ("auto", "delimited", "keyvalue")
# Tried in this order; the first wins a tie, so "1, 2" is comma- not space-separated.
AUTO_DELIMITERS = (",", ";", "\t", " ")

_BAD_LINE = re.compile(rb"[^\t\x20-\x7e]")
_TERMINATOR = re.compile(rb"[\r\n]")
_LINE = re.compile(rb"([^\r\n]*)[\r\n]")
# What float() may see: it also takes "1_000" and inner blanks, which no sensor means.
_NUMBER_CHARS = re.compile(r"[0-9+\-.eEnNaAiIfFtTyY]+")
_ISO_PREFIX = re.compile(
    r"[\"']?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)"
    r"[\"']?"
)
_KV_SEPARATORS = re.compile(r"[,;\t]")
_KV_BLANKS_AROUND = re.compile(r"[ \t]*([:=])[ \t]*")
_KV_NAME_END = re.compile(r"[:=]")

# Detection waits for a line that looks like data (a boot banner is not a format), but
# not for ever: past these limits it decides with what it has.
_DETECT_MAX_LINES = 1000
_DETECT_MAX_BYTES = 1 << 22
# Large chunks (a file read in one go) are parsed in slices of about this many bytes so the
# per-byte work arrays stay in cache.
_SLICE_BYTES = 1 << 18
_QUOTES = "\"'"


def _to_float(text: str) -> float | None:
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


def _parse_iso(text: str) -> float | None:
    """ISO 8601 date-time → seconds since the Unix epoch; naive times are taken as UTC."""
    match = _ISO_PREFIX.fullmatch(text.strip(" \t"))
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


def _unique_names(names: list[str]) -> list[str]:
    """Column names must be unique: ``x, x`` becomes ``x, x_2``."""
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _kv_pairs(text: str) -> list[tuple[str, str]] | None:
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
        name = token[: match.start()].strip(" \t").strip(_QUOTES)
        if not name:
            return None
        pairs.append((name, token[match.end() :].strip(" \t").strip(_QUOTES)))
    return pairs or None


def _split_for_detection(text: str, delimiter: str) -> tuple[list[str], bool]:
    """Fields of a line under a candidate delimiter, and whether it had a trailing one."""
    if delimiter == " ":
        return text.split(), False
    # Quotes are kept: a quoted number is not a number to the parser either.
    parts = [p.strip(" \t") for p in text.strip(" \t").split(delimiter)]
    if len(parts) > 1 and parts[-1] == "":
        return parts[:-1], True
    return parts, False


def _nonnumeric_count(fields: list[str]) -> int:
    return sum(1 for f in fields if f and _to_float(f) is None)


def _shift(a: np.ndarray, fill: int, forward: bool) -> np.ndarray:
    """``a`` moved one place (previous element when ``forward``), ``fill`` at the edge."""
    out = np.empty_like(a)
    if forward:
        out[0] = fill
        out[1:] = a[:-1]
    else:
        out[-1] = fill
        out[:-1] = a[1:]
    return out


@dataclass
class _Rows:
    """Rows collected during one feed/finish call, possibly in several pieces."""

    values: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)

    def add(self, values: np.ndarray, times: np.ndarray | None) -> None:
        if values.shape[0]:
            self.values.append(values)
            if times is not None:
                self.times.append(times)


class AsciiLineParser:
    """Streaming parser for delimited or ``name:value`` ASCII lines (see the module doc).

    Options left at their defaults are auto-detected from the first ``detect_lines``
    non-empty lines and then fixed: ``delimiter`` (``","``, ``";"``, ``"\\t"``, or ``" "``
    for runs of blanks), ``header``, ``timestamp`` (``"auto"``, ``"none"``, ``"s"``,
    ``"ms"``, ``"iso"``; numeric time is only recognised from a header name, never from a
    merely increasing first column) and ``layout`` (``"delimited"`` or ``"keyvalue"``).
    A partial line longer than ``max_line_bytes`` is dropped and counted ``overlong``.
    """

    def __init__(
        self,
        delimiter: str | None = None,
        header: bool | None = None,
        timestamp: str = "auto",
        layout: str = "auto",
        detect_lines: int = 5,
        max_line_bytes: int = 65536,
    ) -> None:
        if delimiter is not None and not self._valid_delimiter(delimiter):
            raise ValueError(
                f"delimiter must be one printable character that is not part of a number, "
                f"got {delimiter!r}"
            )
        if timestamp not in TIMESTAMP_MODES:
            raise ValueError(f"timestamp must be one of {TIMESTAMP_MODES}, got {timestamp!r}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if detect_lines < 1 or max_line_bytes < 1:
            raise ValueError("detect_lines and max_line_bytes must be at least 1")
        self._opt_delimiter = delimiter
        self._opt_header = header
        self._opt_timestamp = timestamp
        self._opt_layout = layout
        self._detect_lines = detect_lines
        self._max = max_line_bytes
        self._malformed = MalformedCounter()
        # Tests switch these to check every path reaches the reference's verdicts:
        # _vectorised=False parses line by line; _sparse_blanks sets when a block with
        # blanks is normalised (blanks above 1/_sparse_blanks of the bytes) rather than
        # its blank-holding lines handed to the reference.
        self._vectorised = True
        self._sparse_blanks = 64

        self._pending = bytearray()  # the unterminated line in progress
        self._discarding = False  # dropping the rest of an overlong line
        self._torn = False  # dropping the rest of the line in progress at resync()
        self._torn_content = False

        self._detected = False
        self._raw = bytearray()  # complete lines held back until the format is known
        self._scan_pos = 0
        self._scanned_lines = 0
        self._sample: list[tuple[int, int]] = []  # spans of usable lines in _raw
        self._sample_has_data = False
        self._tail_is_header = False

        # The format, fixed at detection.
        self._layout = "delimited"
        self._delim: str | None = ","  # None: runs of blanks
        self._trailing = False  # every line ends with a delimiter ("1,2,3,")
        self._ncols = 0  # fields per line, timestamp included
        self._ts = "none"
        self._header: list[str] | None = None
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        self._ts_key: str | None = None
        self._blanks = " \t"
        self._delete = b",\r\n"  # separators removed before the bulk cast

    # -- FrameParser properties ------------------------------------------------------------

    @property
    def channel_names(self) -> list[str]:
        return list(self._names)

    @property
    def timestamped(self) -> bool:
        return self._detected and self._ts != "none"

    @property
    def malformed(self) -> MalformedCounter:
        return self._malformed

    @property
    def detected(self) -> bool:
        """True once the line format has been decided (it is fixed from then on)."""
        return self._detected

    @property
    def description(self) -> str:
        if not self._detected:
            return "ASCII lines, format not detected yet"
        n = len(self._names)
        channels = f"{n} channel{'s' if n != 1 else ''}"
        if self._layout == "keyvalue":
            text = f"key-value pairs, {channels} so far"
            if self._ts_key is not None:
                unit = "ISO 8601" if self._ts == "iso" else f"in {self._ts}"
                text += f", timestamp key '{self._ts_key}' {unit}"
            return text
        if self._ncols - (self._ts != "none") <= 1 and self._delim == "," and not self._trailing:
            kind = "single column" if self._ts == "none" else "CSV ','"
        else:
            kind = {None: "whitespace-separated", "\t": "tab-separated"}.get(
                self._delim, f"CSV {self._delim!r}"
            )
        head = "with header" if self._header is not None else "without header"
        parts = [f"{kind} {head}", channels]
        if self._ts != "none":
            where = f"column '{self._header[0]}'" if self._header else "in first column"
            if self._ts == "iso":
                parts.append(f"ISO 8601 timestamp {where}")
            elif self._header:
                parts.append(f"timestamp {where} in {self._ts}")
            else:
                parts.append(f"timestamp {where} ({self._ts})")
        if self._trailing:
            parts.append("trailing delimiter")
        return ", ".join(parts)

    # -- stream handling -------------------------------------------------------------------

    def resync(self) -> None:
        """Distrust the line in progress: the port was (re)opened, maybe mid-line."""
        self._pending.clear()
        self._discarding = False
        self._torn = True
        self._torn_content = False

    def feed(self, data: bytes) -> ParsedBlock:
        """Consume a chunk; rows of the lines it completed (none while detecting)."""
        data = bytes(data)
        out = _Rows()
        if self._torn or self._discarding:
            match = _TERMINATOR.search(data)
            if match is None:
                if self._torn and data.strip(b" \t"):
                    self._torn_content = True
                return self._block(out)
            cut = match.start()
            if self._torn and (self._torn_content or data[:cut].strip(b" \t")):
                # An empty fragment means the port opened exactly at a line start.
                self._malformed["torn"] += 1
            self._torn = self._torn_content = self._discarding = False
            data = data[cut + 1 :]
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last < 0:
            self._pending += data
            self._check_pending()
            return self._block(out)
        complete = data[: last + 1]
        if self._pending:
            complete = bytes(self._pending) + complete
        self._pending = bytearray(data[last + 1 :])
        self._check_pending()
        self._consume(complete, out)
        return self._block(out)

    def finish(self) -> ParsedBlock:
        """End of stream: detect from what came if need be, and judge the last line."""
        out = _Rows()
        if self._torn and self._torn_content:
            self._malformed["torn"] += 1
        self._torn = self._torn_content = self._discarding = False
        tail = bytes(self._pending)
        self._pending.clear()
        has_tail = bool(tail.strip(b" \t"))
        if not self._detected:
            extra = None
            if has_tail and len(tail) <= self._max and not _BAD_LINE.search(tail):
                extra = tail.decode("ascii")
            self._scan_sample(final=True)
            released = self._detect_and_release(extra)
            if released is not None:
                self._parse(released, out)
        if has_tail and self._detected and not self._tail_is_header:
            # An unterminated last line is parsed like any other if it is whole (a file
            # without a final newline); rejected, it was most likely cut off: "torn".
            before = Counter(self._malformed)
            tail_rows = _Rows()
            self._parse(tail + b"\n", tail_rows)
            if Counter(self._malformed) != before:
                self._malformed.clear()
                self._malformed.update(before)
                self._malformed["torn"] += 1
            else:
                out.values.extend(tail_rows.values)
                out.times.extend(tail_rows.times)
        elif has_tail and not self._detected:
            self._malformed["torn"] += 1
        self._tail_is_header = False
        return self._block(out)

    def _check_pending(self) -> None:
        if len(self._pending) > self._max:
            self._malformed["overlong"] += 1
            self._pending.clear()
            self._discarding = True

    def _block(self, out: _Rows) -> ParsedBlock:
        names = tuple(self._names)
        timed = self.timestamped
        if not out.values:
            return ParsedBlock.empty(names, timed)
        width = len(names)
        pieces = []
        for v in out.values:
            if v.shape[1] < width:  # key-value channels that appeared later in this call
                v = np.hstack([v, np.full((v.shape[0], width - v.shape[1]), np.nan)])
            pieces.append(v)
        values = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        times = None
        if timed:
            times = out.times[0] if len(out.times) == 1 else np.concatenate(out.times)
        return ParsedBlock(np.ascontiguousarray(values, dtype=np.float64), times, names)

    def _consume(self, complete: bytes, out: _Rows) -> None:
        """Parse complete lines, holding them back while the format is still unknown."""
        if not self._detected:
            self._raw += complete
            if not self._scan_sample(final=False):
                return
            released = self._detect_and_release(None)
            if released is None:
                return
            complete = released
        self._parse(complete, out)

    # -- detection ---------------------------------------------------------------------------

    def _scan_sample(self, final: bool) -> bool:
        """Collect usable lines from the held-back bytes; True once detection may run."""
        for match in _LINE.finditer(self._raw, self._scan_pos):
            self._scan_pos = match.end()
            self._scanned_lines += 1
            line = match.group(1)
            if line.strip(b" \t") and len(line) <= self._max and not _BAD_LINE.search(line):
                self._sample.append(match.span(1))
                if not self._sample_has_data:
                    self._sample_has_data = self._looks_like_data(line.decode("ascii"))
            if self._ready():
                return True
        return final or self._ready()

    def _ready(self) -> bool:
        if len(self._sample) >= self._detect_lines and self._sample_has_data:
            return True
        return self._scanned_lines >= _DETECT_MAX_LINES or len(self._raw) > _DETECT_MAX_BYTES

    def _looks_like_data(self, text: str) -> bool:
        if self._opt_layout != "delimited" and self._kv_usable(text):
            return True
        if self._opt_layout == "keyvalue":
            return False
        if _ISO_PREFIX.match(text.lstrip(" \t")) and self._opt_timestamp in ("auto", "iso"):
            return True
        delimiters = (self._opt_delimiter,) if self._opt_delimiter else AUTO_DELIMITERS
        for delim in delimiters:
            fields, _ = _split_for_detection(text, delim)
            if all(_to_float(f) is not None for f in fields):
                return True
        return False

    def _kv_usable(self, text: str) -> bool:
        pairs = _kv_pairs(text)
        if pairs is None:
            return False
        for i, (_name, value) in enumerate(pairs):
            if _to_float(value) is None and not (i == 0 and _parse_iso(value) is not None):
                return False
        return True

    def _detect_and_release(self, extra: str | None) -> bytes | None:
        """Fix the format from the sample; return the held-back bytes to parse with it."""
        lines = [self._raw[s:e].decode("ascii") for s, e in self._sample]
        if extra is not None:
            lines.append(extra)
        if not lines:
            # Nothing usable yet (noise, overlong lines): count it and keep waiting.
            self._count_unusable(bytes(self._raw[: self._scan_pos]))
            del self._raw[: self._scan_pos]
            self._scan_pos = 0
            self._scanned_lines = 0
            return None
        header_at = self._detect(lines)
        # A lone unterminated header at finish() is consumed here, not parsed as data.
        self._tail_is_header = extra is not None and header_at == len(self._sample)
        raw = self._raw
        if header_at is not None and header_at < len(self._sample):
            start, end = self._sample[header_at]
            del raw[start:end]  # leaves an empty line, which is ignored
        released = bytes(raw)
        self._raw = bytearray()
        self._sample = []
        self._scan_pos = self._scanned_lines = 0
        self._detected = True
        return released

    def _count_unusable(self, raw: bytes) -> None:
        for line in _TERMINATOR.split(raw):
            if len(line) > self._max:
                self._malformed["overlong"] += 1
            elif line.strip(b" \t"):
                self._malformed["non_utf8"] += 1

    def _detect(self, lines: list[str]) -> int | None:
        """Decide layout, delimiter, header and timestamp; return the header's index."""
        layout = self._opt_layout
        delimited = self._analyse_delimited(lines) if layout != "keyvalue" else None
        if layout == "auto":
            kv_lines = sum(1 for text in lines if self._kv_usable(text))
            assert delimited is not None
            layout = "keyvalue" if kv_lines > delimited[0] else "delimited"
        self._layout = layout
        if layout == "keyvalue":
            self._setup_keyvalue(lines)
            return None
        assert delimited is not None
        _, delim, ncols, trailing, header_at, iso = delimited
        self._delim = None if delim == " " else delim
        self._trailing = trailing
        self._ncols = max(ncols, 1)
        header = None
        if header_at is not None:
            fields, _ = _split_for_detection(lines[header_at], delim)
            fields = fields[: self._ncols]
            header = [f.strip(" \t").strip(_QUOTES) for f in fields]
            header += [""] * (self._ncols - len(header))
        self._header = header
        ts = self._opt_timestamp
        if ts == "auto":
            ts = "none"
            if iso:
                ts = "iso"
            elif header is not None and header[0].lower() in SECONDS_NAMES:
                ts = "s"
            elif header is not None and header[0].lower() in MILLIS_NAMES:
                ts = "ms"
        self._ts = ts
        skip = 1 if ts != "none" else 0
        if header is not None:
            names = [n or f"ch{i + 1}" for i, n in enumerate(header[skip:])]
        else:
            names = [f"ch{i + 1}" for i in range(self._ncols - skip)]
        self._names = _unique_names(names)
        self._set_separators()
        return header_at

    def _analyse_delimited(self, lines: list[str]) -> tuple[int, str, int, bool, int | None, bool]:
        """Best delimited reading: (data lines, delimiter, fields, trailing, header, iso)."""
        ts_opt = self._opt_timestamp
        norm = list(lines)
        iso = False
        if ts_opt in ("auto", "iso"):
            hits = [_ISO_PREFIX.match(text.lstrip(" \t")) for text in lines]
            n_iso = sum(1 for h in hits if h)
            iso = ts_opt == "iso" or (n_iso >= 1 and 2 * n_iso >= len(lines) - 1)
            if iso:
                # The timestamp may hold a blank ("2024-05-01 12:00:00"): count it as one
                # numeric field so it cannot confuse the delimiter choice.
                for i, (text, hit) in enumerate(zip(lines, hits, strict=True)):
                    if hit:
                        norm[i] = "0" + text.lstrip(" \t")[hit.end() :]
        candidates = (self._opt_delimiter,) if self._opt_delimiter else AUTO_DELIMITERS
        best: tuple[tuple[int, bool, int], str, int, bool, list[list[str]]] | None = None
        for order, delim in enumerate(candidates):
            split = [_split_for_detection(text, delim) for text in norm]
            shapes = Counter(
                (len(fields), trailing)
                for fields, trailing in split
                if all(_to_float(f) is not None for f in fields)
            )
            if shapes:
                (ncols, trailing), freq = max(shapes.items(), key=lambda kv: (kv[1], kv[0][0]))
            else:
                ncols, freq, trailing = max(len(f) for f, _ in split), 0, False
            score = (freq, ncols > 1, -order)
            if best is None or score > best[0]:
                best = (score, delim, ncols, trailing, [f for f, _ in split])
        assert best is not None
        (freq, _, _), delim, ncols, trailing, fields_per_line = best
        header_at = None
        if self._opt_header is True:
            header_at = 0
        elif self._opt_header is None:
            for i, fields in enumerate(fields_per_line):
                numeric = all(_to_float(f) is not None for f in fields)
                if numeric and len(fields) == ncols:
                    break  # data before any header: there is none
                if len(fields) == ncols and 2 * _nonnumeric_count(fields) > len(fields):
                    header_at = i
                    break
        return freq, delim, ncols, trailing, header_at, iso

    def _setup_keyvalue(self, lines: list[str]) -> None:
        self._names = []
        self._index = {}
        self._ts = "none"
        self._ts_key = None
        ts_opt = self._opt_timestamp
        first = next((p for p in map(_kv_pairs, lines) if p is not None), None)
        if first is None or ts_opt == "none":
            return
        name, value = first[0]
        if ts_opt == "auto":
            if _to_float(value) is None and _parse_iso(value) is not None:
                self._ts = "iso"
            elif name.lower() in SECONDS_NAMES:
                self._ts = "s"
            elif name.lower() in MILLIS_NAMES:
                self._ts = "ms"
            else:
                return
        else:
            self._ts = ts_opt
        self._ts_key = name

    def _set_separators(self) -> None:
        self._blanks = " \t".replace(self._delim or "", "")
        self._delete = (self._delim or " ").encode() + b"\r\n"

    @staticmethod
    def _valid_delimiter(delimiter: str) -> bool:
        if delimiter in ("\t", " "):
            return True
        return (
            len(delimiter) == 1
            and 32 < ord(delimiter) < 127
            and not delimiter.isalnum()
            and delimiter not in "+-.\"'"
        )

    # -- parsing ---------------------------------------------------------------------------

    def _parse(self, complete: bytes, out: _Rows) -> None:
        if self._layout == "delimited" and self._ts != "iso" and self._vectorised:
            start = 0
            size = len(complete)
            while start < size:
                stop = size
                if size - start > _SLICE_BYTES:
                    cut = max(
                        complete.rfind(b"\n", start, start + _SLICE_BYTES),
                        complete.rfind(b"\r", start, start + _SLICE_BYTES),
                    )
                    if cut < 0:  # one huge line: to its end
                        end = _TERMINATOR.search(complete, start + _SLICE_BYTES)
                        cut = end.start() if end is not None else size - 1
                    stop = cut + 1
                self._parse_block(complete[start:stop], out)
                start = stop
        else:
            self._parse_per_line(complete, out)

    def _parse_per_line(self, complete: bytes, out: _Rows) -> None:
        """The reference path: one line at a time, in Python."""
        width = len(self._names)
        rows: list[list[float]] = []
        times: list[float] = []
        for line in _TERMINATOR.split(complete):
            if self._layout == "keyvalue":
                verdict = self._judge_keyvalue(line)
            else:
                verdict = self._judge_delimited(line)
            if verdict is None:
                continue
            if isinstance(verdict, str):
                self._malformed[verdict] += 1
                continue
            row, stamp = verdict
            rows.append(row)
            if stamp is not None:
                times.append(stamp)
        if not rows:
            return
        if self._layout == "keyvalue":
            width = len(self._names)
            rows = [r + [math.nan] * (width - len(r)) for r in rows]
        values = np.array(rows, dtype=np.float64).reshape(len(rows), width)
        out.add(values, np.array(times, dtype=np.float64) if self._ts != "none" else None)

    def _judge_common(self, line: bytes) -> str | None:
        """Checks shared by every layout: None when the line should be parsed further."""
        if len(line) > self._max:
            return "overlong"
        if not line.strip(b" \t"):
            return ""
        if _BAD_LINE.search(line):
            return "non_utf8"
        return None

    def _judge_delimited(self, line: bytes) -> str | tuple[list[float], float | None] | None:
        """Verdict on one delimited line: None (blank), a malformed kind, or its row."""
        kind = self._judge_common(line)
        if kind is not None:
            return kind or None
        text = line.decode("ascii")
        stamp: float | None = None
        if self._ts == "iso":
            hit = _ISO_PREFIX.match(text.lstrip(" \t"))
            if hit is not None:
                stamp = _parse_iso(hit.group(0))
                text = "0" + text.lstrip(" \t")[hit.end() :]
        if self._delim is None:
            fields = text.split()
            if len(fields) != self._ncols:
                return "columns"
        else:
            fields = text.split(self._delim)
            if len(fields) != self._ncols + self._trailing:
                return "columns"
            fields = [f.strip(self._blanks) for f in fields]
            if self._trailing and fields.pop() != "":
                # Right delimiter count but the empty field is not the last one.
                return "columns" if self._header_like(fields) else "non_numeric"
        if self._header_like(fields):
            return "columns"
        skip = 1 if self._ts != "none" else 0
        row = []
        for f in fields[skip:]:
            value = _to_float(f)
            if value is None:
                return "non_numeric"
            row.append(value)
        if not all(math.isfinite(v) for v in row):
            return "non_finite"
        if self._ts in ("s", "ms"):
            stamp = _to_float(fields[0])
            if stamp is not None and self._ts == "ms":
                stamp = stamp / 1000.0
        if skip and (stamp is None or not math.isfinite(stamp)):
            return "timestamp"
        return row, stamp

    def _header_like(self, fields: list[str]) -> bool:
        """A line of mostly words after detection: a reprinted header, or prose."""
        return len(fields) >= 2 and 2 * _nonnumeric_count(fields) > len(fields)

    def _judge_keyvalue(self, line: bytes) -> str | tuple[list[float], float | None] | None:
        kind = self._judge_common(line)
        if kind is not None:
            return kind or None
        pairs = _kv_pairs(line.decode("ascii"))
        if pairs is None:
            return "columns"
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            return "columns"
        values: list[tuple[str, float]] = []
        stamp_text: str | None = None
        for name, text in pairs:
            if name == self._ts_key:
                stamp_text = text
                continue
            value = _to_float(text)
            if value is None:
                return "non_numeric"
            values.append((name, value))
        if not all(math.isfinite(v) for _, v in values):
            return "non_finite"
        stamp: float | None = None
        if self._ts_key is not None:
            if stamp_text is not None:
                stamp = _parse_iso(stamp_text) if self._ts == "iso" else _to_float(stamp_text)
            if stamp is None or not math.isfinite(stamp):
                return "timestamp"
            if self._ts == "ms":
                stamp /= 1000.0
        for name, _ in values:
            if name not in self._index:  # channels appear as names appear
                self._index[name] = len(self._names)
                self._names.append(name)
        row = [math.nan] * len(self._names)
        for name, value in values:
            row[self._index[name]] = value
        return row, stamp

    # -- the vectorised path ---------------------------------------------------------------

    def _parse_block(self, chunk: bytes, out: _Rows) -> None:
        """Classify and convert a block of complete delimited lines without a line loop.

        Every non-blank line that is not provably clean (wrong delimiter count, a byte or
        shape that cannot be part of a number, an empty field) is handed to the per-line
        reference, so the verdict on each line is the reference's whichever path runs.
        """
        a = np.frombuffer(chunk, dtype=np.uint8)
        blank = a == 32
        if self._delim != "\t":
            blank |= a == 9
        glue_lines = None
        raw = chunk
        c = a
        t_full = None
        n_blank = int(np.count_nonzero(blank))
        blank_pos = None
        if self._delim is None or n_blank * self._sparse_blanks > a.size:
            raw, t_full, glue_lines = self._normalise_blanks(chunk, a, blank)
            c = np.frombuffer(raw, dtype=np.uint8)
        elif n_blank:
            # A few blanks (a status message among the numbers): cheaper to hand those
            # lines to the reference than to normalise the whole block.
            blank_pos = np.flatnonzero(blank)
        sep_byte = 32 if self._delim is None else ord(self._delim)

        is_t = (c == 10) | (c == 13)
        sep = is_t | (c == sep_byte)
        is_dot = c == 46
        is_e = (c | 32) == 101
        # Separators, '.' and 'e' in stream order: enough to find the lines and fields and
        # to spot "1.2.3" or "1e5.0" (two marks in one field) without per-field loops.
        events = np.flatnonzero(sep | is_dot | is_e)
        ev_bytes = c[events]
        ev_t = (ev_bytes == 10) | (ev_bytes == 13)
        ev_sep = ev_t | (ev_bytes == sep_byte)
        seps = events[ev_sep]
        sep_is_t = ev_t[ev_sep]
        ev_dot = ev_bytes == 46
        ev_mark = ~ev_sep
        twice = ev_mark[1:] & ev_mark[:-1] & ~(ev_dot[:-1] & ~ev_dot[1:])
        ti = np.flatnonzero(sep_is_t)  # index in seps of each line's terminator
        n_lines = ti.size
        if n_lines == 0:
            return
        t_c = seps[ti]
        if t_full is None:
            t_full = t_c
        prev_ti = np.empty_like(ti)
        prev_ti[0] = -1
        prev_ti[1:] = ti[:-1]
        d_count = ti - prev_ti - 1
        len_c = np.diff(t_c, prepend=-1) - 1
        length = np.diff(t_full, prepend=-1) - 1

        # Empty fields: two separators side by side (except an empty line), or a line that
        # starts with a delimiter; "1,2,3," is fine when the stream always ends that way.
        adj = np.flatnonzero(np.diff(seps) == 1)
        first_t = sep_is_t[adj]
        second_t = sep_is_t[adj + 1]
        empty_pair = ~(first_t & second_t)
        if self._trailing:
            empty_pair &= first_t | ~second_t
        suspect_pos = [seps[adj[empty_pair] + 1], events[1:][twice]]
        if blank_pos is not None:
            suspect_pos.append(blank_pos)
        if seps[0] == 0 and not sep_is_t[0]:
            suspect_pos.append(seps[:1])

        # Bytes that cannot be (part of) a number where they stand. Valid numbers never
        # trip these; what they miss (".e5") the cast refuses below.
        digit = (c - 48) < 10  # uint8 wraps, so this is '0' <= c <= '9'
        is_sign = (c == 43) | (c == 45)
        other = ~(digit | is_dot | is_e | is_sign | sep)
        prev_sep = _shift(sep, True, forward=True)
        prev_digit = _shift(digit, False, forward=True)
        next_digit = _shift(digit, False, forward=False)
        prev_dot = _shift(is_dot, False, forward=True)
        next_dot = _shift(is_dot, False, forward=False)
        prev_e = _shift(is_e, False, forward=True)
        next_sign = _shift(is_sign, False, forward=False)
        sign_bad = is_sign & (
            (prev_sep & ~(next_digit | next_dot)) | (~prev_sep & ~(prev_e & next_digit))
        )
        e_bad = is_e & ~((prev_digit | prev_dot) & (next_digit | next_sign))
        dot_bad = is_dot & ~(prev_digit | next_digit)
        suspect_pos.append(np.flatnonzero(other | sign_bad | e_bad | dot_bad))

        odd = length > self._max
        positions = np.concatenate(suspect_pos)
        if positions.size:
            odd[np.searchsorted(t_c, positions)] = True
        if glue_lines is not None and glue_lines.size:
            odd[glue_lines] = True
        content = len_c > 0
        cand = content & ~odd & (d_count == self._ncols - 1 + self._trailing)
        if self._trailing:
            # The extra field must be the empty one after the last delimiter, not "1,2,3".
            before_t = np.maximum(ti - 1, 0)
            cand &= (seps[before_t] == t_c - 1) & ~sep_is_t[before_t] & (ti > 0)
        judge = (content | (length > self._max)) & ~cand

        values = np.empty((0, self._ncols))
        cand_idx = np.flatnonzero(cand)
        if cand_idx.size:
            values, rejected = self._convert_lines(raw, seps, t_c, prev_ti, d_count, cand)
            if rejected.size:
                # Lines the cast refused go to the reference, like the suspect ones.
                judge[cand_idx[rejected]] = True
                keep_rows = np.ones(cand_idx.size, dtype=bool)
                keep_rows[rejected] = False
                cand_idx = cand_idx[keep_rows]
                values = values[keep_rows]

        # The reference judges the rest one by one; the rare valid line among them is
        # merged back in stream order.
        m = self._malformed
        extra_idx: list[int] = []
        extra_rows: list[list[float]] = []
        extra_times: list[float] = []
        line_start = t_full - length
        for i in np.flatnonzero(judge).tolist():
            verdict = self._judge_delimited(chunk[line_start[i] : t_full[i]])
            if verdict is None:
                continue
            if isinstance(verdict, str):
                m[verdict] += 1
                continue
            extra_idx.append(i)
            extra_rows.append(verdict[0])
            if verdict[1] is not None:
                extra_times.append(verdict[1])

        timed = self._ts != "none"
        stamps = np.empty(0)
        if timed:
            stamps = values[:, 0] / 1000.0 if self._ts == "ms" else values[:, 0].copy()
            values = values[:, 1:]
        finite = np.isfinite(values).all(axis=1)
        good = finite & np.isfinite(stamps) if timed else finite
        n_good = int(np.count_nonzero(good))
        if n_good != values.shape[0]:
            n_nonfinite = int(values.shape[0] - np.count_nonzero(finite))
            if n_nonfinite:
                m["non_finite"] += n_nonfinite
            if values.shape[0] - n_good - n_nonfinite:
                m["timestamp"] += values.shape[0] - n_good - n_nonfinite
            values = values[good]
            cand_idx = cand_idx[good]
            if timed:
                stamps = stamps[good]
        if extra_idx:
            order = np.argsort(np.concatenate([cand_idx, extra_idx]), kind="stable")
            width = self._ncols - timed
            extra = np.array(extra_rows, dtype=np.float64).reshape(len(extra_rows), width)
            values = np.concatenate([values, extra])[order]
            if timed:
                stamps = np.concatenate([stamps, extra_times])[order]
        out.add(values, stamps if timed else None)

    def _normalise_blanks(
        self, chunk: bytes, a: np.ndarray, blank: np.ndarray
    ) -> tuple[bytes, np.ndarray, np.ndarray]:
        """Remove blanks so the block reads like plain ``1,2,3`` lines.

        Returns the blank-free bytes, the terminator positions in the original bytes (the
        reference needs the original lines) and the lines whose blanks glued two tokens
        into one field ("1 2,3"): those go to the reference. For whitespace-separated
        streams a blank run between two tokens becomes a single space separator instead.
        """
        is_t = (a == 10) | (a == 13)
        t_full = np.flatnonzero(is_t)
        token = ~(blank | is_t)
        if self._delim is not None:
            token &= a != ord(self._delim)
        run_start = np.flatnonzero(blank & ~_shift(blank, False, forward=True))
        run_end = np.flatnonzero(blank & ~_shift(blank, False, forward=False))
        left = np.zeros(run_start.size, dtype=bool)
        inner = run_start > 0
        left[inner] = token[run_start[inner] - 1]
        right = np.zeros(run_end.size, dtype=bool)
        inner = run_end < a.size - 1
        right[inner] = token[run_end[inner] + 1]
        glue = run_end[left & right]
        if self._delim is None:
            keep = ~blank
            keep[glue] = True
            c = a[keep]
            c[c == 9] = 32
            return c.tobytes(), t_full, np.empty(0, dtype=np.int64)
        blanks = b" \t" if self._delim != "\t" else b" "
        return chunk.translate(None, blanks), t_full, np.searchsorted(t_full, glue)

    def _convert_lines(
        self,
        raw: bytes,
        seps: np.ndarray,
        t_c: np.ndarray,
        prev_ti: np.ndarray,
        d_count: np.ndarray,
        cand: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fields of the candidate lines → ``(n, ncols)`` float64 with one cast.

        The token bytes are gathered with ``bytes.translate`` (separators deleted, in C)
        after cutting out the few non-candidate lines; each field's offset follows from the
        separator positions, so no per-byte cumulative sums are needed.
        """
        ncols = self._ncols
        len_c = np.diff(t_c, prepend=-1) - 1
        include = cand | (len_c == 0)  # blank lines hold only separators: harmless
        if include.all():
            kept = raw
            excluded_before = None
        else:
            line_start = t_c - len_c
            edges = np.flatnonzero(np.diff(include.view(np.int8), prepend=0, append=0))
            runs = edges.reshape(-1, 2).tolist()
            kept = b"".join([raw[line_start[s] : t_c[e - 1] + 1] for s, e in runs])
            dropped = np.where(include, 0, len_c - d_count)
            excluded_before = np.cumsum(dropped) - dropped
        data = kept.translate(None, self._delete)
        # Non-separator bytes before each separator: a field after separator j starts at
        # that many token bytes into ``data`` (less the bytes of cut-out lines).
        before = np.empty(seps.size + 1, dtype=np.int64)
        before[0] = 0
        before[1:] = seps - np.arange(seps.size)
        rows = np.flatnonzero(cand)
        first = prev_ti[rows] + 1
        offsets_2d = before[first[:, None] + np.arange(ncols)]
        if excluded_before is not None:
            offsets_2d -= excluded_before[rows][:, None]
        offsets = np.empty(rows.size * ncols + 1, dtype=np.int32)
        offsets[:-1] = offsets_2d.ravel()
        offsets[-1] = len(data)
        strings = pa.StringArray.from_buffers(
            rows.size * ncols, pa.py_buffer(offsets), pa.py_buffer(data)
        )
        return self._convert(strings, rows.size)

    def _convert(self, strings: pa.StringArray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Cast ``n_rows × ncols`` strings to float64; rows the cast refuses are listed.

        One cast does the whole block; only when it fails is the block halved until the
        refusing rows are found, so one odd line costs a few extra casts, not a slow path.
        """
        ncols = self._ncols
        try:
            flat = pc.cast(strings, pa.float64()).to_numpy(zero_copy_only=False, writable=True)
            return flat.reshape(n_rows, ncols), np.empty(0, dtype=np.int64)
        except pa.ArrowInvalid:
            pass
        values = np.full((n_rows, ncols), np.nan)
        rejected: list[int] = []
        stack = [(0, n_rows)]
        while stack:
            lo, hi = stack.pop()
            part = strings.slice(lo * ncols, (hi - lo) * ncols)
            try:
                values[lo:hi] = pc.cast(part, pa.float64()).to_numpy().reshape(hi - lo, ncols)
            except pa.ArrowInvalid:
                if hi - lo == 1:
                    rejected.append(lo)
                else:
                    mid = (lo + hi) // 2
                    stack += [(mid, hi), (lo, mid)]
        return values, np.array(sorted(rejected), dtype=np.int64)
