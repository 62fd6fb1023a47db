"""Retention on the local backend: ended jobs' datasets go at once, everything old goes later."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.backends.local.artifacts import LocalArtifactStore
from bot.backends.local.job_store import SqliteJobStore
from bot.backends.local.sweeper import Sweeper
from bot.jobs import Job
from contract.jobs import utc_now
from tests.builders import make_job

LONG_AGO = utc_now() - timedelta(days=45)


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[SqliteJobStore]:
    with SqliteJobStore(tmp_path / "jobs.sqlite3") as store:
        yield store


@pytest.fixture
def artifacts(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "data")


def stored(artifacts: LocalArtifactStore, job: Job, *, age_days: float = 0) -> None:
    """A dataset and a run folder for `job`, last changed `age_days` ago."""
    artifacts.save_dataset(job.job_id, "churn.csv", [b"a,b\n1,2\n"], 1000)
    (artifacts.run_dir(job.job_id)).mkdir(parents=True)
    (artifacts.run_dir(job.job_id) / "model.joblib").write_bytes(b"model")
    moment = (utc_now() - timedelta(days=age_days)).timestamp()
    for kind in ("datasets", "runs"):
        folder = artifacts.root / kind / job.job_id
        for path in (*folder.rglob("*"), folder):
            os.utime(path, (moment, moment))


def ended(jobs: SqliteJobStore, job: Job, status: str = "succeeded") -> None:
    assert jobs.transition(job.job_id, "running")
    assert jobs.transition(job.job_id, status)  # type: ignore[arg-type]


def test_an_ended_jobs_dataset_is_deleted_and_its_run_kept(
    jobs: SqliteJobStore, artifacts: LocalArtifactStore
) -> None:
    done, _ = jobs.create(make_job())
    waiting, _ = jobs.create(make_job())
    for job in (done, waiting):
        stored(artifacts, job)
    ended(jobs, done)
    assert Sweeper(jobs, artifacts, expiry_days=30).drop_ended_datasets() == [done.job_id]
    assert not (artifacts.root / "datasets" / done.job_id).exists()
    assert (artifacts.run_dir(done.job_id) / "model.joblib").is_file()
    assert artifacts.has_dataset(waiting.job_id)  # still queued: its file is needed


def test_keep_datasets_keeps_them(jobs: SqliteJobStore, artifacts: LocalArtifactStore) -> None:
    done, _ = jobs.create(make_job())
    stored(artifacts, done)
    ended(jobs, done, "failed")
    sweeper = Sweeper(jobs, artifacts, expiry_days=30, keep_datasets=True)
    assert sweeper.drop_ended_datasets() == []
    assert artifacts.has_dataset(done.job_id)


def test_what_is_older_than_the_expiry_goes_except_active_jobs(
    jobs: SqliteJobStore, artifacts: LocalArtifactStore
) -> None:
    old = make_job(created_at=LONG_AGO, updated_at=LONG_AGO)
    jobs.create(old)
    ended(jobs, old)
    jobs._conn().execute(  # it ended long ago too
        "UPDATE jobs SET updated_at = ? WHERE job_id = ?", (LONG_AGO.isoformat(), old.job_id)
    )
    stuck, _ = jobs.create(make_job(created_at=LONG_AGO, updated_at=LONG_AGO))  # still queued
    recent, _ = jobs.create(make_job())
    ended(jobs, recent)
    orphan = make_job()  # files whose row is gone
    for job, age in ((old, 45), (stuck, 45), (recent, 0), (orphan, 45)):
        stored(artifacts, job, age_days=age)
    jobs.claim("preview:C1:F1")
    jobs.remember_columns("F1", ["churned"])
    for table in ("claims", "file_columns"):
        jobs._conn().execute(f"UPDATE {table} SET created_at = ?", (LONG_AGO.isoformat(),))
    jobs.claim("preview:C1:F2")  # a fresh claim stays

    gone = Sweeper(jobs, artifacts, expiry_days=30).drop_expired()

    assert gone == sorted([old.job_id, orphan.job_id])
    assert jobs.get(old.job_id) is None
    assert artifacts.stored_ids() == {stuck.job_id, recent.job_id}
    assert jobs.get(stuck.job_id) is not None and jobs.get(recent.job_id) is not None
    assert jobs.claim("preview:C1:F1")  # forgotten, so claimable again
    assert not jobs.claim("preview:C1:F2")
    assert jobs.columns_of("F1") is None


def test_the_sweeper_runs_at_start_in_the_background(
    jobs: SqliteJobStore, artifacts: LocalArtifactStore
) -> None:
    done, _ = jobs.create(make_job())
    stored(artifacts, done)
    ended(jobs, done)
    sweeper = Sweeper(jobs, artifacts, expiry_days=30)
    sweeper.start()
    try:
        deadline = utc_now() + timedelta(seconds=10)
        while artifacts.has_dataset(done.job_id) and utc_now() < deadline:
            time.sleep(0.01)
        assert not artifacts.has_dataset(done.job_id)
    finally:
        sweeper.close()
