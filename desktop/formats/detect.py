"""Format detection: which :class:`Dialect` the first lines of an ASCII stream are written in.

Detection sees a handful of usable lines (the parser holds them back until one looks like
data) and decides layout, delimiter, field count, header and timestamp column once; the
stream is then parsed in that dialect for good, so a garbage line later can never switch
the delimiter or the column set.

To teach it something new (a decimal comma, a time unit in a header, an encoding), add a
field to :class:`Dialect` with a default that means "as before", decide it in
:func:`detect_dialect`, and let the parse paths read it from the dialect.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from desktop.formats.tokens import (
    ISO_PREFIX,
    QUOTES,
    kv_pairs,
    nonnumeric_count,
    parse_iso,
    to_float,
)

SECONDS_NAMES = frozenset(
    {"t", "time", "timestamp", "ts", "time_s", "seconds", "sec", "s", "epoch"}
)
MILLIS_NAMES = frozenset({"ms", "millis", "time_ms", "timestamp_ms", "t_ms", "milliseconds"})
TIMESTAMP_MODES = ("auto", "none", "s", "ms", "iso")
LAYOUTS = ("auto", "delimited", "keyvalue")
# Tried in this order; the first wins a tie, so "1, 2" is comma- not space-separated.
AUTO_DELIMITERS = (",", ";", "\t", " ")


def valid_delimiter(delimiter: str) -> bool:
    """One printable character that cannot be part of a number, or tab, or blank runs."""
    if delimiter in ("\t", " "):
        return True
    return (
        len(delimiter) == 1
        and 32 < ord(delimiter) < 127
        and not delimiter.isalnum()
        and delimiter not in "+-.\"'"
    )


@dataclass(frozen=True)
class DetectOptions:
    """What the user fixed; ``None`` and ``"auto"`` are left to detection."""

    delimiter: str | None = None
    header: bool | None = None
    timestamp: str = "auto"
    layout: str = "auto"

    def __post_init__(self) -> None:
        if self.delimiter is not None and not valid_delimiter(self.delimiter):
            raise ValueError(
                f"delimiter must be one printable character that is not part of a number, "
                f"got {self.delimiter!r}"
            )
        if self.timestamp not in TIMESTAMP_MODES:
            raise ValueError(
                f"timestamp must be one of {TIMESTAMP_MODES}, got {self.timestamp!r}"
            )
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")


@dataclass(frozen=True)
class Dialect:
    """How a stream's lines are written, as detected (or forced) from its first lines.

    ``layout`` is ``"delimited"`` or ``"keyvalue"``. For delimited lines, ``delimiter`` is
    the separator (``None``: runs of blanks), ``trailing`` says every line ends with one
    (``1,2,3,``) and ``ncols`` counts the fields, timestamp included. ``timestamp`` is
    ``"none"``, ``"s"``, ``"ms"`` or ``"iso"``: for delimited lines the first field, for
    key-value lines the value of ``timestamp_key``. ``names`` are the channel names known at
    detection (key-value streams add more as names appear).
    """

    layout: str = "delimited"
    delimiter: str | None = ","
    trailing: bool = False
    ncols: int = 0
    timestamp: str = "none"
    header: tuple[str, ...] | None = None
    names: tuple[str, ...] = ()
    timestamp_key: str | None = None

    @property
    def timed(self) -> bool:
        """True when rows carry their own time."""
        return self.timestamp != "none"

    @property
    def blanks(self) -> str:
        """Blank characters stripped around a field (the delimiter itself excepted)."""
        return " \t".replace(self.delimiter or "", "")

    @property
    def separators(self) -> bytes:
        """The bytes that end a field: the delimiter (a blank for blank runs) and line ends."""
        return (self.delimiter or " ").encode() + b"\r\n"

    def describe(self, n_channels: int) -> str:
        """The dialect in words, for the status bar and recording metadata."""
        channels = f"{n_channels} channel{'s' if n_channels != 1 else ''}"
        if self.layout == "keyvalue":
            text = f"key-value pairs, {channels} so far"
            if self.timestamp_key is not None:
                unit = "ISO 8601" if self.timestamp == "iso" else f"in {self.timestamp}"
                text += f", timestamp key '{self.timestamp_key}' {unit}"
            return text
        if self.ncols - self.timed <= 1 and self.delimiter == "," and not self.trailing:
            kind = "single column" if not self.timed else "CSV ','"
        else:
            kind = {None: "whitespace-separated", "\t": "tab-separated"}.get(
                self.delimiter, f"CSV {self.delimiter!r}"
            )
        head = "with header" if self.header is not None else "without header"
        parts = [f"{kind} {head}", channels]
        if self.timed:
            where = f"column '{self.header[0]}'" if self.header else "in first column"
            if self.timestamp == "iso":
                parts.append(f"ISO 8601 timestamp {where}")
            elif self.header:
                parts.append(f"timestamp {where} in {self.timestamp}")
            else:
                parts.append(f"timestamp {where} ({self.timestamp})")
        if self.trailing:
            parts.append("trailing delimiter")
        return ", ".join(parts)


def split_for_detection(text: str, delimiter: str) -> tuple[list[str], bool]:
    """Fields of a line under a candidate delimiter, and whether it had a trailing one."""
    if delimiter == " ":
        return text.split(), False
    # Quotes are kept: a quoted number is not a number to the parser either.
    parts = [p.strip(" \t") for p in text.strip(" \t").split(delimiter)]
    if len(parts) > 1 and parts[-1] == "":
        return parts[:-1], True
    return parts, False


def kv_usable(text: str) -> bool:
    """True for a ``name:value`` line whose values are numbers (the first may be ISO time)."""
    pairs = kv_pairs(text)
    if pairs is None:
        return False
    for i, (_name, value) in enumerate(pairs):
        if to_float(value) is None and not (i == 0 and parse_iso(value) is not None):
            return False
    return True


def looks_like_data(text: str, options: DetectOptions) -> bool:
    """True for a line that could be a data row (a boot banner or header is not)."""
    if options.layout != "delimited" and kv_usable(text):
        return True
    if options.layout == "keyvalue":
        return False
    if ISO_PREFIX.match(text.lstrip(" \t")) and options.timestamp in ("auto", "iso"):
        return True
    delimiters = (options.delimiter,) if options.delimiter else AUTO_DELIMITERS
    for delim in delimiters:
        fields, _ = split_for_detection(text, delim)
        if all(to_float(f) is not None for f in fields):
            return True
    return False


def detect_dialect(lines: list[str], options: DetectOptions) -> tuple[Dialect, int | None]:
    """Decide the dialect of ``lines`` (usable, non-empty); also the header line's index."""
    layout = options.layout
    delimited = _analyse_delimited(lines, options) if layout != "keyvalue" else None
    if layout == "auto":
        kv_lines = sum(1 for text in lines if kv_usable(text))
        assert delimited is not None
        layout = "keyvalue" if kv_lines > delimited.data_lines else "delimited"
    if layout == "keyvalue":
        return _keyvalue_dialect(lines, options), None
    assert delimited is not None
    ncols = max(delimited.ncols, 1)
    header = None
    if delimited.header_at is not None:
        fields, _ = split_for_detection(lines[delimited.header_at], delimited.delimiter)
        names = [f.strip(" \t").strip(QUOTES) for f in fields[:ncols]]
        header = tuple(names + [""] * (ncols - len(names)))
    ts = options.timestamp
    if ts == "auto":
        ts = "none"
        if delimited.iso:
            ts = "iso"
        elif header is not None and header[0].lower() in SECONDS_NAMES:
            ts = "s"
        elif header is not None and header[0].lower() in MILLIS_NAMES:
            ts = "ms"
    skip = 1 if ts != "none" else 0
    if header is not None:
        names = [n or f"ch{i + 1}" for i, n in enumerate(header[skip:])]
    else:
        names = [f"ch{i + 1}" for i in range(ncols - skip)]
    dialect = Dialect(
        layout="delimited",
        delimiter=None if delimited.delimiter == " " else delimited.delimiter,
        trailing=delimited.trailing,
        ncols=ncols,
        timestamp=ts,
        header=header,
        names=tuple(_unique_names(names)),
    )
    return dialect, delimited.header_at


@dataclass(frozen=True)
class _Delimited:
    """The best delimited reading of the sample lines."""

    data_lines: int
    delimiter: str
    ncols: int
    trailing: bool
    header_at: int | None
    iso: bool


def _analyse_delimited(lines: list[str], options: DetectOptions) -> _Delimited:
    ts_opt = options.timestamp
    norm = list(lines)
    iso = False
    if ts_opt in ("auto", "iso"):
        hits = [ISO_PREFIX.match(text.lstrip(" \t")) for text in lines]
        n_iso = sum(1 for h in hits if h)
        iso = ts_opt == "iso" or (n_iso >= 1 and 2 * n_iso >= len(lines) - 1)
        if iso:
            # The timestamp may hold a blank ("2024-05-01 12:00:00"): count it as one
            # numeric field so it cannot confuse the delimiter choice.
            for i, (text, hit) in enumerate(zip(lines, hits, strict=True)):
                if hit:
                    norm[i] = "0" + text.lstrip(" \t")[hit.end() :]
    candidates = (options.delimiter,) if options.delimiter else AUTO_DELIMITERS
    best: tuple[tuple[int, bool, int], str, int, bool, list[list[str]]] | None = None
    for order, delim in enumerate(candidates):
        split = [split_for_detection(text, delim) for text in norm]
        shapes = Counter(
            (len(fields), trailing)
            for fields, trailing in split
            if all(to_float(f) is not None for f in fields)
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
    if options.header is True:
        header_at = 0
    elif options.header is None:
        for i, fields in enumerate(fields_per_line):
            numeric = all(to_float(f) is not None for f in fields)
            if numeric and len(fields) == ncols:
                break  # data before any header: there is none
            if len(fields) == ncols and 2 * nonnumeric_count(fields) > len(fields):
                header_at = i
                break
    return _Delimited(freq, delim, ncols, trailing, header_at, iso)


def _keyvalue_dialect(lines: list[str], options: DetectOptions) -> Dialect:
    """Key-value lines: only the timestamp key is decided, from the first usable line."""
    plain = Dialect(layout="keyvalue")
    ts_opt = options.timestamp
    first = next((p for p in map(kv_pairs, lines) if p is not None), None)
    if first is None or ts_opt == "none":
        return plain
    name, value = first[0]
    ts = ts_opt
    if ts_opt == "auto":
        if to_float(value) is None and parse_iso(value) is not None:
            ts = "iso"
        elif name.lower() in SECONDS_NAMES:
            ts = "s"
        elif name.lower() in MILLIS_NAMES:
            ts = "ms"
        else:
            return plain
    return Dialect(layout="keyvalue", timestamp=ts, timestamp_key=name)


def _unique_names(names: list[str]) -> list[str]:
    """Column names must be unique: ``x, x`` becomes ``x, x_2``."""
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out
