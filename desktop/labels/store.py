"""The label store: every labelled event, in one SQLite file in the user data dir.

Design choices, and why:

* **WAL journal.** Readers never block the writer and the writer never blocks readers, so
  the labels panel can refresh while a fine-tune job reads its events on another thread,
  and a commit is one append to the ``-wal`` file, which is what makes a kill -9 or a
  crash harmless: an unfinished transaction is simply not in the log on reopen.
* **synchronous=FULL.** In WAL mode ``NORMAL`` already survives a process crash, but a
  power cut may lose the last commits. Labels are hours of an engineer's attention and
  plant PCs do lose power; they are written by hand a few per minute, so the cost of an
  fsync per commit (milliseconds) is never felt. Bulk imports are one transaction, one
  fsync.
* **One connection per thread**, all opened with a busy timeout: threads (and other
  processes, such as ``linewatch labels import`` while the window is open) wait for each
  other's write lock instead of failing with "database is locked". Writes start with
  ``BEGIN IMMEDIATE`` so a read-then-write (update, delete) takes the write lock before
  reading and cannot fail half-way when another writer got there first.
* **Schema versioned with ``PRAGMA user_version``** and a list of migrations, each applied
  in its own transaction (SQLite DDL is transactional), so a crash mid-upgrade leaves the
  file at the old version or the new one, never between.
* **Ids are AUTOINCREMENT**: a deleted event's id is never given to another event, so an
  undo command that still holds an old id can never touch the wrong event.
* A file that is not a label store (not SQLite, damaged, another program's database, or
  a newer Linewatch's) is reported as a :class:`LabelError` and left exactly as it was.
"""

from __future__ import annotations

import builtins
import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from desktop.core.paths import data_dir
from desktop.core.tasks import TaskState
from desktop.labels.event import FIELDS, LabelError, LabelEvent, normalize_timestamp, utc_now

STORE_NAME = "labels.sqlite3"
#: Seconds a writer waits for another's write lock before giving up with a clear message.
BUSY_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Migration:
    """Statements that take the schema from ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the events table", (
        """CREATE TABLE events (
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
        )""",
    )),
    Migration(2, "per-channel labels; fast lookups by recording and time, and by label", (
        "ALTER TABLE events ADD COLUMN channel TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX events_by_recording ON events (recording, start_s)",
        "CREATE INDEX events_by_label ON events (label)",
    )),
    # Without it the duplicate check of an import ("is this event already stored?") was
    # answered through events_by_label, a scan of every event of that class: quadratic.
    Migration(3, "an index for the duplicate check of imports", (
        "CREATE INDEX events_identity ON events (recording, start_s, end_s, label, channel)",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1].version

_COLUMNS = ("id", "recording", "start_s", "end_s", "label", "channel", "note", "source",
            "author", "created", "updated")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM events"


def default_store_path() -> Path:
    return data_dir() / STORE_NAME


def _contains(haystack: str | None, needle: str | None) -> bool:
    """Case-blind substring test for ``list(text=…)``: SQLite's LIKE folds ASCII only,
    and engineers write notes in their own language ("Lager läuft unrund")."""
    return bool(haystack and needle is not None and needle.casefold() in haystack.casefold())


def _row_to_event(row: Sequence[object]) -> LabelEvent:
    return LabelEvent.from_store(dict(zip(_COLUMNS, row, strict=True)))

_INSERT_COLUMNS = FIELDS
_INSERT = (f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})")
#: The same insert, skipped when an event with this identity is already stored (forced
#: onto the identity index: the planner would otherwise pick events_by_label).
_INSERT_NEW = (f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) "
               f"SELECT {', '.join(f'?{i}' for i in range(1, len(_INSERT_COLUMNS) + 1))} "
               "WHERE NOT EXISTS (SELECT 1 FROM events INDEXED BY events_identity WHERE "
               "recording = ?1 AND start_s = ?2 AND end_s = ?3 AND label = ?4 AND "
               "channel = ?5 AND note = ?6)")
_EXISTS = ("SELECT 1 FROM events INDEXED BY events_identity WHERE recording = ? AND "
           "start_s = ? AND end_s = ? AND label = ? AND channel = ? AND note = ? LIMIT 1")
#: Rows per executemany in :meth:`LabelStore.import_events` (also its cancellation step).
IMPORT_BATCH = 5000


def _insert_values(event: LabelEvent) -> tuple[object, ...]:
    return (event.recording, event.start_s, event.end_s, event.label, event.channel,
            event.note, event.source, event.author, event.created, event.updated)


class LabelStore:
    """Labelled events in a SQLite file; safe to use from several threads at once.

    Call :meth:`close` (or use it as a context manager) when done; ``close`` must not run
    while another thread is still inside a store method.
    """

    def __init__(self, path: Path | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S
                 ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        if self.path.is_dir():
            raise LabelError(f"{self.path} is a folder, not a label store file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LabelError(f"cannot create the folder for the label store {self.path}: "
                             f"{exc.strerror or exc}") from None
        try:
            self._open_schema()
        except BaseException:
            self.close()
            raise

    # -- connections --------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        with self._translate("open"):
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE … COMMIT),
            # never opened behind our back by the sqlite3 module.
            # check_same_thread=False only so close() may close every thread's connection;
            # each connection is otherwise used by the thread that made it.
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s,
                                   isolation_level=None, check_same_thread=False)
        with self._lock:
            self._connections.append(conn)
        with self._translate("open"):
            # Read first: on a file that is not a database this fails before anything is
            # written (the WAL pragma below would otherwise be the first write).
            conn.execute("PRAGMA user_version").fetchone()
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            conn.create_function("lw_contains", 2, _contains, deterministic=True)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise LabelError(f"the label store {self.path} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        """sqlite3 errors as one line the user can act on (bugs still raise as bugs)."""
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.Error as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text or "corrupt" in text:
                message = (f"{self.path} is damaged or is not a Linewatch label store "
                           f"({text}); it was left untouched: move it away to start a new "
                           "store (`sqlite3 FILE .recover` may save its labels)")
            elif "locked" in text or "busy" in text:
                message = (f"the label store {self.path} stayed busy for more than "
                           f"{self.busy_timeout_s:g} s (another program is writing to it); "
                           "try again")
            elif "disk is full" in text or "disk I/O error" in text:
                message = (f"cannot {doing} the label store {self.path}: {text}; nothing of "
                           "this change was saved and the store is intact: free some space "
                           "on that disk and try again")
            elif "readonly" in text:
                message = f"the label store {self.path} is read-only here ({text})"
            else:
                message = f"cannot {doing} the label store {self.path}: {text}"
            raise LabelError(message) from None

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        conn = self._conn()
        with self._translate(doing):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT (disk full), so the connection is usable again.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    # -- schema -------------------------------------------------------------------------------
    def _open_schema(self) -> None:
        conn = self._conn()
        with self._translate("open"):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LabelError(f"{self.path} was written by a newer Linewatch (label store "
                                 f"version {version}, this one reads up to {SCHEMA_VERSION});"
                                 " update Linewatch to open it")
            if version == 0:
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                ).fetchone()[0]
                if tables:
                    raise LabelError(f"{self.path} is a SQLite database of another program, "
                                     "not a Linewatch label store; it was left untouched")
            # Persistent in the file; must run outside a transaction.
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LabelError(f"the label store {self.path} cannot use a write-ahead log "
                                 f"(journal mode stays {mode!r}); is it on a network share?")
        for migration in MIGRATIONS:
            self._apply(migration)

    def _apply(self, migration: Migration) -> None:
        with self._write(f"upgrade (to version {migration.version})") as conn:
            # Read again inside the transaction: another process may have just upgraded.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= migration.version:
                return
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")

    @property
    def schema_version(self) -> int:
        with self._translate("read"):
            return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    # -- writing ------------------------------------------------------------------------------
    @staticmethod
    def _insert(conn: sqlite3.Connection, event: LabelEvent) -> LabelEvent:
        cursor = conn.execute(_INSERT, _insert_values(event))
        row = conn.execute(f"{_SELECT} WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _row_to_event(row)

    def add(self, event: LabelEvent) -> LabelEvent:
        """Store ``event`` as a new row and return it with its new id.

        Any ``event.id`` is ignored: ids belong to this store, so an event restored by undo
        or copied from another store is always added, never merged into an existing row.
        """
        with self._write("add to") as conn:
            return self._insert(conn, event)

    def add_many(self, events: Iterable[LabelEvent], *, skip_existing: bool = False
                 ) -> list[LabelEvent]:
        """Add all ``events`` in one transaction (an import is all or nothing).

        With ``skip_existing``, an event whose recording, span, label, channel and note are
        already in the store is not added again, so importing the same file twice (or a
        colleague's file that contains your labels) does not double them. Returns the
        events actually added.
        """
        added: list[LabelEvent] = []
        with self._write("import into") as conn:
            for event in events:
                if skip_existing and conn.execute(_EXISTS, _insert_values(event)[:6]).fetchone():
                    continue
                added.append(self._insert(conn, event))
        return added

    def import_events(self, events: Iterable[LabelEvent], *, skip_existing: bool = True,
                      task: TaskState | None = None) -> tuple[int, int]:
        """Add a stream of events in one transaction; returns (added, skipped).

        See :meth:`import_rows`, which this feeds.
        """
        return self.import_rows((_insert_values(e) for e in events),
                                skip_existing=skip_existing, task=task)

    def import_rows(self, rows: Iterable[tuple[object, ...]], *, skip_existing: bool = True,
                    task: TaskState | None = None) -> tuple[int, int]:
        """Add validated rows (``FIELDS`` order, see :func:`checked_fields`) in one
        transaction; returns (added, skipped as already stored).

        The bulk path of ``linewatch labels import``: rows go in ``IMPORT_BATCH`` at a time
        (``executemany``, the duplicate check inside the same statement on the identity
        index), nothing is returned per row, so a million events take a minute or less and
        memory stays one batch. ``rows`` may be a lazy reader that raises
        :class:`LabelError` after its last row (a file with bad rows): the whole transaction
        is then rolled back and nothing is imported. ``task`` gets a report per batch (a
        cancellation point; cancelling also rolls everything back).
        """
        sql = _INSERT_NEW if skip_existing else _INSERT
        conn = self._conn()
        with self._translate("import into"):
            # A bigger page cache for the four indexes a million rows grow (bounded: 64 MiB),
            # back to the default afterwards.
            previous_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
            conn.execute("PRAGMA cache_size = -65536")
        try:
            return self._import_batches(conn, sql, rows, task)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"PRAGMA cache_size = {int(previous_cache)}")

    def _import_batches(self, conn: sqlite3.Connection, sql: str,
                        rows: Iterable[tuple[object, ...]], task: TaskState | None
                        ) -> tuple[int, int]:
        total = 0
        with self._write("import into"):
            before = conn.total_changes
            batch: builtins.list[tuple[object, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= IMPORT_BATCH:
                    conn.executemany(sql, batch)
                    total += len(batch)
                    batch.clear()
                    if task is not None:
                        task.report(None, f"{total:,} label events read")
            if batch:
                conn.executemany(sql, batch)
                total += len(batch)
            added = conn.total_changes - before
        return added, total - added

    def update(self, event: LabelEvent) -> LabelEvent:
        """Replace the stored event with ``event.id`` by ``event``; ``created`` is kept
        from the store (it records when the label was first made), ``updated`` is now."""
        if event.id is None:
            raise LabelError("cannot update a label event that was never stored (no id)")
        with self._write("update") as conn:
            cursor = conn.execute(
                "UPDATE events SET recording = ?, start_s = ?, end_s = ?, label = ?, "
                "channel = ?, note = ?, source = ?, author = ?, updated = ? WHERE id = ?",
                (event.recording, event.start_s, event.end_s, event.label, event.channel,
                 event.note, event.source, event.author, utc_now(), event.id))
            if cursor.rowcount == 0:
                raise LabelError(f"no label event with id {event.id} (deleted meanwhile?)")
            return _row_to_event(conn.execute(f"{_SELECT} WHERE id = ?", (event.id,))
                                 .fetchone())

    def delete(self, event_id: int) -> LabelEvent:
        """Delete one event and return it as it was, so undo can add it back."""
        with self._write("delete from") as conn:
            row = conn.execute(f"{_SELECT} WHERE id = ?", (event_id,)).fetchone()
            if row is None:
                raise LabelError(f"no label event with id {event_id} (deleted meanwhile?)")
            conn.execute("DELETE FROM events WHERE id = ?", (event_id,))
            return _row_to_event(row)

    # -- reading ------------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[object] = ()
               ) -> builtins.list[tuple[object, ...]]:
        with self._translate("read"):
            return self._conn().execute(sql, params).fetchall()

    def get(self, event_id: int) -> LabelEvent:
        """The event with this id; a :class:`LabelError` if there is none."""
        rows = self._query(f"{_SELECT} WHERE id = ?", (event_id,))
        if not rows:
            raise LabelError(f"no label event with id {event_id}")
        return _row_to_event(rows[0])

    def list(self, recording: str | None = None, label: str | None = None,
             since: str | datetime | None = None, text: str | None = None
             ) -> builtins.list[LabelEvent]:
        """Events ordered by recording, then start time.

        ``recording`` and ``label`` match exactly; ``since`` keeps events created at or
        after that time (ISO 8601 text or datetime, zone-less = UTC); ``text`` keeps
        events whose label, note or recording contains it, ignoring case.
        """
        where: list[str] = []
        params: list[object] = []
        if recording is not None:
            where.append("recording = ?")
            params.append(recording)
        if label is not None:
            where.append("label = ?")
            params.append(label.strip())
        if since is not None:
            where.append("created >= ?")
            params.append(normalize_timestamp(since, "since"))
        if text:
            where.append("(lw_contains(label, ?) OR lw_contains(note, ?)"
                         " OR lw_contains(recording, ?))")
            params += [text, text, text]
        sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
        rows = self._query(sql + " ORDER BY recording, start_s, id", params)
        return [_row_to_event(row) for row in rows]

    def labels(self) -> builtins.list[tuple[str, int]]:
        """(label, number of events), most used first, ties alphabetical so quick keys
        1–9 do not shuffle between two equally used classes."""
        rows = self._query("SELECT label, count(*) AS n FROM events GROUP BY label "
                           "ORDER BY n DESC, label")
        return [(str(label), int(str(n))) for label, n in rows]

    def recordings(self) -> builtins.list[str]:
        """Every recording that has at least one label, sorted."""
        return [str(r) for (r,) in self._query(
            "SELECT DISTINCT recording FROM events ORDER BY recording")]

    def __len__(self) -> int:
        return int(str(self._query("SELECT count(*) FROM events")[0][0]))

    # -- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close every thread's connection. Safe to call twice."""
        self._closed = True
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabelStore({str(self.path)!r})"
