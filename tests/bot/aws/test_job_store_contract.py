"""One contract, two job stores: SQLite (local) and DynamoDB (aws) behave the same.

The cases are those of tests/bot/test_job_store.py that say nothing about SQLite itself.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.local.job_store import DuplicateJobId, SqliteJobStore
from bot.jobs import STATUSES, ActiveLimitReached, Job, JobStore, Status
from bot.lifecycle import allowed
from tests.builders import make_job

StoreFactory = Callable[[], JobStore]


@pytest.fixture(params=["sqlite", "dynamodb"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Makes stores on one shared database (several of them: one bot, several containers)."""
    if request.param == "sqlite":
        opened: list[SqliteJobStore] = []

        def sqlite() -> JobStore:
            opened.append(SqliteJobStore(tmp_path / "jobs.sqlite3"))
            return opened[-1]

        yield sqlite
        for store in opened:
            store.close()
    else:
        from bot.backends.aws.job_store import DynamoJobStore

        from .conftest import TABLE

        client: Any = request.getfixturevalue("dynamodb_client")
        yield lambda: DynamoJobStore(TABLE, client=client)


@pytest.fixture
def store(new_store: StoreFactory) -> JobStore:
    return new_store()


def test_moves_a_job_exactly_as_the_lifecycle_table_allows(store: JobStore) -> None:
    """The atomic check each store makes is `bot.lifecycle`'s table, status for status."""
    path_to: dict[Status, list[Status]] = {
        "queued": [],
        "running": ["running"],
        "cancelled": ["cancelled"],
        **{end: ["running", end] for end in ("succeeded", "failed", "interrupted")},
    }
    for current, new in itertools.product(STATUSES, STATUSES):
        job, _ = store.create(make_job())
        for step in path_to[current]:
            assert store.transition(job.job_id, step)
        assert store.transition(job.job_id, new) == allowed(current, new), (current, new)


def test_create_and_get(store: JobStore) -> None:
    job = make_job(dedupe_key="Ev1", thread_ts=None, file_id=None, exclude_columns=())
    stored, created = store.create(job)
    assert created
    assert stored == job
    assert store.get(job.job_id) == job
    assert store.get("nope") is None
    assert store.get_by_dedupe_key("Ev1") == job
    assert store.get_by_dedupe_key("Ev2") is None


def test_column_lists_round_trip(store: JobStore) -> None:
    job = make_job(exclude_columns=("id", "notes"), keep_columns=("store_id", "refund amount"))
    store.create(job)
    stored = store.get(job.job_id)
    assert stored is not None
    assert stored.exclude_columns == ("id", "notes")
    assert stored.keep_columns == ("store_id", "refund amount")
    assert stored == job


def test_same_dedupe_key_returns_the_existing_job(store: JobStore) -> None:
    first, created = store.create(make_job(dedupe_key="Ev1"))
    again, created_again = store.create(make_job(dedupe_key="Ev1", target="other"))
    assert created and not created_again
    assert again == first
    assert len(store.list_for_channel("C1")) == 1


def test_no_dedupe_key_never_dedupes(store: JobStore) -> None:
    store.create(make_job())
    store.create(make_job())
    assert len(store.list_for_channel("C1")) == 2


def test_reused_job_id_is_an_error(store: JobStore) -> None:
    store.create(make_job(job_id="abc", dedupe_key="a"))
    with pytest.raises(DuplicateJobId):
        store.create(make_job(job_id="abc", dedupe_key="b"))
    with pytest.raises(DuplicateJobId):
        store.create(make_job(job_id="abc"))
    assert store.get_by_dedupe_key("b") is None  # the refused job left no dedupe record


def test_forward_transitions_with_fields(store: JobStore) -> None:
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


def test_none_clears_a_field(store: JobStore) -> None:
    job, _ = store.create(make_job())
    assert store.transition(job.job_id, "running", status_ts="1.1")
    assert store.transition(job.job_id, "failed", status_ts=None, error_code="x", result_path=None)
    got = store.get(job.job_id)
    assert got is not None
    assert (got.status_ts, got.error_code, got.result_path) == (None, "x", None)


def test_backward_and_repeated_transitions_are_refused(store: JobStore) -> None:
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
    assert store.get("missing") is None  # a refused transition creates nothing


def test_queued_job_can_be_cancelled_or_failed(store: JobStore) -> None:
    a, _ = store.create(make_job())
    b, _ = store.create(make_job())
    assert store.transition(a.job_id, "cancelled")
    assert store.transition(b.job_id, "failed", error_code="restart", error_message="bot restarted")
    got = store.get(b.job_id)
    assert got is not None and got.error_message == "bot restarted"


def test_transition_rejects_unknown_fields_and_statuses(store: JobStore) -> None:
    job, _ = store.create(make_job())
    with pytest.raises(TypeError):
        store.transition(job.job_id, "running", user_id="U2")
    with pytest.raises(ValueError, match="unknown"):
        store.transition(job.job_id, "done")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown"):
        store.list_by_status("done")  # type: ignore[arg-type]


def test_set_status_message(store: JobStore) -> None:
    job, _ = store.create(make_job())
    assert store.set_status_message(job.job_id, "1700000000.000300")
    got = store.get(job.job_id)
    assert got is not None and got.status_ts == "1700000000.000300"
    assert not store.set_status_message("missing", "1")
    assert store.get("missing") is None


def test_counts_and_lists(store: JobStore) -> None:
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
    assert store.list_for_channel("C1", limit=0) == []
    assert [j.job_id for j in store.list_for_user("U1")] == [b.job_id, a.job_id]
    assert [j.job_id for j in store.list_by_status("queued")] == [a.job_id, c.job_id]
    assert [j.job_id for j in store.list_by_status("queued", "running")] == [
        a.job_id,
        b.job_id,
        c.job_id,
    ]
    assert [j.job_id for j in store.list_by_status("running", "queued")] == [
        a.job_id,
        b.job_id,
        c.job_id,
    ]
    assert store.list_by_status() == []
    assert store.list_for_channel("C9") == []


def test_claim_once(store: JobStore) -> None:
    assert store.claim("preview:C1:F1")
    assert not store.claim("preview:C1:F1")
    assert store.claim("preview:C2:F1")


def _race(threads: int, work: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            result = work()
            with lock:
                results.append(result)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    running = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return results, errors


def test_concurrent_creates_with_one_dedupe_key_make_one_job(new_store: StoreFactory) -> None:
    stores = iter([new_store() for _ in range(8)])  # one per "container"
    lock = threading.Lock()

    def create() -> tuple[Job, bool]:
        with lock:
            mine = next(stores)
        return mine.create(make_job(dedupe_key="Ev-retry"))

    results, errors = _race(8, create)
    assert errors == []
    assert len(results) == 8
    assert sum(created for _, created in results) == 1
    assert len({job.job_id for job, _ in results}) == 1
    assert len(new_store().list_for_channel("C1")) == 1


def test_concurrent_transitions_only_one_wins(store: JobStore) -> None:
    job, _ = store.create(make_job())
    store.transition(job.job_id, "running")
    statuses = iter(["succeeded", "failed", "cancelled", "interrupted"] * 2)
    lock = threading.Lock()

    def move() -> bool:
        with lock:
            status = next(statuses)
        return store.transition(job.job_id, status)  # type: ignore[arg-type]

    wins, errors = _race(8, move)
    assert errors == []
    assert sorted(wins) == [False] * 7 + [True]


def test_concurrent_claims_only_one_wins(store: JobStore) -> None:
    wins, errors = _race(8, lambda: store.claim("preview:C1:F9"))
    assert errors == []
    assert sorted(wins) == [False] * 7 + [True]


def test_a_lease_is_held_until_given_back_or_run_out(store: JobStore) -> None:
    assert store.take_lease("preview-turn:U1", 60)
    assert not store.take_lease("preview-turn:U1", 60)
    assert store.take_lease("preview-turn:U2", 60)
    store.end_lease("preview-turn:U1")
    assert store.take_lease("preview-turn:U1", 60)
    assert store.take_lease("preview-turn:U3", 0.001)
    time.sleep(0.01)  # a holder that died: its lease ran out
    assert store.take_lease("preview-turn:U3", 60)


def test_racing_stores_give_a_lease_to_one(new_store: StoreFactory) -> None:
    """Separate stores stand for separate processes or Lambda containers."""
    stores = iter([new_store() for _ in range(8)])
    lock = threading.Lock()

    def take() -> bool:
        with lock:
            mine = next(stores)
        return mine.take_lease("preview-turn:U9", 60)

    wins, errors = _race(8, take)
    assert errors == []
    assert sorted(wins) == [False] * 7 + [True]


def test_racing_creates_past_the_per_person_limit_start_exactly_the_limit(
    new_store: StoreFactory,
) -> None:
    """The count and the write are one atomic step: N+5 racing requests make N jobs."""
    limit = 3
    stores = iter([new_store() for _ in range(limit + 5)])  # one per request handler
    lock = threading.Lock()

    def create() -> tuple[Job, bool]:
        with lock:
            mine = next(stores)
        return mine.create(make_job(), max_active=limit)

    results, errors = _race(limit + 5, create)
    assert len(results) == limit
    assert len(errors) == 5 and all(isinstance(e, ActiveLimitReached) for e in errors)
    store = new_store()
    assert store.count_active("U1") == limit
    # Someone else's slot is their own.
    assert store.create(make_job(user_id="U2"), max_active=1)[1]


def test_a_job_that_ends_frees_its_owners_slot(store: JobStore) -> None:
    first, _ = store.create(make_job(), max_active=1)
    with pytest.raises(ActiveLimitReached):
        store.create(make_job(), max_active=1)
    assert store.transition(first.job_id, "running")
    with pytest.raises(ActiveLimitReached):
        store.create(make_job(), max_active=1)
    assert store.transition(first.job_id, "succeeded")
    assert not store.transition(first.job_id, "failed")  # a repeated ending frees nothing
    second, created = store.create(make_job(), max_active=1)
    assert created
    assert store.transition(second.job_id, "cancelled")  # cancelled while queued
    assert store.create(make_job(), max_active=1)[1]
    with pytest.raises(ActiveLimitReached):
        store.create(make_job(), max_active=1)


def test_a_retry_gets_its_job_even_at_the_limit(store: JobStore) -> None:
    first, _ = store.create(make_job(dedupe_key="Ev1"), max_active=1)
    again, created = store.create(make_job(dedupe_key="Ev1"), max_active=1)
    assert (again.job_id, created) == (first.job_id, False)


def test_previewed_columns_and_released_claims(store: JobStore) -> None:
    assert store.columns_of("F1") is None
    store.remember_columns("F1", ["gekündigt", "churned"])
    assert store.columns_of("F1") == ["gekündigt", "churned"]
    assert store.claim("train:k") and not store.claim("train:k")
    store.release("train:k")
    assert store.claim("train:k")


def test_keeps_a_jobs_kind_and_the_model_it_scores_with(store: JobStore) -> None:
    training = make_job()
    prediction = make_job(kind="predict", model_job_id=training.job_id, dedupe_key="Ev-predict")
    store.create(training)
    store.create(prediction)
    assert store.get(training.job_id) == training
    assert (training.kind, training.model_job_id) == ("train", None)
    again = store.get(prediction.job_id)
    assert again is not None and (again.kind, again.model_job_id) == ("predict", training.job_id)
    assert store.get_by_dedupe_key("Ev-predict") == prediction
    assert [j.kind for j in store.list_for_user("U1")] == ["predict", "train"]
