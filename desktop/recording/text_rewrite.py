"""What a text file's lines need before the parser reads them (:class:`TextLayout`) and
the rewrite of one line: thousands separators removed from numbers, date-times the
parser does not read (``05/01/2024 1:00 PM``, ``01.05.2024 13:00``, ISO with AM/PM)
rewritten as ISO 8601. Decided by :mod:`desktop.recording.text_layout`, applied by
:mod:`desktop.recording.text_prep`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from desktop.recording.text_columns import (
    DateTimePair,
    TextColumns,
    drop_text_columns,
    join_date_time,
)

HEAD_BYTES = 256 << 10
#: Date-times the parser does not read as they are: ISO with AM/PM, slashed and dotted
#: day/month orders (the time of day optional, seconds optional, AM/PM optional).
US_STAMP = re.compile(
    r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})"
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}(?:\.\d+)?))?(?:\s*(?P<ap>[AaPp][Mm]))?)?")
DOTTED_STAMP = re.compile(
    r"(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?P<y>\d{4})"
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}(?:\.\d+)?))?)?")
_CLOCK_PART = (r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}(?:\.\d+)?))?"
               r"(?:\s*(?P<ap>[AaPp][Mm]))?)?")
#: ``2024/05/01 13:00`` (year first: month then day) and ``01-May-2024 1:00 PM``.
YMD_STAMP = re.compile(r"(?P<y>\d{4})/(?P<a>\d{1,2})/(?P<b>\d{1,2})" + _CLOCK_PART)
MONTH_STAMP = re.compile(r"(?P<b>\d{1,2})[- ](?P<mon>[A-Za-z]{3,9})\.?[- ](?P<y>\d{4})"
                         + _CLOCK_PART)
MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
ISO_AMPM = re.compile(
    r"(?P<d>\d{4}-\d{2}-\d{2})[ T](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}(?:\.\d+)?))?"
    r"\s*(?P<ap>[AaPp][Mm])")
QUOTED_THOUSANDS = re.compile(r'"([+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?)"')
#: A number in quotes (``"12.5"``): spreadsheets quote every field of some exports.
QUOTED_NUMBER = re.compile(r'"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"')
#: A quoted number with a decimal comma (``"1234,5"``), unquoted in ``;``/tab files.
QUOTED_COMMA_NUMBER = re.compile(r'"([+-]?\d+,\d+)"')
#: A missing value written as a word (``-``, ``n/a``, ``NaN``, ``#N/A``, ``null``): a gap.
MISSING = re.compile(r'(^|[,;\t])[ ]*"?(?:-|--|n/a|N/A|nan|NaN|NAN|null|NULL|#N/A|None)"?[ ]*'
                     r'(?=$|[,;\t\r])')
UNAMBIGUOUS_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+\.\d+$")


@dataclass
class TextLayout:
    """What to do to a text file's lines before the parser sees them.

    ``skip_lines``: lines before the table (preamble, header block) dropped;
    ``header``: the header line handed to the parser instead (None: keep the file's);
    ``stamp``: ``"us"``/``"dotted"``/``"iso-ampm"``/``"ymd"``/``"month"`` when date-times
    are rewritten to ISO;
    ``dayfirst``: the day/month order of slashed dates; ``thousands``: the separator
    removed from numbers (None: none); ``text_columns``: text columns set aside;
    ``date_time``: separate Date and Time columns joined; ``missing``: missing-value
    words (``n/a``, ``-``, ``NaN``) made gaps; ``legacy_lines``: head lines that are not
    UTF-8, read as Windows-1252 (a Windows logger's ``°C`` in its header).
    """

    skip_lines: int = 0
    header: str | None = None
    preamble: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)
    stamp: str = ""
    dayfirst: bool = False
    thousands: str | None = None
    unquote: bool = False
    missing: bool = False
    text_columns: TextColumns | None = None
    date_time: DateTimePair | None = None
    inferred: dict[str, object] = field(default_factory=dict)
    legacy_lines: set[int] = field(default_factory=set)

    @property
    def rewrites(self) -> bool:
        """True when the lines themselves are rewritten (not only a head replaced)."""
        return bool(self.stamp or self.thousands or self.unquote or self.missing
                    or self.text_columns
                    or self.date_time)

    @property
    def trivial(self) -> bool:
        """True when the file goes to the parser exactly as it is."""
        return not (self.skip_lines or self.header is not None or self.rewrites)


def _iso(y: str, mo: str, d: str, h: str | None, mi: str | None, s: str | None,
         ap: str | None) -> str | None:
    """An ISO 8601 date-time from its parts (12-hour clock with AM/PM made 24-hour)."""
    hour = int(h) if h is not None else 0
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap.lower() == "pm" else 0)
    sec = s or "00"
    if "." not in sec and len(sec) == 1:
        sec = "0" + sec
    return f"{y}-{int(mo):02d}-{int(d):02d} {hour:02d}:{int(mi or 0):02d}:{sec}"


def _grouped(sep: str) -> re.Pattern[str]:
    """Numbers grouped by ``sep`` (``1.234.567,5``, ``1'234.5``), as whole tokens."""
    s = re.escape(sep)
    return re.compile(rf"(?<![\w.:{s}])[+-]?\d{{1,3}}(?:{s}\d{{3}})+(?=(?:[.,]\d+)?(?![\w:]))")


def rewrite_line(line: str, layout: TextLayout) -> str:
    """One line as the parser should see it (numbers and date-times rewritten)."""
    if layout.date_time is not None:
        line = join_date_time(line, layout.date_time)
    if layout.thousands == ",":
        line = QUOTED_THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), line)
    elif layout.thousands:
        sep = layout.thousands
        line = _grouped(sep).sub(lambda m: m.group(0).replace(sep, ""), line)
    if layout.missing and any(c.isdigit() for c in line):
        line = MISSING.sub(r"\1", line)
    if layout.unquote:
        line = QUOTED_NUMBER.sub(r"\1", line)
        if ";" in line or "\t" in line:
            line = QUOTED_COMMA_NUMBER.sub(r"\1", line)
    if layout.stamp == "iso-ampm":
        def ampm(m: re.Match[str]) -> str:
            y, mo, d = m.group("d").split("-")
            return _iso(y, mo, d, m.group("h"), m.group("mi"), m.group("s"),
                        m.group("ap")) or m.group(0)

        line = ISO_AMPM.sub(ampm, line, count=1)
    elif layout.stamp in ("us", "dotted"):
        pattern = US_STAMP if layout.stamp == "us" else DOTTED_STAMP

        def repl(m: re.Match[str]) -> str:
            day, month = ((m.group("a"), m.group("b")) if layout.dayfirst
                          else (m.group("b"), m.group("a")))
            ap = m.groupdict().get("ap")
            return _iso(m.group("y"), month, day, m.group("h"), m.group("mi"),
                        m.group("s"), ap) or m.group(0)

        line = pattern.sub(repl, line, count=1)
    elif layout.stamp in ("ymd", "month"):
        def named(m: re.Match[str]) -> str:
            month = (m.group("a") if layout.stamp == "ymd"
                     else str(MONTHS.get(m.group("mon")[:3].lower(), 0)))
            if month == "0":
                return m.group(0)
            return _iso(m.group("y"), month, m.group("b"), m.group("h"), m.group("mi"),
                        m.group("s"), m.group("ap")) or m.group(0)

        line = (YMD_STAMP if layout.stamp == "ymd" else MONTH_STAMP).sub(named, line, count=1)
    if layout.text_columns is not None:
        line = drop_text_columns(line, layout.text_columns)
    return line


