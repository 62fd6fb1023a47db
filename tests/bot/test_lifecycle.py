"""The job lifecycle: its transition table, the moves it refuses, its repairs, and that it is
the only code that changes a job's status. On the real SQLite store (the Dynamo store shares
its contract: tests/bot/aws/test_job_store_contract.py)."""

from __future__ import annotations

import ast
import itertools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.backends.local.job_store import SqliteJobStore
from bot.jobs import ACTIVE, STATUSES, TERMINAL, Status
from bot.lifecycle import REPAIRS, TRANSITIONS, JobLifecycle, allowed, sources
from tests.builders import make_job

BOT = Path(__file__).resolve().parents[2] / "bot"

LEGAL = {
    ("queued", "running"),
    ("queued", "failed"),
    ("queued", "cancelled"),
    ("running", "succeeded"),
    ("running", "failed"),
    ("running", "interrupted"),
    ("running", "cancelled"),
}
ALL_PAIRS = list(itertools.product(STATUSES, STATUSES))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJobStore]:
    with SqliteJobStore(tmp_path / "jobs.sqlite3") as opened:
        yield opened


@pytest.fixture
def lifecycle(store: SqliteJobStore) -> JobLifecycle:
    return JobLifecycle(store)


def job_in(lifecycle: JobLifecycle, status: Status) -> str:
    """A recorded job moved to `status` by the lifecycle's own legal moves."""
    job, _ = lifecycle.record(make_job())
    if status == "running":
        assert lifecycle.start(job.job_id)
    elif status == "cancelled":
        assert lifecycle.cancel(job.job_id)
    elif status != "queued":
        assert lifecycle.start(job.job_id)
        assert lifecycle.end(job.job_id, status)
    return job.job_id


def move(lifecycle: JobLifecycle, job_id: str, new: Status) -> bool:
    """Ask the lifecycle for the one operation that leads to `new`."""
    if new == "running":
        return lifecycle.start(job_id)
    if new == "cancelled":
        return lifecycle.cancel(job_id)
    return lifecycle.end(job_id, new, error_code="x" if new == "failed" else None)


def status_of(store: SqliteJobStore, job_id: str) -> Status:
    job = store.get(job_id)
    assert job is not None
    return job.status


# ---- the table -------------------------------------------------------------------------------


def test_the_table_is_exactly_the_legal_moves() -> None:
    assert set(TRANSITIONS) == LEGAL
    assert all(TRANSITIONS.values())  # each move says what makes it


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS)
def test_allowed_follows_the_table(current: Status, new: Status) -> None:
    assert allowed(current, new) == ((current, new) in LEGAL)


def test_an_ended_job_never_moves_and_only_active_jobs_do() -> None:
    movers = {current for current, _ in TRANSITIONS}
    assert movers == set(ACTIVE)
    assert not movers & TERMINAL
    assert "queued" not in {new for _, new in TRANSITIONS}  # nothing goes back to waiting


def test_sources_read_the_table() -> None:
    assert sources("running") == ["queued"]
    assert sources("succeeded") == ["running"]
    assert sources("failed") == ["queued", "running"]
    assert sources("queued") == []
    with pytest.raises(ValueError, match="unknown job status"):
        sources("done")  # type: ignore[arg-type]


@pytest.mark.parametrize(("pair", "via"), list(REPAIRS.items()))
def test_a_repair_passes_through_a_status_only_its_source_reaches(
    pair: tuple[Status, Status], via: Status
) -> None:
    source, target = pair
    assert not allowed(source, target)
    assert allowed(source, via) and allowed(via, target)
    assert sources(via) == [source]  # so moving to `via` cannot start from anywhere else


# ---- legal and illegal moves on a store --------------------------------------------------------


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_every_legal_move_is_made(
    lifecycle: JobLifecycle, store: SqliteJobStore, current: Status, new: Status
) -> None:
    job_id = job_in(lifecycle, current)
    assert move(lifecycle, job_id, new)
    assert status_of(store, job_id) == new


ILLEGAL = [
    (current, new)
    for current, new in ALL_PAIRS
    if (current, new) not in LEGAL and (current, new) not in REPAIRS and new != "queued"
]


@pytest.mark.parametrize(("current", "new"), ILLEGAL)
def test_every_illegal_move_is_refused_and_logged(
    lifecycle: JobLifecycle,
    store: SqliteJobStore,
    caplog: pytest.LogCaptureFixture,
    current: Status,
    new: Status,
) -> None:
    job_id = job_in(lifecycle, current)
    before = store.get(job_id)

    with caplog.at_level(logging.INFO, logger="bot.lifecycle"):
        assert not move(lifecycle, job_id, new)

    assert store.get(job_id) == before  # nothing changed, not even updated_at
    assert job_id in caplog.text


def test_calls_wrong_in_every_status_raise(lifecycle: JobLifecycle) -> None:
    job_id = job_in(lifecycle, "running")
    for not_an_ending in ("queued", "running", "cancelled"):
        with pytest.raises(ValueError, match="not how a job ends"):
            lifecycle.end(job_id, not_an_ending)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a new job is queued"):
        lifecycle.record(make_job(status="running"))


def test_record_stores_a_queued_job_once_per_user_action(
    lifecycle: JobLifecycle, store: SqliteJobStore
) -> None:
    first, created = lifecycle.record(make_job(dedupe_key="Ev1"))
    again, created_again = lifecycle.record(make_job(dedupe_key="Ev1"))

    assert (created, created_again) == (True, False)
    assert again.job_id == first.job_id
    assert status_of(store, first.job_id) == "queued"


def test_end_records_the_result_and_the_error(
    lifecycle: JobLifecycle, store: SqliteJobStore
) -> None:
    job_id = job_in(lifecycle, "running")

    assert lifecycle.end(
        job_id, "failed", result_path="runs/x/result.json", error_code="oom", error_message="Out."
    )

    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.result_path, job.error_code, job.error_message) == (
        "failed",
        "runs/x/result.json",
        "oom",
        "Out.",
    )


def test_a_repeated_ending_changes_nothing(lifecycle: JobLifecycle, store: SqliteJobStore) -> None:
    job_id = job_in(lifecycle, "running")
    assert lifecycle.end(job_id, "succeeded", result_path="first")

    assert not lifecycle.end(job_id, "failed", error_code="late")
    assert not lifecycle.end(job_id, "succeeded", result_path="second")

    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.result_path, job.error_code) == ("succeeded", "first", None)


def test_a_job_that_is_not_there_is_refused(lifecycle: JobLifecycle) -> None:
    assert not lifecycle.start("missing")
    assert not lifecycle.cancel("missing")
    assert not lifecycle.end("missing", "failed")


# ---- repairs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["succeeded", "interrupted"])
def test_an_ending_whose_start_was_lost_is_repaired(
    lifecycle: JobLifecycle,
    store: SqliteJobStore,
    caplog: pytest.LogCaptureFixture,
    ending: Status,
) -> None:
    job_id = job_in(lifecycle, "queued")  # the started event never came

    with caplog.at_level(logging.INFO, logger="bot.lifecycle"):
        assert lifecycle.end(job_id, ending, result_path="runs/x/result.json")

    assert status_of(store, job_id) == ending
    assert "repaired queued -> running" in caplog.text


def test_a_failure_before_the_start_needs_no_repair(
    lifecycle: JobLifecycle, store: SqliteJobStore, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = job_in(lifecycle, "queued")  # a bad file, a refused launch, a restart

    with caplog.at_level(logging.INFO, logger="bot.lifecycle"):
        assert lifecycle.end(job_id, "failed", error_code="no_result")

    assert status_of(store, job_id) == "failed"
    assert "repaired" not in caplog.text


@pytest.mark.parametrize("current", ["cancelled", "succeeded", "failed", "interrupted"])
def test_no_repair_revives_an_ended_job(
    lifecycle: JobLifecycle, store: SqliteJobStore, current: Status
) -> None:
    job_id = job_in(lifecycle, current)

    assert not lifecycle.end(job_id, "succeeded")
    assert status_of(store, job_id) == current


def test_a_cancel_racing_a_start_has_one_winner(
    lifecycle: JobLifecycle, store: SqliteJobStore
) -> None:
    job_id = job_in(lifecycle, "queued")
    assert lifecycle.cancel(job_id)
    assert not lifecycle.start(job_id)  # the launcher must not start it now
    assert status_of(store, job_id) == "cancelled"


# ---- one owner -------------------------------------------------------------------------------


def _calls(path: Path, is_call: Callable[[ast.Attribute], bool]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(BOT.parent)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and is_call(node.func)
    ]


def test_only_the_lifecycle_changes_a_job_status() -> None:
    """No code under bot/ but bot/lifecycle.py calls `JobStore.transition` or `.create`."""

    def store_write(func: ast.Attribute) -> bool:
        return func.attr == "transition" or (
            func.attr == "create" and "job" in ast.unparse(func.value).lower()
        )

    offenders = [
        where
        for path in sorted(BOT.rglob("*.py"))
        if path != BOT / "lifecycle.py"
        for where in _calls(path, store_write)
    ]
    assert offenders == []
    assert _calls(BOT / "lifecycle.py", store_write)  # the check does see them, where they are
