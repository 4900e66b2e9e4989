"""What a file format is to Linewatch: a :class:`FileFormat` description, and the
:class:`ReadOptions` a user may give to any reader.

A format module (``wav.py``, ``xlsx.py`` …) defines one ``FORMAT = FileFormat(...)`` and
imports nothing of the registry; :mod:`desktop.recording.registry` lists the formats, and
``read_recording``, ``open_chunks``, ``linewatch info``, the window's Open filter and the
self-test all derive from that list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.errors import RecordingError, UsageError
from desktop.core.types import Recording

if TYPE_CHECKING:
    from desktop.recording.stream import ChunkStream
    from desktop.recording.summary import RecordingSummary


class OptionNeeded(RecordingError, UsageError):
    """A file leaves a choice the reader will not guess (the day/month order of its dates,
    a thousands mark, which sheet or group): the message names the file, the line and the
    option that settles it; exit code 2, like a command line that lacks an option."""


@dataclass(frozen=True)
class ReadOptions:
    """What the user may tell a reader (each format honours those it names in
    :attr:`FileFormat.options`; the others are ignored).

    ``rate`` overrides the stored rate (Hz); ``decimal`` fixes a text file's decimal mark
    (``"."``/``","``); ``sheet`` picks a workbook sheet; ``group`` a TDMS group;
    ``channel`` a channel the caller wants (a TDMS file then reads that channel's group);
    ``dayfirst`` reads ``01/02/2024`` as 1 February (True) or 2 January (False), None
    refuses an ambiguous file; ``thousands`` is a text file's thousands separator
    (``","`` reads ``"1,234.5"`` as 1234.5).
    """

    rate: float | None = None
    decimal: str | None = None
    sheet: str | None = None
    group: str | None = None
    channel: str | None = None
    dayfirst: bool | None = None
    thousands: str | None = None

    @classmethod
    def of(cls, rate: float | None = None, **options: Any) -> ReadOptions:
        """Options from keywords, ignoring the ``None`` ones and refusing unknown ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown read option(s): {', '.join(unknown)}")
        return cls(rate=rate, **{k: v for k, v in options.items() if v is not None})

    def given(self) -> dict[str, Any]:
        """The options that were set (for messages and cache keys)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


Reader = Callable[[Path, ReadOptions], Recording]
Streamer = Callable[[Path, ReadOptions], "ChunkStream"]
Summarizer = Callable[[Path, ReadOptions], "RecordingSummary | None"]
Sniffer = Callable[[Path, bytes], bool]


@dataclass(frozen=True)
class FileFormat:
    """One readable file format.

    ``name`` is the kind (``"csv"``, ``"parquet"``; the ``format`` key of ``info --json``),
    ``title`` the words of the Open dialog's filter, ``suffixes`` the lower-case file
    suffixes it claims (with the dot). ``read`` returns a whole :class:`Recording`;
    ``stream`` (optional) returns a :class:`~desktop.recording.stream.ChunkStream` for big
    files (without one, the whole recording is chunked); ``summarize`` (optional) answers
    ``info`` cheaply from metadata, or None to fall back to ``read``; ``sniff`` (optional)
    claims a file without a known suffix from its path and first bytes. ``rules`` says in
    a sentence how the format is read (the README's table and ``info --formats``);
    ``options`` names the :class:`ReadOptions` fields it honours. ``folder``: the format
    is a folder (a crash journal), not a file. ``refused``: suffixes the format recognises
    only to refuse them with a hint (``.xls``: save as ``.xlsx``); not in the Open filter.
    """

    name: str
    title: str
    suffixes: tuple[str, ...]
    read: Reader
    stream: Streamer | None = None
    summarize: Summarizer | None = None
    sniff: Sniffer | None = None
    rules: str = ""
    options: tuple[str, ...] = ("rate",)
    folder: bool = False
    refused: tuple[str, ...] = ()

    def claims(self, suffix: str) -> bool:
        """True when ``suffix`` (any case, with the dot) is one of this format's."""
        return suffix.lower() in self.suffixes or suffix.lower() in self.refused
