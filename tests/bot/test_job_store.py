"""What only the SQLite job store has: WAL mode and a file that outlives the bot.

The port's behaviour (dedupe, forward-only transitions, claims, lists, concurrency) is
tested on SQLite and DynamoDB alike in tests/bot/aws/test_job_store_contract.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.backends.local.job_store import SqliteJobStore
from bot.jobs import Job, can_transition, new_job_id


def make_job(**overrides: object) -> Job:
    values: dict[str, object] = {
        "job_id": new_job_id(),
        "user_id": "U1",
        "channel_id": "C1",
        "thread_ts": "1700000000.000100",
        "file_name": "churn.csv",
        "target": "churned",
        "file_id": "F1",
        "time_budget_s": 30,
        "exclude_columns": ("customer_id",),
    }
    values.update(overrides)
    return Job(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJobStore]:
    with SqliteJobStore(tmp_path / "jobs.sqlite3") as s:
        yield s


def test_wal_mode(store: SqliteJobStore) -> None:
    (mode,) = store._conn().execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_transition_table() -> None:
    assert can_transition("queued", "running")
    assert can_transition("running", "interrupted")
    assert not can_transition("succeeded", "running")
    assert not can_transition("running", "queued")
    assert not can_transition("failed", "failed")


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
        assert second.transition(running.job_id, "failed", error_code="bot_restarted")
    finally:
        second.close()
