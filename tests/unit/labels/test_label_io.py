"""CSV and JSON label files: exact round trips, and all-or-nothing imports with line numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.labels.event import LabelError, LabelEvent
from desktop.labels.io import (
    CSV_COLUMNS,
    export_csv,
    export_file,
    export_json,
    import_file,
)

TRICKY_NOTES = [
    "plain",
    "comma, then more",
    'a "quoted" word',
    "two\nlines",
    "windows\r\nline end",
    "ünïcödé — Lager läuft unrund, 轴承",
    '",\n"',
    "",
    "trailing space ",
]


def events() -> list[LabelEvent]:
    return [LabelEvent(id=None, recording=f"C:\\plant\\run {k}, line 3.parquet",
                       start_s=0.1 * k, end_s=0.1 * k + 1 / 3, label=f"class {k % 3}",
                       channel="ch1" if k % 2 else "", note=note, source="serial:/dev/ttyUSB0",
                       author="ana", created="2024-05-01T12:00:00Z")
            for k, note in enumerate(TRICKY_NOTES)]


def csv_fields(e: LabelEvent) -> tuple[object, ...]:
    return (e.recording, e.start_s, e.end_s, e.label, e.channel, e.note)


def test_csv_round_trip_keeps_every_field_exactly(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    assert export_csv(events(), path) == len(TRICKY_NOTES)
    raw = path.read_bytes()
    assert raw.startswith(b"recording,start_s,end_s,label,channel,note\r\n")
    back = import_file(path)
    assert [csv_fields(e) for e in back] == [csv_fields(e) for e in events()]
    assert all(e.source == "import:labels.csv" and e.id is None for e in back)
    # Any CSV reader sees the same cells (the file is ordinary RFC 4180 CSV).
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS and rows[4][5] == "two\nlines"


def test_json_round_trip_keeps_every_field_but_the_id(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    expected = events()
    assert export_json(expected, path) == len(TRICKY_NOTES)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data[0]) >= {*CSV_COLUMNS, "source", "author", "created"}
    assert "ünïcödé" in path.read_text(encoding="utf-8")  # readable, not \u escapes
    assert import_file(path) == expected


def test_export_file_picks_the_format_from_the_extension(tmp_path: Path) -> None:
    export_file(events(), tmp_path / "a.CSV")
    export_file(events(), tmp_path / "a.Json")
    assert (tmp_path / "a.CSV").read_text(encoding="utf-8").startswith("recording,")
    assert (tmp_path / "a.Json").read_text(encoding="utf-8").startswith("[")
    with pytest.raises(LabelError, match=r"unknown label file type '\.txt'"):
        export_file(events(), tmp_path / "a.txt")
    with pytest.raises(LabelError, match="unknown label file type"):
        import_file(tmp_path / "labels")


def test_a_failed_export_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    export_json(events(), path)
    before = path.read_bytes()

    def broken():
        yield events()[0]
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        export_csv(broken(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["labels.json"]
    with pytest.raises(LabelError, match="does not exist"):
        export_csv(events(), tmp_path / "missing" / "x.csv")


def test_bad_csv_rows_are_listed_by_line_and_nothing_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "recording,start_s,end_s,label,channel,note\n"          # 1
        'run.parquet,1,2,ok,,"a note\nover two lines"\n'        # 2-3
        "run.parquet,5,4,backwards,,\n"                         # 4
        "run.parquet,one,2,words,,\n"                           # 5
        "\n"                                                    # 6 blank: fine
        "run.parquet,1,2,,,\n"                                  # 7
        "run.parquet,1,2,short\n"                               # 8
        "run.parquet,1,nan,nan,,\n"                             # 9
        ",1,2,norec,,\n",                                       # 10
        encoding="utf-8")
    with pytest.raises(LabelError) as info:
        import_file(path)
    message = str(info.value)
    assert "nothing was imported" in message and "6 of 7 rows are bad" in message
    problems = message.split("nothing was imported: ")[1].split("; ")
    for problem, (line, words) in zip(problems, (
            (4, "end after it starts"), (5, "'one' is not a number"), (7, "label is empty"),
            (8, "4 fields, the header has 6"), (9, "finite")), strict=False):
        assert problem.startswith(f"line {line}: ") and words in problem, problem
    assert "and 1 more" in message  # the sixth problem (line 10) is only counted
    assert "\n" not in message


def test_csv_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("recording,start,end,label\nr,1,2,x\n", encoding="utf-8")
    with pytest.raises(LabelError, match="line 1: the header lacks start_s, end_s, channel"):
        import_file(path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(LabelError, match="is empty"):
        import_file(path)
    path.write_text(",".join(CSV_COLUMNS) + "\n", encoding="utf-8")
    assert import_file(path) == []


def test_csv_from_a_spreadsheet_bom_reordered_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffnote,label,end_s,start_s,recording,channel,author,shift\r\n"
                     "Lüfter,unbalance,2.5,1,run.parquet,,bo,night\r\n".encode())
    (event,) = import_file(path)
    assert (event.note, event.label, event.start_s, event.end_s, event.author) == (
        "Lüfter", "unbalance", 1.0, 2.5, "bo")


def test_an_unclosed_quote_is_an_error_not_a_note_that_eats_the_file(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("recording,start_s,end_s,label,channel,note\n"
                    'run.parquet,1,2,ok,,"never closed\n'
                    "run.parquet,3,4,ok,,\n", encoding="utf-8")
    with pytest.raises(LabelError, match="line 2: unexpected end of data"):
        import_file(path)


def test_not_utf8_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("recording,start_s,end_s,label,channel,note\nr,1,2,x,,Lüfter\n"
                     .encode("latin-1"))
    with pytest.raises(LabelError, match="not UTF-8"):
        import_file(path)
    with pytest.raises(LabelError, match="no such label file"):
        import_file(tmp_path / "nope.json")


def test_bad_json_items_are_listed_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    good = {"recording": "r", "start_s": 1, "end_s": 2, "label": "x"}
    items = [good, {**good, "end_s": 0}, "oops", {"recording": "r", "label": "x"},
             {**good, "start_s": "1"}, {**good, "id": 77, "extra": True}]
    path.write_text(json.dumps(items, indent=2), encoding="utf-8")
    text = path.read_text(encoding="utf-8").splitlines()
    starts = [n + 1 for n, line in enumerate(text) if line in ("  {", '  "oops",')]
    with pytest.raises(LabelError) as info:
        import_file(path)
    message = str(info.value)
    assert "4 of 6 rows are bad" in message
    assert f"line {starts[1]} (item 2): a label must end after it starts" in message
    assert f"line {starts[2]} (item 3): expected an object, found str" in message
    assert f"line {starts[3]} (item 4): missing start_s, end_s" in message
    assert f"line {starts[4]} (item 5): start_s must be a number" in message

    path.write_text(json.dumps([good, {**good, "id": 77, "extra": True}]), encoding="utf-8")
    assert [e.id for e in import_file(path)] == [None, None]  # ids are the store's own


def test_json_that_is_not_a_list_or_not_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"recording": "r"}', encoding="utf-8")
    with pytest.raises(LabelError, match="expected a JSON list"):
        import_file(path)
    path.write_text('[\n  {"recording": "r",\n  }\n]', encoding="utf-8")
    with pytest.raises(LabelError, match=r"line 3: not valid JSON"):
        import_file(path)


text_cells = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
names = text_cells.map(str.strip).filter(bool)
spans = st.tuples(st.floats(-1e9, 1e9), st.floats(1e-6, 1e6)).map(lambda t: (t[0], t[0] + t[1]))
event_strategy = st.builds(
    lambda rec, span, label, channel, note: LabelEvent(
        id=None, recording=rec, start_s=span[0], end_s=span[1], label=label, channel=channel,
        note=note, source="demo", author="ana", created="2024-05-01T12:00:00Z"),
    names, spans.filter(lambda s: s[0] < s[1]), names, names | st.just(""), text_cells)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(event_strategy, max_size=6))
def test_any_text_round_trips_through_both_formats(tmp_path: Path, batch: list[LabelEvent]
                                                   ) -> None:
    # Exactly as written: the recording names here are any text, not paths.
    export_json(batch, tmp_path / "p.json")
    assert import_file(tmp_path / "p.json", resolve_recordings=False) == batch
    export_csv(batch, tmp_path / "p.csv")
    assert [csv_fields(e) for e in import_file(tmp_path / "p.csv", resolve_recordings=False)
            ] == [csv_fields(e) for e in batch]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_relative_recordings_are_relative_to_the_label_file(tmp_path: Path, suffix: str
                                                            ) -> None:
    names = ["run 1.parquet", "sub/run 2.csv", "/data/abs.parquet", "C:\\plant\\x.parquet",
             "\\\\server\\share\\y.parquet"]
    batch = [LabelEvent(id=None, recording=name, start_s=0, end_s=1, label="x",
                        note="two\nlines") for name in names]
    folder = tmp_path / "moved"
    folder.mkdir()
    export_file(batch, folder / f"labels{suffix}")
    back = import_file(folder / f"labels{suffix}")
    assert [e.recording for e in back] == [str(folder / "run 1.parquet"),
                                           str(folder / "sub" / "run 2.csv"), *names[2:]]
    assert all(e.note == "two\nlines" for e in back)
