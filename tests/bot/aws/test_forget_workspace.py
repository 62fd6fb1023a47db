"""Uninstalling the app deletes the workspace's jobs and files: both job stores, the S3 store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.local.job_store import SqliteJobStore
from bot.jobs import JobStore
from contract.jobs import JobResult
from tests.builders import make_job, make_spec

from .conftest import BUCKET, TABLE


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        with SqliteJobStore(tmp_path / "jobs.sqlite3") as sqlite:
            yield sqlite
    else:
        from bot.backends.aws.job_store import DynamoJobStore

        yield DynamoJobStore(TABLE, client=request.getfixturevalue("dynamodb_client"))


def test_forget_workspace_deletes_its_jobs_claims_and_columns(store: JobStore) -> None:
    ours, _ = store.create(make_job(team_id="T1", dedupe_key="event:Ev1"))
    older, _ = store.create(make_job(team_id=None))  # recorded before jobs had a team id
    theirs, _ = store.create(make_job(team_id="T2"))
    assert store.claim("event:Ev2") and store.take_lease("preview:F1", 60)
    store.remember_columns("F1", ["a", "b"])

    gone = store.forget_workspace("T1")

    assert sorted(gone) == sorted([ours.job_id, older.job_id])
    assert store.get(ours.job_id) is None and store.get(older.job_id) is None
    assert store.get(theirs.job_id) == theirs
    assert store.get_by_dedupe_key("event:Ev1") is None
    assert store.claim("event:Ev2") and store.take_lease("preview:F1", 60)
    assert store.columns_of("F1") is None
    assert store.forget_workspace("T1") == []


def keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_s3_delete_job_deletes_its_dataset_and_run_only(
    s3_store: S3ArtifactStore, s3_client: Any
) -> None:
    for job_id in ("job-1", "job-10"):
        s3_store.save_dataset(job_id, "churn.csv", iter([b"a,b\n1,2\n"]), max_bytes=1000)
        s3_store.save_spec(make_spec(job_id=job_id, output_uri=s3_store.output_uri(job_id)))
        s3_store.save_result(JobResult(job_id=job_id, status="succeeded"))
    s3_store.delete_job("job-1")
    left = keys(s3_client)
    assert left and all("job-10/" in key for key in left)
    s3_store.delete_job("job-1")  # nothing there: fine
