"""`BatchLauncher` against moto's Batch (no Docker): submit, overrides, timeout, cancel."""

from __future__ import annotations

from typing import Any

import pytest
from moto.batch.models import batch_backends
from moto.batch_simple.models import BatchSimpleBackend
from moto.core import DEFAULT_ACCOUNT_ID

from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.launcher import (
    CANCEL_REASON,
    BatchLauncher,
    attempt_timeout_s,
    batch_job_name,
    job_id_from_batch_name,
)
from bot.backends.local.artifacts import ArtifactNotFound
from bot.jobs import Job
from tests.builders import make_job, spec_for

from .conftest import BUCKET, DEFINITION, MB, QUEUE, REGION
from .spy import Spy


@pytest.fixture
def staged(s3_store: S3ArtifactStore) -> tuple[Job, str]:
    """A job whose 3 MB dataset and spec the service has written."""
    job = make_job(job_id="3fa9c1b2", time_budget_s=600)
    dataset_uri = s3_store.save_dataset(job.job_id, job.file_name, [b"x" * (3 * MB)], 10 * MB)
    spec = spec_for(job, dataset_uri=dataset_uri, output_uri=s3_store.output_uri(job.job_id))
    return job, s3_store.save_spec(spec)


@pytest.fixture
def launcher(batch: Any, s3_store: S3ArtifactStore) -> BatchLauncher:
    return BatchLauncher(batch, job_queue=QUEUE, job_definition=DEFINITION, artifacts=s3_store)


def moto_job(job_id: str) -> Any:
    return batch_backends[DEFAULT_ACCOUNT_ID][REGION]._jobs[job_id]


def test_knows_no_queue_places_and_needs_no_start(launcher: BatchLauncher) -> None:
    assert launcher.queue_position("3fa9c1b2") is None  # Batch does not say
    assert not hasattr(launcher, "start")  # the completion Lambda reports, not the launcher


def test_submit(launcher: BatchLauncher, batch: Any, staged: tuple[Job, str]) -> None:
    job, spec_uri = staged
    assert spec_uri == f"s3://{BUCKET}/runs/3fa9c1b2/spec.json"
    launcher.submit(job, spec_uri)

    listed = batch.list_jobs(
        jobQueue=QUEUE, filters=[{"name": "JOB_NAME", "values": ["automl-3fa9c1b2"]}]
    )["jobSummaryList"]
    assert len(listed) == 1
    described = batch.describe_jobs(jobs=[listed[0]["jobId"]])["jobs"][0]
    assert described["jobName"] == "automl-3fa9c1b2"
    assert described["jobDefinition"].endswith(f"job-definition/{DEFINITION}:1")
    assert described["timeout"] == {"attemptDurationSeconds": attempt_timeout_s(600)}
    assert described["container"]["command"] == ["python", "-m", "training", "run", spec_uri]
    assert {"name": "AUTOML_JOB_ID", "value": "3fa9c1b2"} in described["container"]["environment"]
    # The bot's role may terminate only jobs tagged with its queue (infra/functions.py); the
    # others split the bill by job, channel and person, on the task too.
    assert described["tags"] == {
        "automl-queue": QUEUE,
        "automl-job-id": "3fa9c1b2",
        "automl-channel": job.channel_id,
        "automl-user": job.user_id,
    }
    # moto's description shows the definition's resources; the overrides are kept as sent.
    assert moto_job(listed[0]["jobId"]).container_overrides["resourceRequirements"] == [
        {"type": "VCPU", "value": "2"},
        {"type": "MEMORY", "value": "4096"},
    ]


def test_submit_sizes_from_the_dataset(s3_store: S3ArtifactStore, batch: Any) -> None:
    spy = Spy(batch)
    launcher = BatchLauncher(spy, job_queue=QUEUE, job_definition=DEFINITION, artifacts=s3_store)
    job = make_job(job_id="big1", file_name="sales.parquet", target="y", time_budget_s=3600)
    uri = s3_store.save_dataset(job.job_id, job.file_name, [b"p" * (60 * MB)], 100 * MB)
    spec = spec_for(job, dataset_uri=uri, output_uri=s3_store.output_uri(job.job_id))
    launcher.submit(job, s3_store.save_spec(spec))

    (submitted,) = [kwargs for name, kwargs in spy.calls if name == "submit_job"]
    assert submitted["containerOverrides"]["resourceRequirements"] == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "8192"},
    ]
    assert submitted["timeout"] == {"attemptDurationSeconds": 3600 + 600 + 360}
    # The tags go onto the ECS task too, where Fargate's cost is billed.
    assert submitted["propagateTags"] is True
    assert submitted["tags"]["automl-job-id"] == "big1"


def test_submit_errors_propagate(launcher: BatchLauncher, staged: tuple[Job, str]) -> None:
    job, spec_uri = staged
    launcher.job_queue = "no-such-queue"
    with pytest.raises(Exception, match="no-such-queue"):
        launcher.submit(job, spec_uri)
    with pytest.raises(ArtifactNotFound):
        launcher.submit(job, f"s3://{BUCKET}/runs/3fa9c1b2/missing.json")


def test_cancel_terminates_the_unfinished_batch_job(
    launcher: BatchLauncher, batch: Any, staged: tuple[Job, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def keep_running(self: BatchSimpleBackend, include_start_attempt: bool, job: Any) -> None:
        self.backend._jobs[job.job_id] = job
        job.status = "RUNNING"

    monkeypatch.setattr(BatchSimpleBackend, "_mark_job_as_finished", keep_running)
    job, spec_uri = staged
    launcher.submit(job, spec_uri)
    (summary,) = batch.list_jobs(jobQueue=QUEUE, jobStatus="RUNNING")["jobSummaryList"]

    launcher.cancel(job)

    terminated = moto_job(summary["jobId"])
    assert terminated.stop is True
    assert terminated.job_stopped_reason == CANCEL_REASON


def test_cancel_leaves_finished_and_unrelated_jobs_alone(
    launcher: BatchLauncher, batch: Any, staged: tuple[Job, str]
) -> None:
    job, spec_uri = staged
    launcher.submit(job, spec_uri)  # moto without Docker: SUCCEEDED at once
    spy = Spy(batch)
    launcher.batch = spy
    launcher.cancel(job)
    launcher.cancel(make_job(job_id="nosuchjob"))
    assert spy.names().count("get_paginator") == 2  # it looked for each job's Batch jobs
    assert "terminate_job" not in spy.names()


def test_attempt_timeout() -> None:
    assert attempt_timeout_s(0) == 600
    assert attempt_timeout_s(60) == 60 + 600 + 6
    assert attempt_timeout_s(1800) == 1800 + 600 + 180
    assert attempt_timeout_s(6 * 3600) == 6 * 3600 + 600 + 2160
    with pytest.raises(ValueError, match="negative"):
        attempt_timeout_s(-1)


def test_batch_job_names() -> None:
    assert batch_job_name("3fa9c1b2") == "automl-3fa9c1b2"
    assert job_id_from_batch_name("automl-3fa9c1b2") == "3fa9c1b2"
    assert job_id_from_batch_name("someone-else") is None
    assert job_id_from_batch_name("automl-") is None
    with pytest.raises(ValueError, match="Batch job name"):
        batch_job_name("v1.2")  # a valid job id, but Batch names allow no dots
    with pytest.raises(ValueError, match="job id"):
        batch_job_name("../x")
