"""The file-format registry: which formats Linewatch reads, and the one dispatch that
``read_recording``, ``open_chunks``, ``linewatch info``, the window's Open filter and the
self-test all go through.

To add a format: write one module with ``FORMAT = FileFormat(...)`` (see
:mod:`desktop.recording.format`) and add it to :data:`BUILTIN` below (or call
:func:`register` from a plug-in). Nothing else names file suffixes.

A file is matched by its suffix, then by each format's ``sniff`` of its first bytes, and
read as text when nothing claims it. A recording whose process was killed has no Parquet
file yet, only its journal; asking for ``rec.parquet`` then reads ``rec.parquet.journal``.
Every reader's failure reaches the caller as one :class:`RecordingError` line naming the
file: an unexpected exception inside a reader (a library's bug on a hostile file) is
turned into one too, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop.core.errors import LinewatchError, MissingFileError, RecordingError
from desktop.core.types import Recording
from desktop.recording import (
    arrow_file,
    journal_file,
    mat,
    parquet_file,
    tdms,
    text,
    wav,
    xlsx,
)
from desktop.recording.format import FileFormat, ReadOptions
from desktop.recording.schema import JOURNAL_SUFFIX
from desktop.recording.stream import Chunk, ChunkStream, stream_of
from desktop.recording.summary import RecordingSummary, summary_of

log = logging.getLogger(__name__)

#: The formats shipped with Linewatch, in the order the Open filter lists them. The text
#: format is also the fallback for a file nothing else claims.
BUILTIN: tuple[FileFormat, ...] = (
    parquet_file.FORMAT,
    text.FORMAT,
    mat.FORMAT,
    wav.FORMAT,
    tdms.FORMAT,
    xlsx.FORMAT,
    arrow_file.FORMAT,
    journal_file.FORMAT,
)
FALLBACK = text.FORMAT.name
_formats: dict[str, FileFormat] = {f.name: f for f in BUILTIN}


def register(fmt: FileFormat) -> FileFormat:
    """Add (or replace, by name) a format; returns it. Suffixes a registered format claims
    move to the newest registration."""
    _formats[fmt.name] = fmt
    return fmt


def unregister(name: str) -> None:
    """Remove a format added by :func:`register` (tests, plug-ins unloading)."""
    _formats.pop(name, None)
    for builtin in BUILTIN:  # a built-in replaced by a plug-in comes back
        if builtin.name == name:
            _formats[name] = builtin


def formats() -> list[FileFormat]:
    """Every registered format, in registration order."""
    return list(_formats.values())


def supported_suffixes() -> list[str]:
    """Every file suffix some format claims (lower case, with the dot)."""
    return sorted({s for f in _formats.values() for s in f.suffixes})


def open_filter() -> str:
    """The Open dialog's filter: all recordings first, then one entry per format."""
    everything = " ".join(f"*{s}" for f in _formats.values() for s in f.suffixes)
    entries = [f"Recordings ({everything})"]
    entries += [f"{f.title} ({' '.join('*' + s for s in f.suffixes)})"
                for f in _formats.values() if f.suffixes]
    entries.append("All files (*)")
    return ";;".join(entries)


def resolve(path: Path) -> tuple[Path, FileFormat]:
    """What to read and how (see the module doc)."""
    if path.is_dir():
        for fmt in _formats.values():
            if fmt.folder and fmt.sniff is not None and fmt.sniff(path, b""):
                return path, fmt
        raise RecordingError(f"{path} is a folder, not a recording")
    if not path.exists():
        journal = path.with_name(path.name + JOURNAL_SUFFIX)
        if journal.is_dir():
            return resolve(journal)
        raise MissingFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    for fmt in reversed(list(_formats.values())):  # the newest registration wins
        if fmt.claims(suffix):
            return path, fmt
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for fmt in _formats.values():
        if not fmt.folder and fmt.sniff is not None and fmt.sniff(path, head):
            return path, fmt
    return path, _formats[FALLBACK]


def _resolve(path: Path) -> tuple[Path, str]:
    """``(path to read, format name)`` (the older interface of :func:`resolve`)."""
    resolved, fmt = resolve(path)
    return resolved, fmt.name


def _guarded(path: Path, call: Any, *args: Any) -> Any:
    """Run a reader; any exception that is not already a user-facing error becomes one
    :class:`RecordingError` line naming the file (the library's traceback goes to the
    log), so no input ever ends in a traceback."""
    try:
        return call(*args)
    except (LinewatchError, KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        log.exception("%s: reader failed", path)
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise RecordingError(f"{path} could not be read ({type(exc).__name__}"
                             f"{': ' + first if first else ''}); check that it is a "
                             "complete file of its kind, or convert it to CSV or "
                             "Parquet") from None


def read_recording(path: Path | str, rate: float | None = None, decimal: str | None = None,
                   **options: Any) -> Recording:
    """Open a recording of any registered format. ``rate`` overrides the stored rate;
    ``decimal`` fixes the decimal mark of a text file; other options are
    :class:`~desktop.recording.format.ReadOptions` fields (``sheet``, ``group`` …)."""
    opts = ReadOptions.of(rate, decimal=decimal, **options)
    resolved, fmt = resolve(Path(path))
    rec: Recording = _guarded(resolved, fmt.read, resolved, opts)
    return rec


def open_chunks(path: Path | str, rate: float | None = None, decimal: str | None = None,
                **options: Any) -> ChunkStream:
    """Stream any recording :func:`read_recording` reads, with the same values (text
    through the same parser, our Parquet/Arrow/journals batch by batch, WAV/TDMS by
    sample ranges; formats without a stream are read whole and chunked)."""
    opts = ReadOptions.of(rate, decimal=decimal, **options)
    resolved, fmt = resolve(Path(path))
    if fmt.stream is not None:
        stream: ChunkStream = _guarded(resolved, fmt.stream, resolved, opts)
        stream.chunks = _guarded_chunks(resolved, stream.chunks)
        return stream
    return stream_of(_guarded(resolved, fmt.read, resolved, opts), fmt.name)


def _guarded_chunks(path: Path, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """A stream's chunks, with a reader's unexpected exception turned into one line."""
    while True:
        chunk = _guarded(path, next, chunks, None)
        if chunk is None:
            return
        yield chunk


def summarize_recording(path: Path | str, decimal: str | None = None,
                        **options: Any) -> RecordingSummary:
    """Channels, rate, duration, sample count and what was inferred; a format's own
    ``summarize`` answers from metadata when it can (our Parquet, journals)."""
    opts = ReadOptions.of(options.pop("rate", None), decimal=decimal, **options)
    resolved, fmt = resolve(Path(path))
    summary: RecordingSummary | None = None
    if fmt.summarize is not None:
        summary = _guarded(resolved, fmt.summarize, resolved, opts)
    if summary is None:
        summary = summary_of(_guarded(resolved, fmt.read, resolved, opts), str(resolved),
                             fmt.name)
    summary.notes += ignored_option_notes(fmt, opts)
    return summary


def ignored_option_notes(fmt: FileFormat, opts: ReadOptions) -> list[str]:
    """The notes ``info`` adds for options given that ``fmt`` does not read."""
    ignored = sorted(set(opts.given()) - set(fmt.options) - {"rate", "decimal", "channel"})
    return [f"--{k} does not apply to {fmt.name} files: ignored" for k in ignored]
