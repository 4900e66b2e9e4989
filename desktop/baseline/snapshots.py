"""The time of a route snapshot file, for ordering a trend: from its name, else its
content, else its modification time.

Names carry the time in many loggers' conventions; recognised (first match wins):

- ``2004.02.12.10.32.39`` — the NASA/IMS bearing run-to-failure files (dots);
- ``2004-02-12T10:32:39``, ``2004-02-12 10:32:39``, ``2004-02-12_10-32-39`` (ISO 8601 and
  file-name-safe variants);
- ``20040212T103239``, ``20040212_103239``, ``20040212-103239`` (compact);
- without seconds: ``2004-02-12_1032``, ``2004-02-12 10:32``, ``20040212_1032``;
- a date alone, ``2004-02-12`` or ``20040212`` (years 1900–2099), is that day at 00:00.

Times without a zone are taken as they are (naive, compared with each other only).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

_PATTERNS = (
    re.compile(r"(?<!\d)(\d{4})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[T _](\d{2})[:\-](\d{2})[:\-](\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[T_\-](\d{2})(\d{2})(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[T _](\d{2})[:\-]?(\d{2})(?![\d:\-])"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[T_\-](\d{2})(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?![\dT _])"),
    re.compile(r"(?<!\d)(20\d{2}|19\d{2})(\d{2})(\d{2})(?![\dT_\-])"),
)


def time_from_name(name: str) -> dt.datetime | None:
    """The date-time written in a file name (module docstring), or None."""
    for pat in _PATTERNS:
        m = pat.search(name)
        if m:
            try:
                parts = [int(g) for g in m.groups()] + [0, 0, 0]
                y, mo, d, h, mi, sec = parts[:6]
                return dt.datetime(y, mo, d, h, mi, sec)
            except ValueError:
                continue
    return None


def time_from_content(start_time: str) -> dt.datetime | None:
    """A recording's ISO 8601 ``start_time`` (UTC, as readers give it) as a naive UTC
    date-time, or None when empty or unreadable."""
    if not start_time:
        return None
    try:
        t = dt.datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


@dataclass(frozen=True)
class SnapshotTime:
    """A file's ``time`` and where it came from (``source``: name, content, mtime)."""

    path: Path
    time: dt.datetime
    source: str

    def label(self) -> str:
        return self.time.isoformat(sep=" ", timespec="seconds")


def snapshot_time(path: Path, start_time: str = "") -> SnapshotTime:
    """The time of ``path``: its name, else ``start_time`` (the content), else its
    modification time (local time, naive)."""
    t = time_from_name(path.name)
    if t is not None:
        return SnapshotTime(path, t, "name")
    t = time_from_content(start_time)
    if t is not None:
        return SnapshotTime(path, t, "content")
    mtime = dt.datetime.fromtimestamp(os.stat(path).st_mtime)
    return SnapshotTime(path, mtime.replace(microsecond=0), "mtime")


def order_snapshots(times: list[SnapshotTime]) -> list[SnapshotTime]:
    """``times`` sorted by time, ties by file name."""
    return sorted(times, key=lambda s: (s.time, s.path.name))
