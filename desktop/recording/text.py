"""Delimited text (CSV, TSV, ``;``, whitespace, ``name:value`` logs) as recordings.

CSV goes through the same ASCII parser as the serial port, so a file saved from a
terminal program reads exactly like the live device did (same delimiters, header and
timestamp rules, same garbage counts); text files in UTF-16 (Windows loggers) are
transcoded first, a UTF-8 BOM is dropped. Big files stream through
:mod:`desktop.recording.text_chunks`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import RecordingError
from desktop.core.types import ChannelSpec, MalformedCounter, Recording, describe_malformed
from desktop.formats.base import make_parser
from desktop.recording.format import FileFormat, ReadOptions
from desktop.recording.summary import add_note, wall_clock_start
from desktop.recording.text_chunks import text_stream
from desktop.recording.text_prep import (
    dst_gap_note,
    finish_metadata,
    layout_of,
    prepared_chunks,
)

_CSV_CHUNK = 1 << 20

log = logging.getLogger(__name__)

CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".dat", ".log"}


def read_csv(path: Path, rate: float | None = None, line_format: str = "auto",
             decimal: str | None = None, dayfirst: bool | None = None,
             thousands: str | None = None) -> Recording:
    """Parse a delimited text file with the serial port's parser; garbage is counted.

    ``decimal`` (``"."`` or ``","``) fixes the decimal mark; by default it is detected,
    and a file that reads equally well both ways (``21,5`` without a header) is refused
    with a message that says how to choose. The file's head is read first for what the
    parser does not know (:mod:`desktop.recording.text_layout`: a preamble, a units row,
    a ``#`` header, thousands separators, day/month order: ``dayfirst``, ``thousands``).
    Raises RecordingError (one line, naming the file) for unreadable files and files
    without numeric samples.
    """
    options: dict[str, Any] = {"decimal": decimal} if decimal else {}
    try:
        parser = make_parser(line_format, **options)
    except ValueError as exc:
        raise RecordingError(f"{path}: {exc}") from None
    value_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []
    widths: list[int] = []
    try:
        layout = layout_of(path, dayfirst, thousands, decimal)
        for chunk in prepared_chunks(path, layout, _CSV_CHUNK):
            _collect(parser.feed(chunk), value_parts, time_parts, widths)
        _collect(parser.finish(), value_parts, time_parts, widths)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    ambiguity = getattr(parser, "ambiguity", None)
    if ambiguity:
        raise RecordingError(f"{path}: {ambiguity}")
    names = list(parser.channel_names)
    if not names or not value_parts:
        rejected = describe_malformed(parser.malformed)
        raise RecordingError(f"{path} holds no numeric samples "
                             f"(rejected lines: {rejected or 'none'})")
    width = len(names)
    values = np.concatenate([
        part if part.shape[1] == width
        else np.hstack([part, np.full((part.shape[0], width - part.shape[1]), np.nan)])
        for part in value_parts
    ])
    times = np.concatenate(time_parts) if parser.timestamped and time_parts else None
    malformed = MalformedCounter(parser.malformed)
    if malformed:
        log.warning("%s: skipped %d malformed lines: %s", path, malformed.total,
                    describe_malformed(malformed))
    units = list(getattr(parser, "channel_units", [])) + [""] * width
    metadata: dict[str, object] = {"malformed": dict(malformed), "format": parser.description}
    finish_metadata(metadata, path, parser, layout)
    gap = dst_gap_note(times)
    if gap:
        add_note(metadata, gap)
    return Recording(tuple(ChannelSpec(n, u) for n, u in zip(names, units, strict=False)),
                     values, rate, times, source=f"file:{path.name}",
                     start_time=wall_clock_start(times), metadata=metadata)


def _collect(block: Any, values: list[np.ndarray], times: list[np.ndarray],
             widths: list[int]) -> None:
    if block.values.shape[0] == 0:
        return
    values.append(block.values)
    widths.append(block.values.shape[1])
    if block.timestamps is not None:
        times.append(block.timestamps)



def _read(path: Path, options: ReadOptions) -> Recording:
    return read_csv(path, options.rate, decimal=options.decimal, dayfirst=options.dayfirst,
                    thousands=options.thousands)


def _stream(path: Path, options: ReadOptions) -> Any:
    return text_stream(path, options.rate, decimal=options.decimal,
                       dayfirst=options.dayfirst, thousands=options.thousands)


FORMAT = FileFormat(
    "csv", "Text tables", tuple(sorted(CSV_SUFFIXES)), _read, stream=_stream,
    rules="delimiter, header, decimal mark and time column detected from the first lines "
          "(the serial port's parser); a preamble (TOA5, key: value lines) kept as "
          "metadata, a units row as units, a '# ' header read; quoted \"1,234.5\" read; "
          "AM/PM, MM/DD, DD/MM, YYYY/MM/DD, DD.MM and 04-Mar-2025 date-times read (an "
          "unclear day/month order refused: "
          "--dayfirst/--monthfirst); local times repeating at a DST change named, a "
          "missing hour noted as a gap; Date + Time columns joined; text columns set "
          "aside with a note; known units in a header cell split off (m/s kept whole); "
          "UTF-16 and a UTF-8 BOM read",
    options=("rate", "decimal", "dayfirst", "thousands"))
