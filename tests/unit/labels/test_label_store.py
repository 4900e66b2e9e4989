"""LabelStore on real SQLite files: CRUD, filters, migrations, damage and two writing threads."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.labels.event import LabelError, LabelEvent
from desktop.labels.store import SCHEMA_VERSION, LabelStore, Migration


def make(recording: str = "run.parquet", start: float = 1.0, end: float = 2.0,
         label: str = "unbalance", **more: object) -> LabelEvent:
    return LabelEvent(id=None, recording=recording, start_s=start, end_s=end, label=label,
                      **more)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path):
    with LabelStore(tmp_path / "labels.sqlite3") as s:
        yield s


def test_default_path_is_in_the_user_data_dir(linewatch_home: Path) -> None:
    with LabelStore() as s:
        assert s.path == linewatch_home / "data" / "labels.sqlite3"
        assert s.path.exists()


def test_file_settings_wal_full_sync_foreign_keys(store: LabelStore) -> None:
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.schema_version == SCHEMA_VERSION == 3
    # The journal mode is kept in the file, so any other program's connection sees WAL too.
    with sqlite3.connect(store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_add_get_update_delete(store: LabelStore) -> None:
    added = store.add(make(note="bearing noise, then a knock", channel="ch2", source="demo",
                           author="ana"))
    assert added.id is not None
    assert store.get(added.id) == added
    assert (added.note, added.channel, added.source, added.author) == (
        "bearing noise, then a knock", "ch2", "demo", "ana")

    moved = store.update(dataclasses.replace(added, start_s=1.5, label="misalignment"))
    assert moved.id == added.id and moved.start_s == 1.5 and moved.label == "misalignment"
    assert moved.created == added.created and moved.updated >= added.updated
    assert store.get(added.id) == moved

    deleted = store.delete(added.id)
    assert deleted == moved
    with pytest.raises(LabelError, match=f"no label event with id {added.id}"):
        store.get(added.id)
    with pytest.raises(LabelError, match="no label event"):
        store.delete(added.id)
    with pytest.raises(LabelError, match="no label event"):
        store.update(moved)
    with pytest.raises(LabelError, match="never stored"):
        store.update(make())


def test_undo_of_a_delete_gets_a_new_id_and_ids_are_never_reused(store: LabelStore) -> None:
    first = store.add(make())
    deleted = store.delete(first.id)  # type: ignore[arg-type]
    restored = store.add(deleted)  # the id in the event is ignored
    assert restored.id != first.id
    assert dataclasses.replace(restored, id=first.id) == deleted
    store.delete(restored.id)  # type: ignore[arg-type]
    # AUTOINCREMENT: even the highest id, once deleted, is not handed out again.
    assert store.add(make()).id not in (first.id, restored.id)


def test_list_orders_by_recording_then_start_and_filters(store: LabelStore) -> None:
    store.add(make("b.parquet", 5, 6, "normal"))
    store.add(make("a.parquet", 3, 4, "unbalance", note="Lager läuft UNRUND"))
    store.add(make("a.parquet", 1, 2, "normal"))
    store.add(make("b.parquet", 0.5, 1, "unbalance", note="loose bolt"))
    assert [(e.recording, e.start_s) for e in store.list()] == [
        ("a.parquet", 1), ("a.parquet", 3), ("b.parquet", 0.5), ("b.parquet", 5)]
    assert [e.start_s for e in store.list(recording="b.parquet")] == [0.5, 5]
    assert [e.start_s for e in store.list(label="unbalance")] == [3, 0.5]
    assert [e.start_s for e in store.list(recording="a.parquet", label="normal")] == [1]
    # Text search ignores case beyond ASCII (SQLite's LIKE would not).
    assert [e.start_s for e in store.list(text="läuft unrund")] == [3]
    assert [e.start_s for e in store.list(text="LÄUFT")] == [3]
    assert [e.start_s for e in store.list(text="BOLT")] == [0.5]
    assert len(store.list(text="b.parq")) == 2
    assert store.list(text="%") == []  # no SQL wildcards
    assert len(store) == 4


def test_list_since_uses_creation_time(store: LabelStore) -> None:
    store.add(make(start=1, end=2, created="2024-01-01T00:00:00Z"))
    store.add(make(start=3, end=4, created="2024-06-01T12:00:00+02:00"))
    assert [e.start_s for e in store.list(since="2024-06-01T10:00:00Z")] == [3]
    assert [e.start_s for e in store.list(since="2024-06-01T10:00:01Z")] == []
    assert len(store.list(since=datetime(2023, 1, 1, tzinfo=UTC))) == 2
    assert len(store.list(since=datetime.now(UTC) - timedelta(days=1))) == 0
    with pytest.raises(LabelError, match="ISO 8601"):
        store.list(since="last week")


def test_labels_most_used_first_and_recordings(store: LabelStore) -> None:
    for label, n in (("normal", 2), ("unbalance", 3), ("bearing", 2), ("loose", 1)):
        for k in range(n):
            store.add(make(f"r{k}.parquet", k, k + 1, label))
    assert store.labels() == [("unbalance", 3), ("bearing", 2), ("normal", 2), ("loose", 1)]
    assert store.recordings() == ["r0.parquet", "r1.parquet", "r2.parquet"]


def test_add_many_is_one_transaction_and_can_skip_existing(store: LabelStore) -> None:
    store.add(make(start=1, end=2))
    added = store.add_many([make(start=1, end=2), make(start=3, end=4)], skip_existing=True)
    assert [e.start_s for e in added] == [3]
    assert len(store.add_many([make(start=1, end=2)])) == 1
    assert len(store) == 3


def test_add_many_rolls_back_everything_when_one_insert_fails(store: LabelStore) -> None:
    def events():
        yield make(start=10, end=11)
        yield make(start=12, end=13)
        raise LabelError("the importer found a bad row half-way")

    with pytest.raises(LabelError, match="half-way"):
        store.add_many(events())
    assert len(store) == 0
    store.add(make())  # the connection is usable after the rollback
    assert len(store) == 1


def write_v1_store(path: Path) -> None:
    """A version-1 label store as the first release wrote it: no channel column, no index."""
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            recording TEXT NOT NULL CHECK (recording <> ''),
            start_s REAL NOT NULL,
            end_s REAL NOT NULL,
            label TEXT NOT NULL CHECK (label <> ''),
            note TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            CHECK (start_s < end_s)
        );
        INSERT INTO events (recording, start_s, end_s, label, note, source, author, created,
                            updated)
        VALUES ('old.parquet', 2.0, 3.0, 'unbalance', 'from v1', 'demo', 'ana',
                '2024-01-01T00:00:00.000000+00:00', '2024-01-01T00:00:00.000000+00:00'),
               ('old.parquet', 0.5, 1.0, 'normal', '', 'demo', 'ana',
                '2024-01-02T00:00:00.000000+00:00', '2024-01-02T00:00:00.000000+00:00');
        PRAGMA user_version = 1;
    """)
    conn.commit()
    conn.close()


def test_a_version_1_store_is_migrated_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    write_v1_store(path)
    with LabelStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        events = store.list()
        assert [(e.start_s, e.label, e.channel, e.note) for e in events] == [
            (0.5, "normal", "", ""), (2.0, "unbalance", "", "from v1")]
        added = store.add(make("old.parquet", 5, 6, channel="ch3"))
        assert store.get(added.id).channel == "ch3"  # type: ignore[arg-type]
        indexes = {row[0] for row in store._conn().execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"events_by_recording", "events_by_label"} <= indexes
        plan = " ".join(str(row) for row in store._conn().execute(
            "EXPLAIN QUERY PLAN SELECT * FROM events WHERE recording = ? ORDER BY start_s",
            ("old.parquet",)))
        assert "events_by_recording" in plan
    # Opening again applies nothing twice.
    with LabelStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION and len(store) == 3


def test_a_failing_migration_leaves_the_previous_version(store: LabelStore) -> None:
    broken = Migration(SCHEMA_VERSION + 1, "a step that fails half-way", (
        "CREATE TABLE half_done (x INTEGER)",
        "ALTER TABLE no_such_table ADD COLUMN y TEXT",
    ))
    with pytest.raises(LabelError, match="upgrade"):
        store._apply(broken)
    assert store.schema_version == SCHEMA_VERSION
    tables = {row[0] for row in store._conn().execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables


def test_a_file_that_is_not_a_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite3"
    junk = b"these are not the labels you are looking for\n" * 200
    path.write_bytes(junk)
    with pytest.raises(LabelError, match="damaged or is not a Linewatch label store") as info:
        LabelStore(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_bytes() == junk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.sqlite3"]


def test_a_damaged_page_is_reported_not_raised_as_sqlite_error(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite3"
    with LabelStore(path) as store:
        store.add_many(make(start=k, end=k + 1, note="x" * 2000) for k in range(200))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page:6 * page] = b"\xff" * (3 * page)  # wreck a few b-tree pages
    path.write_bytes(bytes(data))
    with pytest.raises(LabelError, match="damaged"), LabelStore(path) as store:
        store.list()
        store.labels()


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
    before = path.read_bytes()
    with pytest.raises(LabelError, match="another program"):
        LabelStore(path)
    assert path.read_bytes() == before


def test_a_store_from_a_newer_linewatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LabelError, match="newer Linewatch"):
        LabelStore(path)


def test_a_folder_is_not_a_store_and_a_closed_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="folder"):
        LabelStore(tmp_path)
    store = LabelStore(tmp_path / "s.sqlite3")
    store.close()
    store.close()
    with pytest.raises(LabelError, match="closed"):
        store.list()


def test_two_threads_each_add_500_events(store: LabelStore) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    ids: dict[str, list[int]] = {"a": [], "b": []}

    def writer(name: str) -> None:
        try:
            barrier.wait()
            for k in range(500):
                event = store.add(make(f"{name}.parquet", k, k + 0.5, f"label-{name}"))
                ids[name].append(int(event.id))  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids["a"]) | set(ids["b"])) == 1000
    assert len(store) == 1000
    assert store.labels() == [("label-a", 500), ("label-b", 500)]
    assert [e.start_s for e in store.list(recording="a.parquet")] == list(range(500))


def test_two_stores_on_one_file_write_at_once(tmp_path: Path) -> None:
    """Two LabelStore objects (as the window and `linewatch labels import` are) share the
    file through SQLite's locks and the busy timeout."""
    path = tmp_path / "shared.sqlite3"
    stores = [LabelStore(path), LabelStore(path)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            barrier.wait()
            for i in range(200):
                stores[k].add(make(f"s{k}.parquet", i, i + 1))
                if i % 50 == 0:
                    stores[k].update(dataclasses.replace(stores[k].list()[0], note=str(i)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    with LabelStore(path) as store:
        assert len(store) == 400
        assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
