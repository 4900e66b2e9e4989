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
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

from desktop.core.atomic import atomic_open
from desktop.labels.event import LabelError, LabelEvent

CSV_COLUMNS = ("recording", "start_s", "end_s", "label", "channel", "note")
JSON_KEYS = (*CSV_COLUMNS, "source", "author", "created", "updated")
#: Optional CSV columns that are read when present (a spreadsheet may keep them).
_CSV_OPTIONAL = ("source", "author", "created", "updated")
_REQUIRED = ("recording", "start_s", "end_s", "label")
#: How many bad rows one error message lists before "… and N more".
MAX_PROBLEMS = 5
FORMATS = (".csv", ".json")


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
    channel,note``; returns how many rows were written."""
    count = 0
    with _atomic_text(path, newline="") as handle:
        writer = csv.writer(handle)  # type: ignore[arg-type]
        writer.writerow(CSV_COLUMNS)
        for event in events:
            # repr keeps every bit of a float, so export → import gives the same span.
            writer.writerow([event.recording, repr(event.start_s), repr(event.end_s),
                             event.label, event.channel, event.note])
            count += 1
    return count


def export_json(events: Iterable[LabelEvent], path: Path) -> int:
    """Write ``events`` as a UTF-8 JSON list of objects (``JSON_KEYS``); returns the count.

    The store's ids are left out: they mean nothing in another store.
    """
    items = [{key: getattr(event, key) for key in JSON_KEYS} for event in events]
    with _atomic_text(path) as handle:
        json.dump(items, handle, ensure_ascii=False, indent=2)  # type: ignore[arg-type]
        handle.write("\n")  # type: ignore[attr-defined]
    return len(items)


def export_file(events: Iterable[LabelEvent], path: Path) -> int:
    """Export by extension (.csv or .json)."""
    writer = export_csv if file_format(path) == ".csv" else export_json
    return writer(events, path)


# ------------------------------------------------------------------------------- import
class _Problems:
    """Collects bad rows so one error names several of them, not only the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def raise_if_any(self, total: int) -> None:
        if not self.items:
            return
        shown = "; ".join(self.items[:MAX_PROBLEMS])
        more = len(self.items) - MAX_PROBLEMS
        tail = f"; … and {more} more" if more > 0 else ""
        raise LabelError(f"{self.path}: {len(self.items)} of {total} rows are bad, nothing "
                         f"was imported: {shown}{tail}")


def _read_text(path: Path) -> str:
    try:
        # Bytes, then decode: no newline translation, so a "\r\n" inside a quoted note
        # survives. utf-8-sig: a CSV saved by Excel starts with a byte-order mark.
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise LabelError(f"no such label file: {path}") from None
    except IsADirectoryError:
        raise LabelError(f"{path} is a folder, not a label file") from None
    except UnicodeDecodeError as exc:
        raise LabelError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}); "
                         "save it as UTF-8 and import again") from None
    except OSError as exc:
        raise LabelError(f"cannot read {path}: {exc.strerror or exc}") from None


def resolve_recording(recording: str, label_file: Path) -> str:
    """A label file's ``recording`` as a path: relative ones join the label file's folder.

    Absolute POSIX or Windows paths and ``~/…`` are kept (``~`` expanded); text that is not
    a string or is blank is returned unchanged so that validation reports it.
    """
    if not isinstance(recording, str) or not recording.strip():
        return recording
    if recording.startswith("~"):
        return str(Path(recording).expanduser())
    if PurePosixPath(recording).is_absolute() or PureWindowsPath(recording).is_absolute():
        return recording
    return str(Path(label_file).absolute().parent / recording)


def _make_event(fields: dict[str, object], default_source: str,
                label_file: Path | None = None) -> LabelEvent:
    values: dict[str, object] = {"id": None, "source": default_source}
    values.update({k: v for k, v in fields.items() if v is not None})
    if label_file is not None and isinstance(values.get("recording"), str):
        values["recording"] = resolve_recording(str(values["recording"]), label_file)
    return LabelEvent(**values)  # type: ignore[arg-type]


def _csv_number(text: str, name: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise LabelError(f"{name} {text!r} is not a number") from None


def _import_csv(path: Path, resolve: bool = True) -> list[LabelEvent]:
    text = _read_text(path)
    # newline="": split rows on \n, \r\n or \r only (str.splitlines would also split on
    # form feeds and U+2028 inside a note), as the csv module asks.
    # strict: an unclosed quote is an error, not a note that swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems = _Problems(path)
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
        raise LabelError(f"{path}, line 1: the header lacks {', '.join(missing)}; expected "
                         f"{','.join(CSV_COLUMNS)}")
    columns = {name: header.index(name) for name in (*CSV_COLUMNS, *_CSV_OPTIONAL)
               if name in header}
    default_source = f"import:{path.name}"
    events: list[LabelEvent] = []
    rows = 0
    while True:
        start_line = reader.line_num + 1  # a quoted note may span lines: report the first
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
        if len(row) != len(header):
            problems.add(f"line {start_line}",
                         f"{len(row)} fields, the header has {len(header)}")
            continue
        try:
            fields: dict[str, object] = {name: row[i] for name, i in columns.items()}
            for name in _REQUIRED:
                if not str(fields[name]).strip():
                    raise LabelError(f"{name} is empty")
            fields["start_s"] = _csv_number(row[columns["start_s"]], "start_s")
            fields["end_s"] = _csv_number(row[columns["end_s"]], "end_s")
            for name in _CSV_OPTIONAL:
                if name in fields and not str(fields[name]).strip():
                    fields[name] = None  # a blank optional cell: keep the default
            events.append(_make_event(fields, default_source, path if resolve else None))
        except LabelError as exc:
            problems.add(f"line {start_line}", str(exc))
    problems.raise_if_any(rows)
    return events


def _json_item_lines(text: str) -> list[int]:
    """Line number where each item of a top-level JSON list starts (text already parsed
    once, so it is valid): ``json`` itself reports no positions for good documents."""
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    lines: list[int] = []

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    index = skip(index)
    while index < len(text) and text[index] != "]":
        lines.append(text.count("\n", 0, index) + 1)
        _, index = decoder.raw_decode(text, index)
        index = skip(index)
        if index < len(text) and text[index] == ",":
            index = skip(index + 1)
    return lines


def _import_json(path: Path, resolve: bool = True) -> list[LabelEvent]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise LabelError(f"{path}: expected a JSON list of label objects, found "
                         f"{type(data).__name__}")
    lines = _json_item_lines(text)
    problems = _Problems(path)
    default_source = f"import:{path.name}"
    events: list[LabelEvent] = []
    known = set(JSON_KEYS) | {"id"}
    for number, item in enumerate(data):
        where = f"line {lines[number]} (item {number + 1})"
        if not isinstance(item, dict):
            problems.add(where, f"expected an object, found {type(item).__name__}")
            continue
        missing = [key for key in _REQUIRED if key not in item]
        if missing:
            problems.add(where, f"missing {', '.join(missing)}")
            continue
        # The exporting store's id means nothing here; unknown keys are another tool's.
        fields = {k: v for k, v in item.items() if k in known and k != "id"}
        try:
            events.append(_make_event(fields, default_source, path if resolve else None))
        except LabelError as exc:
            problems.add(where, str(exc))
    problems.raise_if_any(len(data))
    return events


def import_file(path: Path, *, resolve_recordings: bool = True) -> list[LabelEvent]:
    """Every event in a .csv or .json label file, validated; a :class:`LabelError` naming
    the first few bad rows (by line) if any row is bad, in which case nothing is returned.

    Events without a ``source`` get ``import:<file name>`` so their origin stays visible.
    A relative ``recording`` is joined to the label file's folder (see the module text);
    ``resolve_recordings=False`` returns it exactly as written.
    """
    path = Path(path).expanduser()
    reader: Callable[[Path, bool], list[LabelEvent]] = (
        _import_csv if file_format(path) == ".csv" else _import_json)
    return reader(path, resolve_recordings)
