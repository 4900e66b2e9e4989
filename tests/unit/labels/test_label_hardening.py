"""Label files from outside: nesting, size, formulas, negative times and big imports."""

from __future__ import annotations

import csv
import sqlite3
import time
from pathlib import Path

import pytest

from desktop.labels.event import LabelError, LabelEvent
from desktop.labels.io import (
    MAX_LINE_CHARS,
    export_csv,
    guard_formula,
    import_file,
    import_into,
    unguard_formula,
)
from desktop.labels.store import _INSERT_NEW, LabelStore

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR",
            "'=already quoted", "'plain quote", "''two", "it's fine", "normal", ""]


def event(k: int = 0, **over: object) -> LabelEvent:
    fields: dict[str, object] = dict(id=None, recording="run.parquet", start_s=float(k),
                                     end_s=k + 0.5, label="unbalance", note="")
    fields.update(over)
    return LabelEvent(**fields)  # type: ignore[arg-type]


def test_deeply_nested_label_json_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000)
    store_path = tmp_path / "labels.sqlite3"
    with LabelStore(store_path) as store:
        store.add(event())
        with pytest.raises(LabelError) as info:
            import_into(store, path)
        assert len(store) == 1
    message = str(info.value)
    assert message.startswith(f"{path}, line 1, column 2: nested deeper than 64 levels")
    assert "\n" not in message
    inner = tmp_path / "inner.json"
    inner.write_text('[{"recording": "r", "start_s": 1, "end_s": 2, "label": "x", "note": '
                     + "[" * 100 + "]" * 100 + "}]")
    with pytest.raises(LabelError, match=r"line 1, column 2: nested deeper"):
        import_file(inner)


def test_a_line_without_end_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "one-line.csv"
    path.write_bytes(b"recording,start_s,end_s,label,channel,note\n" + b"x" * (3 * MAX_LINE_CHARS))
    with pytest.raises(LabelError, match=r"line 2: longer than 1,048,576 bytes"):
        import_file(path)


def test_formula_cells_are_quoted_on_export_and_unquoted_on_import(tmp_path: Path) -> None:
    events = [event(k, note=text, label=f"{text}class" if text else "c",
                    channel=text.strip() and text, recording=f"{text}.parquet")
              for k, text in enumerate(FORMULAS)]
    path = tmp_path / "labels.csv"
    export_csv(events, path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    for row, text in zip(rows, FORMULAS, strict=True):
        cells = [row[0], row[3], row[5]]  # recording, label, note
        for cell in cells:
            # What a spreadsheet sees never starts with a formula character.
            assert not cell or cell[0] not in "=+-@\t\r", row
        if text[:1] in ("=", "+", "-", "@", "\t", "\r", "'"):
            assert row[5] == "'" + text
        else:
            assert row[5] == text
    back = import_file(path, resolve_recordings=False)
    assert [(e.recording, e.label, e.channel, e.note) for e in back] == [
        (e.recording, e.label, e.channel, e.note) for e in events]


def test_guard_and_unguard_are_inverse() -> None:
    for text in [*FORMULAS, "'", "''", "'''=", "=", "'x'", "a'=b"]:
        assert unguard_formula(guard_formula(text)) == text
    # A hand-written leading quote before ordinary text is the user's own: kept.
    assert unguard_formula("'hello") == "'hello"


def test_negative_times_are_refused_but_old_rows_still_list(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="before the recording's first sample"):
        event(start_s=-0.5, end_s=1.0)
    path = tmp_path / "labels.sqlite3"
    with LabelStore(path) as store:
        store.add(event(3))
    # A row written by an older Linewatch, which allowed labels before 0 s.
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO events (recording, start_s, end_s, label, created, updated)"
                     " VALUES ('old.parquet', -2.0, -1.0, 'x', '2024-01-01T00:00:00+00:00',"
                     " '2024-01-01T00:00:00+00:00')")
    with LabelStore(path) as store:
        events = store.list()
        assert [e.start_s for e in events] == [-2.0, 3.0]
        store.delete(int(events[0].id))  # type: ignore[arg-type]
    csv_path = tmp_path / "neg.csv"
    csv_path.write_text("recording,start_s,end_s,label,channel,note\nr,-1,2,x,,\n")
    with pytest.raises(LabelError, match=r"line 2: start_s -1 s is before"):
        import_file(csv_path)


def test_a_bad_last_row_rolls_back_a_streamed_import(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    rows = [f"r.parquet,{k},{k + 0.5},x,," for k in range(12_000)] + ["r.parquet,5,4,bad,,"]
    path.write_text("recording,start_s,end_s,label,channel,note\n" + "\n".join(rows) + "\n")
    with LabelStore(tmp_path / "labels.sqlite3") as store:
        with pytest.raises(LabelError, match="1 of 12001 rows are bad, nothing was imported"):
            import_into(store, path)
        assert len(store) == 0
        path.write_text("recording,start_s,end_s,label,channel,note\n" + "\n".join(rows[:-1]))
        assert import_into(store, path) == (12_000, 0)
        assert import_into(store, path) == (0, 12_000)  # the same file again: all skipped


def test_the_duplicate_check_uses_the_identity_index(tmp_path: Path) -> None:
    with LabelStore(tmp_path / "labels.sqlite3") as store:
        plan = store._conn().execute("EXPLAIN QUERY PLAN " + _INSERT_NEW,
                                     ("r", 0.0, 1.0, "x", "", "", "", "", "", "")).fetchall()
    assert "events_identity" in str(plan) and "events_by_label" not in str(plan)


@pytest.mark.slow
def test_import_time_grows_linearly_not_quadratically(tmp_path: Path) -> None:
    """10 k rows took 2.4 s and 50 k rows 76 s before (one duplicate lookup per row that
    scanned every event of the class); now 50 k rows of one class take a few seconds."""
    def run(n: int) -> float:
        path = tmp_path / f"l{n}.csv"
        path.write_text("recording,start_s,end_s,label,channel,note\n" + "".join(
            f"r{k % 5}.parquet,{k},{k + 0.5},unbalance,,n\n" for k in range(n)))
        with LabelStore(tmp_path / f"s{n}.sqlite3") as store:
            started = time.perf_counter()
            assert import_into(store, path) == (n, 0)
            return time.perf_counter() - started

    small, big = run(10_000), run(50_000)
    assert big < 60.0, big
    assert big / small < 15, (small, big)  # 5x the rows: ~5x the time, never ~25x
