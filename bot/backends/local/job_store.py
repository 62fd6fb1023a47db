"""`SqliteJobStore`: the local backend's job store, one SQLite file in WAL mode.

- One connection per thread (SQLite connections must not be shared across threads while in
  use); WAL lets readers run while one writer writes, and `busy_timeout` makes writers from
  other threads or processes wait instead of failing.
- Deduplication is a UNIQUE constraint on `dedupe_key`: concurrent creates with the same key
  race inside SQLite, and exactly one row wins.
- `create` checks the dedupe key and counts the owner's active jobs in the same write
  transaction (`BEGIN IMMEDIATE`) that inserts: racing creates cannot both pass a limit.
- A status change is one conditional UPDATE (`... WHERE status IN (allowed predecessors)`),
  so two threads moving the same job cannot both succeed.
- A file written by an older bot is brought up to date when it is opened: the columns added
  since are added to it (`_ADDED_COLUMNS`), with defaults for the jobs already in it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.jobs import (
    ACTIVE,
    STATUSES,
    ActiveLimitReached,
    Job,
    Status,
    check_statuses,
    utc_now,
)
from bot.lifecycle import transition_sources

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id          TEXT PRIMARY KEY,
    status          TEXT NOT NULL CHECK (status IN ({statuses})),
    user_id         TEXT NOT NULL,
    channel_id      TEXT NOT NULL,
    thread_ts       TEXT,
    status_ts       TEXT,
    file_id         TEXT,
    file_name       TEXT NOT NULL,
    target          TEXT NOT NULL,
    task            TEXT NOT NULL,
    metric          TEXT NOT NULL,
    time_budget_s   INTEGER NOT NULL,
    exclude_columns TEXT NOT NULL,
    keep_columns    TEXT NOT NULL DEFAULT '[]',
    result_path     TEXT,
    error_code      TEXT,
    error_message   TEXT,
    dedupe_key      TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_channel ON jobs (channel_id, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_user ON jobs (user_id, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);
CREATE TABLE IF NOT EXISTS claims (
    key        TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    key   TEXT PRIMARY KEY,
    until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS file_columns (
    file_id    TEXT PRIMARY KEY,
    columns    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
""".format(statuses=", ".join(f"'{status}'" for status in STATUSES))

# Columns added to `jobs` after its first version: name -> definition for ALTER TABLE.
# The default fills in the jobs already stored (and rows an older bot still inserts).
_ADDED_COLUMNS = {
    "keep_columns": "TEXT NOT NULL DEFAULT '[]'",  # schema version 2
    "kind": "TEXT NOT NULL DEFAULT 'train'",  # schema version 3: prediction jobs
    "model_job_id": "TEXT",  # schema version 3
    "team_id": "TEXT",  # schema version 4: deleted by workspace when the app is uninstalled
    "share_to": "TEXT",  # schema version 4: `share=channel`
}

_COLUMNS = (
    "job_id",
    "status",
    "user_id",
    "channel_id",
    "thread_ts",
    "status_ts",
    "file_id",
    "file_name",
    "target",
    "task",
    "metric",
    "time_budget_s",
    "exclude_columns",
    "keep_columns",
    "kind",
    "model_job_id",
    "team_id",
    "share_to",
    "result_path",
    "error_code",
    "error_message",
    "dedupe_key",
    "created_at",
    "updated_at",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
_NEWEST_FIRST = "ORDER BY created_at DESC, rowid DESC"
_OLDEST_FIRST = "ORDER BY created_at ASC, rowid ASC"


class DuplicateJobId(ValueError):
    """A job with this id exists already (and it was not a dedupe hit)."""


class SqliteJobStore:
    """The `bot.jobs.JobStore` port on SQLite. `path` may be ":memory:" only for one thread."""

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self._target = str(path)
        self._timeout_s = timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        _add_missing_columns(conn)

    # ---- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._target,
                timeout=self._timeout_s,
                isolation_level=None,  # autocommit: every statement is its own transaction
                check_same_thread=False,  # only so close() may close it from another thread
            )
            conn.execute(f"PRAGMA busy_timeout={int(self._timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection. The store must not be used afterwards."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> SqliteJobStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- the port ------------------------------------------------------------------------

    def create(self, job: Job, *, max_active: int | None = None) -> tuple[Job, bool]:
        placeholders = ", ".join("?" for _ in _COLUMNS)
        conn = self._conn()
        # One write transaction: the dedupe look-up, the count and the insert see the same
        # rows, and a racing create waits for this one to commit.
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing = self.get_by_dedupe_key(job.dedupe_key) if job.dedupe_key else None
            if existing is None:
                if max_active is not None and self.count_active(job.user_id) >= max_active:
                    raise ActiveLimitReached(job.user_id)
                try:
                    conn.execute(
                        f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                        _to_row(job),
                    )
                except sqlite3.IntegrityError as exc:  # the primary key: a job id used twice
                    raise DuplicateJobId(f"job id {job.job_id!r} exists already") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return (existing, False) if existing is not None else (job, True)

    def get(self, job_id: str) -> Job | None:
        return self._one(f"{_SELECT} WHERE job_id = ?", (job_id,))

    def get_by_dedupe_key(self, dedupe_key: str) -> Job | None:
        return self._one(f"{_SELECT} WHERE dedupe_key = ?", (dedupe_key,))

    def list_for_channel(self, channel_id: str, limit: int = 20) -> list[Job]:
        return self._many(
            f"{_SELECT} WHERE channel_id = ? {_NEWEST_FIRST} LIMIT ?", (channel_id, limit)
        )

    def list_for_user(self, user_id: str, limit: int = 20) -> list[Job]:
        return self._many(f"{_SELECT} WHERE user_id = ? {_NEWEST_FIRST} LIMIT ?", (user_id, limit))

    def list_by_status(self, *statuses: Status) -> list[Job]:
        check_statuses(statuses)
        if not statuses:
            return []
        marks = ", ".join("?" for _ in statuses)
        return self._many(f"{_SELECT} WHERE status IN ({marks}) {_OLDEST_FIRST}", statuses)

    def count_active(self, user_id: str | None = None) -> int:
        active = sorted(ACTIVE)
        marks = ", ".join("?" for _ in active)
        sql = f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})"
        params: list[str] = list(active)
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        (count,) = self._conn().execute(sql, params).fetchone()
        return int(count)

    def transition(self, job_id: str, new_status: Status, **fields: Any) -> bool:
        allowed_from = transition_sources(new_status, fields)
        if not allowed_from:
            return False
        names = sorted(fields)
        assignments = ", ".join(["status = ?", "updated_at = ?", *(f"{n} = ?" for n in names)])
        marks = ", ".join("?" for _ in allowed_from)
        params = [new_status, _iso(utc_now()), *(fields[n] for n in names), job_id, *allowed_from]
        cursor = self._conn().execute(
            f"UPDATE jobs SET {assignments} WHERE job_id = ? AND status IN ({marks})", params
        )
        return cursor.rowcount == 1

    def set_status_message(self, job_id: str, status_ts: str) -> bool:
        cursor = self._conn().execute(
            "UPDATE jobs SET status_ts = ?, updated_at = ? WHERE job_id = ?",
            (status_ts, _iso(utc_now()), job_id),
        )
        return cursor.rowcount == 1

    def claim(self, key: str) -> bool:
        cursor = self._conn().execute(
            "INSERT INTO claims (key, created_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (key, _iso(utc_now())),
        )
        return cursor.rowcount == 1

    def release(self, key: str) -> None:
        self._conn().execute("DELETE FROM claims WHERE key = ?", (key,))

    def take_lease(self, key: str, seconds: float) -> bool:
        now = utc_now()
        cursor = self._conn().execute(
            "INSERT INTO leases (key, until) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET until = excluded.until WHERE leases.until <= ?",
            (key, _iso(now + timedelta(seconds=seconds)), _iso(now)),
        )
        return cursor.rowcount == 1

    def end_lease(self, key: str) -> None:
        self._conn().execute("DELETE FROM leases WHERE key = ?", (key,))

    def remember_columns(self, file_id: str, columns: list[str]) -> None:
        self._conn().execute(
            "INSERT INTO file_columns (file_id, columns, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (file_id) DO UPDATE "
            "SET columns = excluded.columns, created_at = excluded.created_at",
            (file_id, json.dumps(columns), _iso(utc_now())),
        )

    def columns_of(self, file_id: str) -> list[str] | None:
        row = (
            self._conn()
            .execute("SELECT columns FROM file_columns WHERE file_id = ?", (file_id,))
            .fetchone()
        )
        return list(json.loads(row[0])) if row is not None else None

    # ---- retention (bot/backends/local/sweeper.py) ---------------------------------------

    def forget_before(self, cutoff: datetime) -> list[str]:
        """Delete ended jobs last changed before `cutoff`, and older claims and columns.

        Returns the ids of the jobs deleted. Queued and running jobs are never deleted.
        """
        moment = _iso(cutoff)
        ended = sorted(set(STATUSES) - ACTIVE)
        marks = ", ".join("?" for _ in ended)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            where = f"status IN ({marks}) AND updated_at < ?"
            gone = [
                row[0]
                for row in conn.execute(f"SELECT job_id FROM jobs WHERE {where}", (*ended, moment))
            ]
            conn.execute(f"DELETE FROM jobs WHERE {where}", (*ended, moment))
            conn.execute("DELETE FROM claims WHERE created_at < ?", (moment,))
            conn.execute("DELETE FROM leases WHERE until < ?", (moment,))
            conn.execute("DELETE FROM file_columns WHERE created_at < ?", (moment,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return gone

    def forget_workspace(self, team_id: str) -> list[str]:
        """Delete the workspace's jobs (and those recorded before jobs carried a team id: a
        bot serves one workspace), every claim, lease and remembered column list (they name
        no workspace). Returns the ids of the jobs deleted; cancel the active ones first."""
        where = "team_id = ? OR team_id IS NULL"
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            gone = [
                row[0] for row in conn.execute(f"SELECT job_id FROM jobs WHERE {where}", (team_id,))
            ]
            conn.execute(f"DELETE FROM jobs WHERE {where}", (team_id,))
            for table in ("claims", "leases", "file_columns"):
                conn.execute(f"DELETE FROM {table}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return gone

    def job_ids(self) -> set[str]:
        """Every job id held, whatever its status (the sweeper keeps their folders)."""
        return {row[0] for row in self._conn().execute("SELECT job_id FROM jobs")}

    # ---- helpers -------------------------------------------------------------------------

    def _one(self, sql: str, params: tuple[Any, ...]) -> Job | None:
        row = self._conn().execute(sql, params).fetchone()
        return _from_row(row) if row is not None else None

    def _many(self, sql: str, params: tuple[Any, ...]) -> list[Job]:
        return [_from_row(row) for row in self._conn().execute(sql, params).fetchall()]


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Migrate a file an older bot created: add the columns it lacks, then mark the version.

    In one write transaction, so two processes opening the same old file cannot both add
    a column (the second waits, then finds it there).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        present = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in present:
                conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _iso(moment: datetime) -> str:
    # Fixed width, UTC: sorts as text in time order.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _to_row(job: Job) -> tuple[Any, ...]:
    values = {
        "job_id": job.job_id,
        "status": job.status,
        "user_id": job.user_id,
        "channel_id": job.channel_id,
        "thread_ts": job.thread_ts,
        "status_ts": job.status_ts,
        "file_id": job.file_id,
        "file_name": job.file_name,
        "target": job.target,
        "task": job.task,
        "metric": job.metric,
        "time_budget_s": job.time_budget_s,
        "exclude_columns": json.dumps(list(job.exclude_columns)),
        "keep_columns": json.dumps(list(job.keep_columns)),
        "kind": job.kind,
        "model_job_id": job.model_job_id,
        "team_id": job.team_id,
        "share_to": job.share_to,
        "result_path": job.result_path,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "dedupe_key": job.dedupe_key,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
    }
    return tuple(values[name] for name in _COLUMNS)


def _from_row(row: tuple[Any, ...]) -> Job:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["exclude_columns"] = tuple(json.loads(values["exclude_columns"]))
    values["keep_columns"] = tuple(json.loads(values["keep_columns"]))
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    values["updated_at"] = datetime.fromisoformat(values["updated_at"])
    return Job(**values)
