"""Label files: CSV for spreadsheets, JSON for tools and for moving labels between PCs.

CSV has exactly the columns an engineer edits by hand (``recording,start_s,end_s,label,
channel,note``); JSON also carries who made each label, where and when. Imports are all or
nothing: a file with any bad row imports nothing and the error lists the first few bad
rows by line number, because a half-imported file is worse than none (the user cannot
tell which half to fix and re-import without duplicates).

Recording paths: a relative ``recording`` in a label file is relative to **the label file's
folder** (not to the current directory), so a labels file copied together with its
recordings to another PC still finds them; :func:`import_file` returns it joined to that
folder. Absolute paths (POSIX ``/…``, Windows ``C:\\…`` or ``\\\\server\\…``) and ``~/…``
are kept as written. Notes may hold commas, quotes and newlines; they round-trip through
both formats unchanged.

Exports are written with :func:`desktop.core.atomic.atomic_open` (a temp file beside the
target renamed over it), so an interrupted export never leaves a truncated file where a
good one was.

Spreadsheets: a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel and LibreOffice, so a note like ``=HYPERLINK(…)`` typed by
anyone would run in the colleague's spreadsheet that opens the export. The CSV export
therefore writes such text cells with a leading ``'`` (OWASP's rule; the spreadsheet shows
the text, not a formula), and also a cell that already starts with ``'``, so the import can
strip exactly one leading ``'`` from those cells and give back the very text that was
exported: a round trip is lossless (the guard is :mod:`desktop.core.spreadsheet`, the
one every CSV writer uses). JSON is not opened by spreadsheets and is written as is.

Size: imports stream. A label file is read a line (CSV) or an item (JSON) at a time and
goes into the store in batches inside one transaction, so a million labels take seconds and
memory does not grow with the file; files over :data:`MAX_LABEL_FILE_BYTES`, CSV lines over
:data:`MAX_LINE_CHARS` and JSON items over :data:`MAX_ITEM_CHARS` (or nested deeper than a
label object can be) are refused in one line.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, TYPE_CHECKING, Any

from desktop.core.atomic import atomic_open
from desktop.core.jsonfile import MAX_DEPTH, too_deep_at
from desktop.core.spreadsheet import guard_formula, unguard_formula
from desktop.labels.event import (
    LabelError,
    LabelEvent,
    MissingLabelFileError,
    _default_author,
    checked_fields,
    utc_now,
)

if TYPE_CHECKING:
    from desktop.core.tasks import TaskState
    from desktop.labels.store import LabelStore

CSV_COLUMNS = ("recording", "start_s", "end_s", "label", "channel", "note")
JSON_KEYS = (*CSV_COLUMNS, "source", "author", "created", "updated")
#: Optional CSV columns that are read when present (a spreadsheet may keep them).
_CSV_OPTIONAL = ("source", "author", "created", "updated")
_REQUIRED = ("recording", "start_s", "end_s", "label")
#: Text columns that get the spreadsheet-formula guard on export (numbers never need it).
_TEXT_COLUMNS = ("recording", "label", "channel", "note", *_CSV_OPTIONAL)
#: How many bad rows one error message lists before "… and N more".
MAX_PROBLEMS = 5
FORMATS = (".csv", ".json")
#: A label file is ~100 bytes a label: 1 GiB is ten million labels. Bigger is not a label
#: file (or should be split), and is refused before it is read.
MAX_LABEL_FILE_BYTES = 1 << 30
#: One CSV line (a note may hold a page of text); a longer "line" is not a label file.
MAX_LINE_CHARS = 1 << 20
#: One JSON label object, likewise.
MAX_ITEM_CHARS = 1 << 20
_CHUNK_BYTES = 1 << 20


def file_format(path: Path) -> str:
    """``.csv`` or ``.json`` from the file name; anything else is a user error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise LabelError(f"{path}: unknown label file type {suffix or '(none)'!r}; use a "
                         ".csv or .json file name")
    return suffix


# ------------------------------------------------------------------------------- export
@contextlib.contextmanager
def _atomic_text(path: Path, newline: str | None = None) -> Iterator[IO[Any]]:
    """``atomic_open`` with the checks and one-line errors of a label export."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise LabelError(f"{path} is a folder; give a file name to export to")
    if not path.parent.is_dir():
        raise LabelError(f"cannot export to {path}: folder {path.parent} does not exist")
    try:
        with atomic_open(path, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
    except OSError as exc:
        raise LabelError(f"cannot write {path}: {exc.strerror or exc}") from None


def export_csv(events: Iterable[LabelEvent], path: Path) -> int:
    """Write ``events`` as UTF-8 CSV with the header ``recording,start_s,end_s,label,
    channel,note``; returns how many rows were written. Text cells that a spreadsheet
    would run as a formula get a leading ``'`` (see the module text)."""
    count = 0
    with _atomic_text(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for event in events:
            # repr keeps every bit of a float, so export → import gives the same span.
            writer.writerow([guard_formula(event.recording), repr(event.start_s),
                             repr(event.end_s), guard_formula(event.label),
                             guard_formula(event.channel), guard_formula(event.note)])
            count += 1
    return count


def export_json(events: Iterable[LabelEvent], path: Path) -> int:
    """Write ``events`` as a UTF-8 JSON list of objects (``JSON_KEYS``); returns the count.

    The store's ids are left out: they mean nothing in another store. Written an event at
    a time (the same text ``json.dump(…, indent=2)`` gives), so memory does not grow with
    the number of events.
    """
    count = 0
    with _atomic_text(path) as handle:
        handle.write("[")
        for event in events:
            item = json.dumps({key: getattr(event, key) for key in JSON_KEYS},
                              ensure_ascii=False, indent=2)
            handle.write(("\n  " if count == 0 else ",\n  ") + item.replace("\n", "\n  "))
            count += 1
        handle.write("\n]\n" if count else "]\n")
    return count


def export_file(events: Iterable[LabelEvent], path: Path) -> int:
    """Export by extension (.csv or .json)."""
    writer = export_csv if file_format(path) == ".csv" else export_json
    return writer(events, path)


# ------------------------------------------------------------------------------- import
class _Problems:
    """Counts bad rows and keeps the first few, so one error names several of them (and a
    file of a million bad rows does not fill the memory with messages)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []
        self.count = 0

    def add(self, where: str, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(f"{where}: {message}")

    def raise_if_any(self, total: int) -> None:
        if not self.count:
            return
        shown = "; ".join(self.items)
        more = self.count - len(self.items)
        tail = f"; … and {more} more" if more > 0 else ""
        raise LabelError(f"{self.path}: {self.count} of {total} rows are bad, nothing "
                         f"was imported: {shown}{tail}")


def _open_label_file(path: Path) -> IO[bytes]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the callers close it
    except FileNotFoundError:
        raise MissingLabelFileError(f"no such label file: {path}") from None
    except IsADirectoryError:
        raise LabelError(f"{path} is a folder, not a label file") from None
    except OSError as exc:
        raise LabelError(f"cannot read {path}: {exc.strerror or exc}") from None
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_LABEL_FILE_BYTES:
        handle.close()
        raise LabelError(f"{path} is {size / 2**20:,.0f} MiB; a label file may be at most "
                         f"{MAX_LABEL_FILE_BYTES / 2**20:,.0f} MiB: split it and import the "
                         "parts")
    return handle


def _not_utf8(path: Path, line: int, offset: int) -> LabelError:
    return LabelError(f"{path}, line {line}: not UTF-8 text (bad byte at offset {offset}); "
                      "save it as UTF-8 and import again")


_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def _text_lines(path: Path, handle: IO[bytes]) -> Iterator[str]:
    """The file's lines as text, one at a time, each at most :data:`MAX_LINE_CHARS`.

    Split on ``\n``, ``\r\n`` and a lone ``\r`` (old Mac spreadsheets) and nothing else (a
    form feed or U+2028 in a note is text), endings kept, as the csv module wants them.
    """
    offset = 0
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_CHARS + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_CHARS and not raw.endswith(b"\n"):
            raise LabelError(f"{path}, line {number}: longer than {MAX_LINE_CHARS:,} bytes "
                             "(no line end); this is not a label file")
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw, offset = raw[len(codecs.BOM_UTF8):], len(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, number, offset + exc.start) from None
        offset += len(raw)
        body = text[:-2] if text.endswith("\r\n") else text
        if "\r" in body:  # a lone CR inside: old Mac line ends (or a CR in a quoted note)
            yield from _LONE_CR.split(text)
        else:
            yield text


@functools.lru_cache(maxsize=4096)
def _resolve_cached(recording: str, folder: str) -> str:
    if recording.startswith("~"):
        return str(Path(recording).expanduser())
    if PurePosixPath(recording).is_absolute() or PureWindowsPath(recording).is_absolute():
        return recording
    return str(Path(folder) / recording)


def resolve_recording(recording: str, label_file: Path) -> str:
    """A label file's ``recording`` as a path: relative ones join the label file's folder.

    Absolute POSIX or Windows paths and ``~/…`` are kept (``~`` expanded); text that is not
    a string or is blank is returned unchanged so that validation reports it.
    """
    if not isinstance(recording, str) or not recording.strip():
        return recording
    return _resolve_cached(recording, str(Path(label_file).absolute().parent))


class _RowMaker:
    """Turns one row's fields into a validated :class:`LabelEvent` (or, for a bulk import,
    the same validated values as a tuple in :data:`FIELDS` order), with what is the same for
    every row of a file (its folder, default source, author and time) worked out once."""

    def __init__(self, path: Path, resolve: bool, as_rows: bool = False) -> None:
        self.folder = str(Path(path).absolute().parent) if resolve else None
        now = utc_now()
        self.defaults: dict[str, object] = {
            "channel": "", "note": "", "source": f"import:{path.name}",
            "author": _default_author(), "created": now, "updated": now}
        self.as_rows = as_rows

    def __call__(self, fields: dict[str, object]) -> Any:
        values = dict(self.defaults)
        values.update({k: v for k, v in fields.items() if v is not None})
        recording = values.get("recording")
        if self.folder is not None and isinstance(recording, str) and recording.strip():
            values["recording"] = _resolve_cached(recording, self.folder)
        if self.as_rows:
            return checked_fields(**values)
        return LabelEvent(id=None, **values)  # type: ignore[arg-type]


def _csv_number(text: str, name: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise LabelError(f"{name} {text!r} is not a number") from None


def _iter_csv(path: Path, make: _RowMaker, problems: _Problems) -> Iterator[Any]:
    """Every good row of a label CSV; bad rows go to ``problems``; raises at the end (after
    the last good row was yielded) if there were any, so a transaction around it rolls
    back."""
    with _open_label_file(path) as handle:
        # strict: an unclosed quote is an error, not a note that swallows the rest.
        reader = csv.reader(_text_lines(path, handle), strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise LabelError(f"{path}, line 1: {exc}") from None
        if header is None:
            raise LabelError(f"{path} is empty; a label CSV starts with the header "
                             f"{','.join(CSV_COLUMNS)}")
        header = [name.strip() for name in header]
        missing = [name for name in CSV_COLUMNS if name not in header]
        if missing:
            raise LabelError(f"{path}, line 1: the header lacks {', '.join(missing)}; "
                             f"expected {','.join(CSV_COLUMNS)}")
        columns = {name: header.index(name) for name in (*CSV_COLUMNS, *_CSV_OPTIONAL)
                   if name in header}
        text_columns = [(name, i) for name, i in columns.items() if name in _TEXT_COLUMNS]
        i_start, i_end = columns["start_s"], columns["end_s"]
        optional = [name for name in _CSV_OPTIONAL if name in columns]
        width = len(header)
        rows = 0
        while True:
            start_line = reader.line_num + 1  # a quoted note may span lines: the first
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # the reader resumes on the next line
                rows += 1
                problems.add(f"line {start_line}", str(exc))
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank lines, as spreadsheets leave at the end
            rows += 1
            if len(row) != width:
                problems.add(f"line {start_line}", f"{len(row)} fields, the header has {width}")
                continue
            try:
                fields: dict[str, object] = {name: unguard_formula(row[i])
                                             for name, i in text_columns}
                for name in _REQUIRED:
                    if name in fields and not str(fields[name]).strip():
                        raise LabelError(f"{name} is empty")
                if not row[i_start].strip():
                    raise LabelError("start_s is empty")
                if not row[i_end].strip():
                    raise LabelError("end_s is empty")
                fields["start_s"] = _csv_number(row[i_start], "start_s")
                fields["end_s"] = _csv_number(row[i_end], "end_s")
                for name in optional:
                    if not str(fields[name]).strip():
                        fields[name] = None  # a blank optional cell: keep the default
                event = make(fields)
            except LabelError as exc:
                problems.add(f"line {start_line}", str(exc))
                continue
            yield event
    problems.raise_if_any(rows)


class _JsonItems:
    """The items of a top-level JSON list, decoded one at a time from a byte stream.

    Yields ``(line, item)`` with the line where each item starts. Memory stays a chunk plus
    one item; an item over :data:`MAX_ITEM_CHARS`, nesting deeper than a label can, text
    that is not JSON or not UTF-8 ends the file with a one-line :class:`LabelError`.
    """

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path, self.handle = path, handle
        self.decoder = json.JSONDecoder()
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.line = 1  # the line of buf[pos]
        self.bytes_read = 0
        self.eof = False

    # -- buffer ------------------------------------------------------------------
    def _more(self) -> bool:
        """Append the next chunk; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.handle.read(_CHUNK_BYTES)
        self.eof = not chunk
        try:
            text = self.utf8.decode(chunk, final=self.eof)
        except UnicodeDecodeError as exc:
            line = self.line + self.buf.count("\n", self.pos)
            raise _not_utf8(self.path, line, self.bytes_read + exc.start) from None
        self.bytes_read += len(chunk)
        if text:  # positions into buf stay valid when nothing was added
            self.buf = self.buf[self.pos:] + text
            self.pos = 0
        return bool(chunk)

    def _advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def _peek(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            match = _BLANK.match(self.buf, self.pos)
            assert match is not None  # `[ \t\r\n]*` matches the empty string anywhere
            self._advance(match.end())
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def _fail(self, message: str, index: int | None = None) -> LabelError:
        index = self.pos if index is None else index
        line = self.line + self.buf.count("\n", self.pos, index)
        column = index - self.buf.rfind("\n", 0, index)
        return LabelError(f"{self.path}, line {line}, column {column}: {message}")

    # -- items -------------------------------------------------------------------
    def _decode(self) -> Any:
        while True:
            try:
                item, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos <= MAX_ITEM_CHARS and self._more():
                    continue  # the item goes on in the next chunk
                if len(self.buf) - self.pos > MAX_ITEM_CHARS:
                    raise self._fail(f"a label item longer than {MAX_ITEM_CHARS:,} "
                                     "characters; this is not a label file") from None
                raise self._fail(f"not valid JSON ({exc.msg})", exc.pos) from None
            except RecursionError:
                raise self._fail(f"nested deeper than {MAX_DEPTH} levels; a label is a flat "
                                 "JSON object") from None
            if end == len(self.buf) and self._more():
                continue  # a number cut by the chunk edge would decode short
            opened = self.buf.count("[", self.pos, end) + self.buf.count("{", self.pos, end)
            if opened > MAX_DEPTH:
                deep = too_deep_at(self.buf[self.pos:end].encode("utf-8", "surrogatepass"))
                if deep is not None:
                    raise self._fail(f"nested deeper than {MAX_DEPTH} levels; a label is a "
                                     "flat JSON object")
            self._advance(end)
            return item

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        first = self._peek()
        if first == "":
            raise LabelError(f"{self.path} is empty; a label JSON file is a list of label "
                             "objects")
        if first != "[":
            found = "an object" if first == "{" else f"{first!r}"
            raise self._fail(f"expected a JSON list of label objects, found {found}")
        self._advance(self.pos + 1)
        if self._peek() == "]":
            self._advance(self.pos + 1)
        else:
            while True:
                line = self.line
                yield line, self._decode()
                after = self._peek()
                if after == ",":
                    self._advance(self.pos + 1)
                    self._peek()
                    continue
                if after == "]":
                    self._advance(self.pos + 1)
                    break
                raise self._fail("not valid JSON (expected ',' or ']' after an item)"
                                 if after else "not valid JSON (the list is never closed)")
        if self._peek() != "":
            raise self._fail("not valid JSON (extra data after the list)")


_BLANK = re.compile(r"[ \t\r\n]*")


def _iter_json(path: Path, make: _RowMaker, problems: _Problems) -> Iterator[Any]:
    """Every good item of a label JSON list (see :func:`_iter_csv`)."""
    known = set(JSON_KEYS)
    total = 0
    with _open_label_file(path) as handle:
        for line, item in _JsonItems(path, handle):
            total += 1
            where = f"line {line} (item {total})"
            if not isinstance(item, dict):
                problems.add(where, f"expected an object, found {type(item).__name__}")
                continue
            missing = [key for key in _REQUIRED if key not in item]
            if missing:
                problems.add(where, f"missing {', '.join(missing)}")
                continue
            # The exporting store's id means nothing here; unknown keys are another tool's.
            try:
                event = make({k: v for k, v in item.items() if k in known})
            except LabelError as exc:
                problems.add(where, str(exc))
                continue
            yield event
    problems.raise_if_any(total)


def _iter(path: Path, resolve: bool, as_rows: bool) -> Iterator[Any]:
    path = Path(path).expanduser()
    reader: Callable[[Path, _RowMaker, _Problems], Iterator[Any]] = (
        _iter_csv if file_format(path) == ".csv" else _iter_json)
    return reader(path, _RowMaker(path, resolve, as_rows), _Problems(path))


def iter_file(path: Path, *, resolve_recordings: bool = True) -> Iterator[LabelEvent]:
    """The events of a .csv or .json label file, one at a time, validated.

    After the last good event it raises a :class:`LabelError` naming the first few bad rows
    (by line) if any row was bad: run it inside a transaction and nothing of a bad file is
    kept (:func:`import_into` does).
    """
    return _iter(path, resolve_recordings, as_rows=False)


def import_file(path: Path, *, resolve_recordings: bool = True) -> list[LabelEvent]:
    """Every event in a .csv or .json label file, validated; a :class:`LabelError` naming
    the first few bad rows (by line) if any row is bad, in which case nothing is returned.

    Events without a ``source`` get ``import:<file name>`` so their origin stays visible.
    A relative ``recording`` is joined to the label file's folder (see the module text);
    ``resolve_recordings=False`` returns it exactly as written. For big files into a store
    use :func:`import_into`, which does not hold every event in memory.
    """
    return list(iter_file(path, resolve_recordings=resolve_recordings))


def import_into(store: LabelStore, path: Path, *, skip_existing: bool = True,
                task: TaskState | None = None) -> tuple[int, int]:
    """Import a label file into ``store`` in one transaction: all of it or (on any bad row,
    or a cancel) nothing. Returns (added, skipped as already stored).

    Rows are validated by the same rule as :class:`LabelEvent` but go to the store as plain
    value tuples, a batch at a time: no object per row, memory flat in the file's size.
    """
    return store.import_rows(_iter(path, True, as_rows=True), skip_existing=skip_existing,
                             task=task)
