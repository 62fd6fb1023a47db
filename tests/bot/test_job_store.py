"""The SQLite job store: dedupe, forward-only transitions, counts, threads, restarts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.backends.local.job_store import DuplicateJobId, SqliteJobStore
from bot.jobs import Job, JobStore, can_transition, new_job_id


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


def test_implements_the_port(store: SqliteJobStore) -> None:
    assert isinstance(store, JobStore)


def test_wal_mode(store: SqliteJobStore) -> None:
    (mode,) = store._conn().execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_create_and_get(store: SqliteJobStore) -> None:
    job = make_job(dedupe_key="Ev1")
    stored, created = store.create(job)
    assert created
    assert stored == job
    assert store.get(job.job_id) == job
    assert store.get("nope") is None
    assert store.get_by_dedupe_key("Ev1") == job


def test_same_dedupe_key_returns_the_existing_job(store: SqliteJobStore) -> None:
    first, created = store.create(make_job(dedupe_key="Ev1"))
    again, created_again = store.create(make_job(dedupe_key="Ev1", target="other"))
    assert created and not created_again
    assert again == first
    assert len(store.list_for_channel("C1")) == 1


def test_no_dedupe_key_never_dedupes(store: SqliteJobStore) -> None:
    store.create(make_job())
    store.create(make_job())
    assert len(store.list_for_channel("C1")) == 2


def test_reused_job_id_is_an_error(store: SqliteJobStore) -> None:
    store.create(make_job(job_id="abc", dedupe_key="a"))
    with pytest.raises(DuplicateJobId):
        store.create(make_job(job_id="abc", dedupe_key="b"))


def test_forward_transitions_with_fields(store: SqliteJobStore) -> None:
    job, _ = store.create(make_job())
    assert store.transition(job.job_id, "running", status_ts="1700000000.000200")
    assert store.transition(job.job_id, "succeeded", result_path="runs/x/result.json")
    done = store.get(job.job_id)
    assert done is not None
    assert done.status == "succeeded"
    assert done.status_ts == "1700000000.000200"
    assert done.result_path == "runs/x/result.json"
    assert done.updated_at >= job.updated_at
    assert done.created_at == job.created_at


def test_backward_and_repeated_transitions_are_refused(store: SqliteJobStore) -> None:
    job, _ = store.create(make_job())
    assert not store.transition(job.job_id, "succeeded")  # queued -> succeeded skips running
    assert store.transition(job.job_id, "running")
    assert not store.transition(job.job_id, "running")
    assert not store.transition(job.job_id, "queued")
    assert store.transition(job.job_id, "succeeded")
    assert not store.transition(job.job_id, "succeeded")
    assert not store.transition(job.job_id, "running")
    assert not store.transition(job.job_id, "failed", error_code="late")
    final = store.get(job.job_id)
    assert final is not None
    assert final.status == "succeeded" and final.error_code is None
    assert not store.transition("missing", "running")


def test_queued_job_can_be_cancelled_or_failed(store: SqliteJobStore) -> None:
    a, _ = store.create(make_job())
    b, _ = store.create(make_job())
    assert store.transition(a.job_id, "cancelled")
    assert store.transition(b.job_id, "failed", error_code="restart", error_message="bot restarted")
    got = store.get(b.job_id)
    assert got is not None and got.error_message == "bot restarted"


def test_transition_rejects_unknown_fields_and_statuses(store: SqliteJobStore) -> None:
    job, _ = store.create(make_job())
    with pytest.raises(TypeError):
        store.transition(job.job_id, "running", user_id="U2")
    with pytest.raises(ValueError, match="unknown"):
        store.transition(job.job_id, "done")  # type: ignore[arg-type]


def test_transition_table() -> None:
    assert can_transition("queued", "running")
    assert can_transition("running", "interrupted")
    assert not can_transition("succeeded", "running")
    assert not can_transition("running", "queued")
    assert not can_transition("failed", "failed")


def test_set_status_message(store: SqliteJobStore) -> None:
    job, _ = store.create(make_job())
    assert store.set_status_message(job.job_id, "1700000000.000300")
    got = store.get(job.job_id)
    assert got is not None and got.status_ts == "1700000000.000300"
    assert not store.set_status_message("missing", "1")


def test_counts_and_lists(store: SqliteJobStore) -> None:
    a, _ = store.create(make_job(user_id="U1", channel_id="C1"))
    b, _ = store.create(make_job(user_id="U1", channel_id="C2"))
    c, _ = store.create(make_job(user_id="U2", channel_id="C1"))
    d, _ = store.create(make_job(user_id="U2", channel_id="C1"))
    store.transition(b.job_id, "running")
    store.transition(d.job_id, "cancelled")
    assert store.count_active() == 3
    assert store.count_active("U1") == 2
    assert store.count_active("U2") == 1
    assert store.count_active("U3") == 0
    assert [j.job_id for j in store.list_for_channel("C1")] == [d.job_id, c.job_id, a.job_id]
    assert [j.job_id for j in store.list_for_channel("C1", limit=1)] == [d.job_id]
    assert [j.job_id for j in store.list_for_user("U1")] == [b.job_id, a.job_id]
    assert [j.job_id for j in store.list_by_status("queued")] == [a.job_id, c.job_id]
    assert [j.job_id for j in store.list_by_status("queued", "running")] == [
        a.job_id,
        b.job_id,
        c.job_id,
    ]
    assert store.list_by_status() == []


def test_concurrent_creates_with_one_dedupe_key_make_one_job(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    barrier = threading.Barrier(8)
    results: list[tuple[Job, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            result = store.create(make_job(dedupe_key="Ev-retry"))
            with lock:
                results.append(result)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()

    assert errors == []
    assert len(results) == 8
    assert sum(created for _, created in results) == 1
    assert len({job.job_id for job, _ in results}) == 1
    with SqliteJobStore(tmp_path / "jobs.sqlite3") as reopened:
        assert len(reopened.list_for_channel("C1")) == 1


def test_concurrent_transitions_only_one_wins(store: SqliteJobStore) -> None:
    job, _ = store.create(make_job())
    store.transition(job.job_id, "running")
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def worker(status: str) -> None:
        barrier.wait()
        wins.append(store.transition(job.job_id, status))  # type: ignore[arg-type]

    threads = [
        threading.Thread(target=worker, args=(s,))
        for s in ["succeeded", "failed", "cancelled", "interrupted"] * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]


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
