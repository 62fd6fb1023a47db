"""What only the SQLite job store has: WAL mode and a file that outlives the bot.

The port's behaviour (dedupe, forward-only transitions, claims, lists, concurrency) is
tested on SQLite and DynamoDB alike in tests/bot/aws/test_job_store_contract.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.backends.local.job_store import SqliteJobStore
from tests.builders import make_job


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJobStore]:
    with SqliteJobStore(tmp_path / "jobs.sqlite3") as s:
        yield s


def test_wal_mode(store: SqliteJobStore) -> None:
    (mode,) = store._conn().execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_reopening_the_file_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jobs.sqlite3"
    first = SqliteJobStore(path)
    running, _ = first.create(make_job(dedupe_key="Ev1"))
    queued, _ = first.create(make_job(dedupe_key="Ev2"))
    first.transition(running.job_id, "running", status_ts="1.2")
    first.close()

    second = SqliteJobStore(path)  # the bot restarted
    try:
        assert [j.job_id for j in second.list_by_status("running")] == [running.job_id]
        assert [j.job_id for j in second.list_by_status("queued")] == [queued.job_id]
        again, created = second.create(make_job(dedupe_key="Ev1"))
        assert not created and again.job_id == running.job_id
        assert again.status_ts == "1.2"
        assert again.exclude_columns == ("customer_id",)
        assert again.keep_columns == ("store_id", "refund amount")
        assert second.transition(running.job_id, "failed", error_code="bot_restarted")
    finally:
        second.close()


# The jobs table as the first bot created it, before keep_columns existed.
_VERSION_1_JOBS = """
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY, status TEXT NOT NULL, user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL, thread_ts TEXT, status_ts TEXT, file_id TEXT,
    file_name TEXT NOT NULL, target TEXT NOT NULL, task TEXT NOT NULL, metric TEXT NOT NULL,
    time_budget_s INTEGER NOT NULL, exclude_columns TEXT NOT NULL, result_path TEXT,
    error_code TEXT, error_message TEXT, dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
INSERT INTO jobs VALUES ('old1', 'running', 'U1', 'C1', '1.1', NULL, 'F1', 'churn.csv',
    'churned', 'auto', 'auto', 60, '["id"]', NULL, NULL, NULL, 'Ev-old',
    '2026-01-01T00:00:00.000000+00:00', '2026-01-01T00:00:00.000000+00:00');
PRAGMA user_version=1;
"""


def test_a_file_from_before_keep_columns_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(_VERSION_1_JOBS)
    old.close()

    with SqliteJobStore(path) as store:
        job = store.get("old1")
        assert job is not None
        assert job.keep_columns == () and job.exclude_columns == ("id",)
        assert job.kind == "train" and job.model_job_id is None  # schema version 3
        assert job.team_id is None and job.share_to is None  # schema version 4
        new, _ = store.create(
            make_job(kind="predict", model_job_id="old1", team_id="T1", share_to="channel")
        )
        assert store.get(new.job_id) == new
        (version,) = store._conn().execute("PRAGMA user_version").fetchone()
        assert version == 4
        assert store.transition("old1", "succeeded")

    with SqliteJobStore(path) as again:  # opening a migrated file changes nothing
        assert again.get(new.job_id) == new
        assert [j.job_id for j in again.list_by_status("succeeded")] == ["old1"]
