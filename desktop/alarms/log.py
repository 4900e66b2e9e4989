"""The alarm log: every raise, clear and acknowledge, in one SQLite file, crash-safe.

Each entry is one row of ``entries``: when it happened (``time``, ISO 8601 UTC with
milliseconds, the wall clock of the machine that logged it), what (``kind``: ``raise``,
``clear`` or ``acknowledge``), which ``rule``, ``channel`` and ``value`` (the value that
crossed the limit, or that was read when the alarm cleared; NULL when there is none),
``severity``, where (``source``: the live source or file; ``recording`` and ``time_s``: the
recording being written and the seconds from its first sample, to jump to the moment),
and for an acknowledgement ``user`` and ``comment``. A clear and an acknowledge point at the
raise they belong to (``alarm_id``), so :meth:`AlarmLog.alarms` gives one line per alarm:
raised when, cleared when, acknowledged by whom and when, with what comment.

Crash safety is the label store's (:mod:`desktop.labels.store`): WAL journal, ``synchronous
= FULL`` (an entry is on disk when :meth:`AlarmLog.record` returns: an alarm log that loses
the last alarm before a power cut is no alarm log), one connection per thread with a busy
timeout so the window and ``linewatch alarms`` share the file, ``BEGIN IMMEDIATE`` writes,
``PRAGMA user_version`` migrations, AUTOINCREMENT ids, and a file that is not an alarm log
left untouched with a one-line :class:`AlarmLogError`. Entries are never updated or
deleted: the log is an audit trail.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from desktop.core.errors import LinewatchError
from desktop.core.paths import data_dir

LOG_NAME = "alarms.sqlite3"
BUSY_TIMEOUT_S = 15.0
KINDS = ("raise", "clear", "acknowledge")


class AlarmLogError(LinewatchError):
    """The alarm log cannot be opened or written, or a request makes no sense (acknowledging
    an alarm that does not exist); the message says what to do."""


MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        """CREATE TABLE entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('raise', 'clear', 'acknowledge')),
            rule TEXT NOT NULL DEFAULT '',
            channel TEXT NOT NULL DEFAULT '',
            value REAL,
            severity TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            recording TEXT NOT NULL DEFAULT '',
            time_s REAL,
            user TEXT NOT NULL DEFAULT '',
            comment TEXT NOT NULL DEFAULT '',
            alarm_id INTEGER REFERENCES entries (id),
            CHECK ((kind = 'raise') = (alarm_id IS NULL))
        )""",
        "CREATE INDEX entries_by_time ON entries (time)",
        "CREATE INDEX entries_by_alarm ON entries (alarm_id, kind)",
    )),
    # A latching rule's alarm stays up after it clears, until acknowledged.
    (2, ("ALTER TABLE entries ADD COLUMN latch INTEGER NOT NULL DEFAULT 0",)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
COLUMNS = ("id", "time", "kind", "rule", "channel", "value", "severity", "source",
           "recording", "time_s", "user", "comment", "alarm_id", "latch")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM entries"


def utc_now() -> str:
    """Now as ISO 8601 UTC with milliseconds (``2026-12-07T21:05:21.123Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_log_path() -> Path:
    return data_dir() / LOG_NAME


@dataclass(frozen=True)
class AlarmEntry:
    """One row of the log (see the module doc for the fields)."""

    id: int
    time: str
    kind: str
    rule: str
    channel: str
    value: float | None
    severity: str
    source: str
    recording: str
    time_s: float | None
    user: str
    comment: str
    alarm_id: int | None
    latch: int = 0  # 1: raised by a latching rule (up until acknowledged)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["latch"] = bool(self.latch)
        return data


@dataclass(frozen=True)
class Alarm:
    """One alarm, from its raise to its clear and acknowledgement (None: not yet)."""

    id: int
    raised: str
    rule: str
    channel: str
    value: float | None
    severity: str
    source: str
    recording: str
    time_s: float | None
    cleared: str | None
    clear_value: float | None
    acknowledged: str | None
    acknowledged_by: str
    comment: str
    latch: bool = False

    @property
    def active(self) -> bool:
        """Still up: not cleared yet, or cleared but latched and not acknowledged."""
        return self.cleared is None or (self.latch and self.acknowledged is None)

    @property
    def latched(self) -> bool:
        """Its condition cleared, but it stays up until someone acknowledges it."""
        return self.cleared is not None and self.latch and self.acknowledged is None

    @property
    def needs_ack(self) -> bool:
        return self.acknowledged is None

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.update(active=self.active, latched=self.latched, needs_ack=self.needs_ack)
        return data


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class AlarmLog:
    """The alarm log file; safe to use from several threads and processes at once."""

    def __init__(self, path: Path | str | None = None, *,
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser() if path is not None else default_log_path()
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        if self.path.is_dir():
            raise AlarmLogError(f"{self.path} is a folder, not an alarm log file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AlarmLogError(f"cannot create the folder for the alarm log {self.path}: "
                                f"{exc.strerror or exc}") from None
        try:
            self._open_schema()
        except BaseException:
            self.close()
            raise

    # -- connections ------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise AlarmLogError(f"the alarm log {self.path} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._translate("open"):
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s,
                                       isolation_level=None, check_same_thread=False)
            with self._lock:
                self._connections.append(conn)
            with self._translate("open"):
                conn.execute("PRAGMA user_version").fetchone()  # fails first on a non-db
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.Error as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text or "corrupt" in text:
                message = (f"{self.path} is damaged or is not a Linewatch alarm log ({text}); "
                           "it was left untouched: move it away to start a new log")
            elif "locked" in text or "busy" in text:
                message = (f"the alarm log {self.path} stayed busy for more than "
                           f"{self.busy_timeout_s:g} s (another program is writing to it); "
                           "try again")
            elif "disk is full" in text or "disk I/O error" in text:
                message = (f"cannot {doing} the alarm log {self.path}: {text}; the log is "
                           "intact without this entry: free some space on that disk")
            elif "readonly" in text:
                message = f"the alarm log {self.path} is read-only here ({text})"
            else:
                message = f"cannot {doing} the alarm log {self.path}: {text}"
            raise AlarmLogError(message) from None

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._translate(doing):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _open_schema(self) -> None:
        conn = self._conn()
        with self._translate("open"):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise AlarmLogError(f"{self.path} was written by a newer Linewatch (alarm log "
                                    f"version {version}, this one reads up to "
                                    f"{SCHEMA_VERSION}); update Linewatch to open it")
            if version == 0:
                tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name NOT "
                                      "LIKE 'sqlite_%'").fetchone()[0]
                if tables:
                    raise AlarmLogError(f"{self.path} is a SQLite database of another "
                                        "program, not a Linewatch alarm log; it was left "
                                        "untouched")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise AlarmLogError(f"the alarm log {self.path} cannot use a write-ahead log "
                                    f"(journal mode stays {mode!r}); is it on a network "
                                    "share?")
        for number, statements in MIGRATIONS:
            with self._write(f"upgrade (to version {number})") as conn:
                if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(number)}")

    # -- writing ----------------------------------------------------------------------
    def _insert(self, conn: sqlite3.Connection, values: dict[str, object]) -> AlarmEntry:
        names = [c for c in COLUMNS if c != "id"]
        cursor = conn.execute(
            f"INSERT INTO entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [values.get(c) for c in names])
        row = conn.execute(f"{_SELECT} WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return AlarmEntry(*row)

    def raise_alarm(self, rule: str, channel: str = "", value: float | None = None, *,
                    severity: str = "", source: str = "", recording: str = "",
                    time_s: float | None = None, time: str | None = None,
                    latch: bool = False) -> AlarmEntry:
        """Log an alarm being raised (``latch``: by a latching rule, so it stays up after
        it clears until acknowledged); returns the entry (its id names the alarm)."""
        if not rule.strip():
            raise AlarmLogError("an alarm needs the name of the rule that raised it")
        with self._write("write to") as conn:
            return self._insert(conn, {
                "time": time or utc_now(), "kind": "raise", "rule": rule, "channel": channel,
                "value": _finite(value), "severity": severity, "source": source,
                "recording": recording, "time_s": _finite(time_s), "user": "", "comment": "",
                "alarm_id": None, "latch": int(bool(latch))})

    def _follow_up(self, kind: str, alarm_id: int, value: float | None, user: str,
                   comment: str, time: str | None, time_s: float | None) -> AlarmEntry:
        with self._write("write to") as conn:
            raised = conn.execute(f"{_SELECT} WHERE id = ? AND kind = 'raise'",
                                  (int(alarm_id),)).fetchone()
            if raised is None:
                raise AlarmLogError(f"there is no alarm {alarm_id} in {self.path}; "
                                    "`linewatch alarms list` shows their ids")
            done = conn.execute("SELECT time, user FROM entries WHERE alarm_id = ? AND "
                                "kind = ?", (int(alarm_id), kind)).fetchone()
            if done is not None:
                what = "acknowledged" if kind == "acknowledge" else "cleared"
                by = f" by {done[1]}" if done[1] else ""
                raise AlarmLogError(f"alarm {alarm_id} was already {what}{by} at {done[0]}")
            first = AlarmEntry(*raised)
            return self._insert(conn, {
                "time": time or utc_now(), "kind": kind, "rule": first.rule,
                "channel": first.channel, "value": _finite(value),
                "severity": first.severity, "source": first.source,
                "recording": first.recording, "time_s": _finite(time_s), "user": user,
                "comment": comment, "alarm_id": first.id, "latch": first.latch})

    def clear_alarm(self, alarm_id: int, value: float | None = None, *,
                    time: str | None = None, time_s: float | None = None) -> AlarmEntry:
        """Log that alarm ``alarm_id`` cleared (its condition is gone)."""
        return self._follow_up("clear", alarm_id, value, "", "", time, time_s)

    def acknowledge(self, alarm_id: int, user: str, comment: str = "", *,
                    time: str | None = None) -> AlarmEntry:
        """Log that ``user`` acknowledged alarm ``alarm_id``, with an optional comment.

        Raises :class:`AlarmLogError` for an unknown alarm, one already acknowledged, or
        no user name.
        """
        if not user.strip():
            raise AlarmLogError("an acknowledgement needs the name of who acknowledges")
        return self._follow_up("acknowledge", alarm_id, None, user.strip(), comment, time,
                               None)

    # -- reading ----------------------------------------------------------------------
    def entries(self, *, since: str | None = None, until: str | None = None,
                rule: str | None = None, channel: str | None = None,
                kinds: Sequence[str] | None = None, limit: int | None = None,
                recording: str | None = None) -> list[AlarmEntry]:
        """Log entries, oldest first, filtered by time (ISO text, inclusive), rule,
        channel, kind and recording."""
        where, args = self._filters(since, until, rule, channel, "")
        if recording is not None:
            where.append("recording = ?")
            args.append(recording)
        if kinds:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            args.extend(kinds)
        sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
        if limit is not None:  # the newest `limit`, still listed oldest first
            sql += " ORDER BY id DESC LIMIT ?"
            args.append(max(0, int(limit)))
        else:
            sql += " ORDER BY id"
        with self._translate("read"):
            rows = [AlarmEntry(*row) for row in self._conn().execute(sql, args)]
        return rows[::-1] if limit is not None else rows

    @staticmethod
    def _filters(since: str | None, until: str | None, rule: str | None,
                 channel: str | None, prefix: str) -> tuple[list[str], list[object]]:
        where: list[str] = []
        args: list[object] = []
        for column, op, value in (("time", ">=", since), ("time", "<=", until),
                                  ("rule", "=", rule), ("channel", "=", channel)):
            if value is not None:
                where.append(f"{prefix}{column} {op} ?")
                args.append(value)
        return where, args

    def alarms(self, *, since: str | None = None, until: str | None = None,
               rule: str | None = None, channel: str | None = None,
               active_only: bool = False, unacknowledged_only: bool = False,
               limit: int | None = None, recording: str | None = None) -> list[Alarm]:
        """One line per alarm (raise + its clear + its acknowledgement), oldest first;
        ``limit``: only the newest that many; ``recording``: only that recording's."""
        where, args = self._filters(since, until, rule, channel, "r.")
        where.insert(0, "r.kind = 'raise'")
        if recording is not None:
            where.append("r.recording = ?")
            args.append(recording)
        if active_only:
            where.append("(c.id IS NULL OR (r.latch = 1 AND a.id IS NULL))")
        if unacknowledged_only:
            where.append("a.id IS NULL")
        sql = ("SELECT r.id, r.time, r.rule, r.channel, r.value, r.severity, r.source, "
               "r.recording, r.time_s, c.time, c.value, a.time, coalesce(a.user, ''), "
               "coalesce(a.comment, ''), r.latch = 1 FROM entries r "
               "LEFT JOIN entries c ON c.alarm_id = r.id AND c.kind = 'clear' "
               "LEFT JOIN entries a ON a.alarm_id = r.id AND a.kind = 'acknowledge' "
               f"WHERE {' AND '.join(where)} ORDER BY r.id DESC")
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(0, int(limit)))
        with self._translate("read"):
            return [Alarm(*row[:-1], latch=bool(row[-1]))  # type: ignore[misc]
                    for row in self._conn().execute(sql, args)][::-1]

    def acknowledged(self, alarm_id: int) -> bool:
        """Whether alarm ``alarm_id`` has been acknowledged (False for an unknown id)."""
        with self._translate("read"):
            return self._conn().execute(
                "SELECT 1 FROM entries WHERE alarm_id = ? AND kind = 'acknowledge'",
                (int(alarm_id),)).fetchone() is not None

    def integrity(self) -> str:
        """SQLite's own check of the file: ``"ok"`` or what is wrong."""
        with self._translate("check"):
            return str(self._conn().execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        """Close every thread's connection. Safe to call twice."""
        self._closed = True
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> AlarmLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
