"""Delimited text (CSV, TSV, ``;``, whitespace, ``name:value`` logs) streamed in byte
chunks through the serial port's own parser, plus a quick *skim* of a big file.

The parser (``desktop.formats``) decides the dialect from the first lines and then turns
each byte chunk into rows, so a 10 GB file is parsed with the memory of one chunk, with
the same header, delimiter, timestamp and garbage rules as :func:`read_csv`.

The skim reads a few hundred small slices spread over the file (head, middle, tail) and
parses them with a second parser of the same dialect: seconds after opening, the window
can draw the shape of the whole file while the full parse (tens of seconds for a GB of
text) builds the real index behind it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from desktop.core.errors import RecordingError
from desktop.core.types import describe_malformed
from desktop.formats.base import make_parser
from desktop.recording.stream import Chunk, ChunkStream, Skim
from desktop.recording.summary import wall_clock_start
from desktop.recording.text_prep import finish_metadata, layout_of, prepared_chunks

CHUNK_BYTES = 4 << 20
SKIM_MIN_BYTES = 16 << 20  # below this the whole parse is about as quick as a skim
SKIM_HEAD = 256 << 10
SKIM_SLICES = 400
SKIM_SLICE_BYTES = 8 << 10


def text_stream(path: Path, rate: float | None = None, line_format: str = "auto",
                chunk_bytes: int | None = None, decimal: str | None = None,
                dayfirst: bool | None = None, thousands: str | None = None) -> ChunkStream:
    """A text file in chunks, read exactly as :func:`~desktop.recording.readers.read_csv`
    reads it: the same parser (and ``decimal`` option), the same byte source (UTF-16
    transcoded), the same refusal of an ambiguous decimal comma."""
    options = {"decimal": decimal} if decimal else {}
    try:
        parser = make_parser(line_format, **options)
    except ValueError as exc:
        raise RecordingError(f"{path}: {exc}") from None
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    layout = layout_of(path, dayfirst, thousands, decimal)
    meta: dict[str, object] = {}

    def chunks() -> Iterator[Chunk]:
        rows = 0
        try:
            pos = 0
            for data in prepared_chunks(path, layout, chunk_bytes or CHUNK_BYTES):
                pos += len(data)
                block = parser.feed(data)
                if len(block):
                    if not rows:  # the wall-clock start, as read_csv gives it
                        stream.start_time = wall_clock_start(block.timestamps)
                    rows += len(block)
                    yield Chunk(block.values, block.timestamps, block.channel_names,
                                min(1.0, pos / max(1, size)))
            block = parser.finish()
        except OSError as exc:
            raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if len(block):
            if not rows:
                stream.start_time = wall_clock_start(block.timestamps)
            rows += len(block)
            yield Chunk(block.values, block.timestamps, block.channel_names, 1.0)
        meta["malformed"] = dict(parser.malformed)
        meta["format"] = parser.description
        finish_metadata(meta, path, parser, layout)
        ambiguity = getattr(parser, "ambiguity", None)
        if ambiguity:
            raise RecordingError(f"{path}: {ambiguity}")
        if not rows:
            rejected = describe_malformed(parser.malformed) or "none"
            raise RecordingError(f"{path} holds no numeric samples (rejected lines: {rejected})")

    def skim() -> Skim | None:
        # A file whose lines are rewritten is not skimmed (the raw slices would not parse
        # the same); the full parse draws it as it goes.
        if size < SKIM_MIN_BYTES or not layout.trivial:
            return None
        return skim_text(path, rate, line_format)

    stream = ChunkStream("csv", (), rate, chunks(), meta, f"file:{path.name}", skim=skim)
    return stream


def skim_text(path: Path, rate: float | None = None, line_format: str = "auto",
              slices: int = SKIM_SLICES, slice_bytes: int = SKIM_SLICE_BYTES) -> Skim | None:
    """The head, ``slices`` slices spread evenly and the tail of a text file, parsed;
    None when the head does not reveal the format (the full parse will say why)."""
    size = os.path.getsize(path)
    parser = make_parser(line_format)
    with open(path, "rb") as fh:
        head_bytes = fh.read(SKIM_HEAD)
        head = parser.feed(head_bytes)
        if not getattr(parser, "detected", False) or len(head) == 0:
            return None
        consumed = head_bytes.rfind(b"\n") + 1 or len(head_bytes)
        bytes_per_row = consumed / len(head)
        timed = parser.timestamped
        if not timed and not rate:
            return None
        values, times = [head.values], [head.timestamps if timed
                                        else np.arange(len(head), dtype=np.float64)]
        names = head.channel_names
        # Every slice cut to whole lines and parsed in one call (one call per slice would
        # cost the parser's fixed overhead 400 times).
        offsets = np.linspace(SKIM_HEAD, max(SKIM_HEAD, size - slice_bytes), slices)
        pieces: list[bytes] = []
        slice_rows: list[tuple[float, int]] = []  # (estimated first row, lines) per slice
        for k, off in enumerate(offsets.astype(np.int64)):
            fh.seek(int(off))
            data = fh.read(slice_bytes)
            begin = data.find(b"\n") + 1
            stop = len(data) if k == len(offsets) - 1 else data.rfind(b"\n") + 1
            if begin <= 0 or stop <= begin:
                continue
            piece = data[begin:stop]
            if not piece.endswith((b"\n", b"\r")):
                piece += b"\n"
            pieces.append(piece)
            slice_rows.append(((off + begin) / bytes_per_row, piece.count(b"\n")))
        parser.resync()
        parser.feed(b"\n")  # ends the torn line resync expects
        block = parser.feed(b"".join(pieces))
        if len(block):
            names = block.channel_names if len(block.channel_names) > len(names) else names
            values.append(block.values)
            if timed:
                times.append(block.timestamps)
            else:  # rows from the byte offsets: an estimate, refined by the full parse
                est = np.concatenate([first + np.arange(lines, dtype=np.float64)
                                      for first, lines in slice_rows])
                if est.size != len(block):  # some lines were rejected: spread evenly
                    est = np.linspace(est[0], est[-1], len(block))
                times.append(est)
    width = len(names)
    values = [v if v.shape[1] == width else
              np.hstack([v, np.full((v.shape[0], width - v.shape[1]), np.nan)]) for v in values]
    t: np.ndarray = np.concatenate(times)  # type: ignore[arg-type]
    v = np.concatenate(values)
    if not timed:
        t = t / float(rate)  # type: ignore[arg-type]
    order = np.argsort(t, kind="stable")
    return Skim(t[order], v[order], tuple(names), timed, int(size / bytes_per_row),
                head.values if head.values.shape[1] == width else values[0])


