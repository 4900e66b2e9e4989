"""Streaming parser for ASCII sensor lines: bytes in, float64 sample arrays out.

This module holds the stream's state and nothing else: the line in progress across chunks,
torn and overlong lines, the first lines held back until the format is known, and the
malformed counters. What the lines mean lives beside it:

- :mod:`desktop.formats.detect` decides the :class:`~desktop.formats.detect.Dialect`
  (layout, delimiter, header, timestamp column) from the first lines; it is then fixed for
  the whole stream, so a garbage line later can never switch the delimiter or the column
  set (key-value streams may still add channels; that is how the Arduino plotter works);
- :mod:`desktop.formats.block` converts blocks of delimited numeric lines without a line
  loop (numpy + one pyarrow cast);
- :mod:`desktop.formats.lines` is the per-line reference path: the slow-rate formats
  (``name:value`` pairs, ISO timestamps) and every line the block path cannot vouch for.
  Both paths reach the same verdict on every line, so the result never depends on how
  the transport chunked the stream.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from desktop.core.types import MalformedCounter
from desktop.formats.base import ParsedBlock
from desktop.formats.block import BlockParser
from desktop.formats.detect import (
    AUTO_DELIMITERS,
    LAYOUTS,
    MILLIS_NAMES,
    SECONDS_NAMES,
    TIMESTAMP_MODES,
    DetectOptions,
    Dialect,
    detect_dialect,
    looks_like_data,
)
from desktop.formats.lines import LineJudge, Rows
from desktop.formats.tokens import BAD_LINE, TERMINATOR

__all__ = [
    "AUTO_DELIMITERS",
    "LAYOUTS",
    "MILLIS_NAMES",
    "SECONDS_NAMES",
    "TIMESTAMP_MODES",
    "AsciiLineParser",
]

_LINE = re.compile(rb"([^\r\n]*)[\r\n]")
# Detection waits for a line that looks like data (a boot banner is not a format), but
# not for ever: past these limits it decides with what it has.
_DETECT_MAX_LINES = 1000
_DETECT_MAX_BYTES = 1 << 22


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
        self._options = DetectOptions(delimiter, header, timestamp, layout)
        if detect_lines < 1 or max_line_bytes < 1:
            raise ValueError("detect_lines and max_line_bytes must be at least 1")
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

        self._raw = bytearray()  # complete lines held back until the format is known
        self._scan_pos = 0
        self._scanned_lines = 0
        self._sample: list[tuple[int, int]] = []  # spans of usable lines in _raw
        self._sample_has_data = False
        self._tail_is_header = False

        # Fixed at detection.
        self._dialect: Dialect | None = None
        self._judge: LineJudge | None = None
        self._block_parser: BlockParser | None = None

    # -- FrameParser properties ------------------------------------------------------------

    @property
    def channel_names(self) -> list[str]:
        return list(self._judge.names) if self._judge is not None else []

    @property
    def timestamped(self) -> bool:
        return self._dialect is not None and self._dialect.timed

    @property
    def malformed(self) -> MalformedCounter:
        return self._malformed

    @property
    def detected(self) -> bool:
        """True once the line format has been decided (it is fixed from then on)."""
        return self._dialect is not None

    @property
    def dialect(self) -> Dialect | None:
        """The detected line format, or None while still detecting."""
        return self._dialect

    @property
    def description(self) -> str:
        if self._dialect is None or self._judge is None:
            return "ASCII lines, format not detected yet"
        return self._dialect.describe(len(self._judge.names))

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
        out = Rows()
        if self._torn or self._discarding:
            match = TERMINATOR.search(data)
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
        out = Rows()
        if self._torn and self._torn_content:
            self._malformed["torn"] += 1
        self._torn = self._torn_content = self._discarding = False
        tail = bytes(self._pending)
        self._pending.clear()
        has_tail = bool(tail.strip(b" \t"))
        if not self.detected:
            extra = None
            if has_tail and len(tail) <= self._max and not BAD_LINE.search(tail):
                extra = tail.decode("ascii")
            self._scan_sample(final=True)
            released = self._detect_and_release(extra)
            if released is not None:
                self._parse(released, out)
        if has_tail and self.detected and not self._tail_is_header:
            # An unterminated last line is parsed like any other if it is whole (a file
            # without a final newline); rejected, it was most likely cut off: "torn".
            before = Counter(self._malformed)
            tail_rows = Rows()
            self._parse(tail + b"\n", tail_rows)
            if Counter(self._malformed) != before:
                self._malformed.clear()
                self._malformed.update(before)
                self._malformed["torn"] += 1
            else:
                out.values.extend(tail_rows.values)
                out.times.extend(tail_rows.times)
        elif has_tail and not self.detected:
            self._malformed["torn"] += 1
        self._tail_is_header = False
        return self._block(out)

    def _check_pending(self) -> None:
        if len(self._pending) > self._max:
            self._malformed["overlong"] += 1
            self._pending.clear()
            self._discarding = True

    def _block(self, out: Rows) -> ParsedBlock:
        names = tuple(self.channel_names)
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

    def _consume(self, complete: bytes, out: Rows) -> None:
        """Parse complete lines, holding them back while the format is still unknown."""
        if not self.detected:
            self._raw += complete
            if not self._scan_sample(final=False):
                return
            released = self._detect_and_release(None)
            if released is None:
                return
            complete = released
        self._parse(complete, out)

    def _parse(self, complete: bytes, out: Rows) -> None:
        assert self._judge is not None
        if self._block_parser is not None and self._vectorised:
            self._block_parser.parse_all(complete, out, self._sparse_blanks)
        else:
            self._judge.parse(complete, self._malformed, out)

    # -- holding the first lines back for detection ------------------------------------------

    def _scan_sample(self, final: bool) -> bool:
        """Collect usable lines from the held-back bytes; True once detection may run."""
        for match in _LINE.finditer(self._raw, self._scan_pos):
            self._scan_pos = match.end()
            self._scanned_lines += 1
            line = match.group(1)
            if line.strip(b" \t") and len(line) <= self._max and not BAD_LINE.search(line):
                self._sample.append(match.span(1))
                if not self._sample_has_data:
                    self._sample_has_data = looks_like_data(line.decode("ascii"), self._options)
            if self._ready():
                return True
        return final or self._ready()

    def _ready(self) -> bool:
        if len(self._sample) >= self._detect_lines and self._sample_has_data:
            return True
        return self._scanned_lines >= _DETECT_MAX_LINES or len(self._raw) > _DETECT_MAX_BYTES

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
        dialect, header_at = detect_dialect(lines, self._options)
        self._set_dialect(dialect)
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
        return released

    def _set_dialect(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._judge = LineJudge(dialect, self._max)
        self._block_parser = None
        if dialect.layout == "delimited" and dialect.timestamp != "iso":
            self._block_parser = BlockParser(
                dialect, self._max, self._judge.delimited, self._malformed
            )

    def _count_unusable(self, raw: bytes) -> None:
        for line in TERMINATOR.split(raw):
            if len(line) > self._max:
                self._malformed["overlong"] += 1
            elif line.strip(b" \t"):
                self._malformed["non_utf8"] += 1
