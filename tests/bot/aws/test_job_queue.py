"""AUTOML_MAX_CONCURRENT_JOBS on AWS: jobs past the limit wait in the job store, not in Batch,
with their place in the queue, and start when a running one ends (moto)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.aws_lambda.completion_handler import Completion
from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.job_store import DynamoJobStore
from bot.backends.aws.launcher import BatchLauncher
from bot.cost import FargatePrices
from bot.job_events import JobEventHandler
from bot.jobs import ActiveLimitReached, Job
from bot.lifecycle import JobLifecycle
from bot.notifier import Notifier
from bot.slack_client import make_client
from contract.jobs import utc_now
from tests.bot.aws_lambda.batch_event import attempt, batch_event
from tests.builders import make_job, spec_for
from tests.fakes.slack_api import FakeSlack, fake_slack

from .conftest import DEFINITION, QUEUE

__all__ = ["fake_slack"]


def submitted_to_batch(batch: Any) -> set[str]:
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=QUEUE, filters=[{"name": "JOB_NAME", "values": ["automl-*"]}]
    )
    return {s["jobName"].removeprefix("automl-") for p in pages for s in p["jobSummaryList"]}


def record(store: DynamoJobStore, artifacts: S3ArtifactStore, n: int, **fields: Any) -> Job:
    """A job as the service records and stages it, `n` seconds after the first."""
    job = make_job(
        job_id=f"0000000{n}", user_id=f"U{n}", created_at=utc_now() + timedelta(seconds=n)
    )
    job = replace(job, **fields)
    created, _ = store.create(job, max_active=1)
    dataset = artifacts.save_dataset(job.job_id, job.file_name, [b"a,b\n1,2\n"], 1024)
    artifacts.save_spec(
        spec_for(job, dataset_uri=dataset, output_uri=artifacts.output_uri(job.job_id))
    )
    return created


@pytest.fixture
def launcher(batch: Any, s3_store: S3ArtifactStore, dynamo_store: DynamoJobStore) -> BatchLauncher:
    return BatchLauncher(
        batch,
        job_queue=QUEUE,
        job_definition=DEFINITION,
        artifacts=s3_store,
        jobs=dynamo_store,
        max_concurrent=2,
    )


def test_a_job_past_the_limit_waits_with_its_place_and_starts_when_one_ends(
    launcher: BatchLauncher,
    batch: Any,
    s3_store: S3ArtifactStore,
    dynamo_store: DynamoJobStore,
    fake_slack: FakeSlack,
) -> None:
    jobs = [record(dynamo_store, s3_store, n) for n in (1, 2, 3)]
    for job in jobs:
        launcher.submit(job, s3_store.output_uri(job.job_id) + "/spec.json")

    assert submitted_to_batch(batch) == {"00000001", "00000002"}
    assert [launcher.queue_position(job.job_id) for job in jobs] == [None, None, 1]
    waiting = dynamo_store.get("00000003")
    assert waiting is not None and waiting.status == "queued"

    # The first job's Batch job ends: the completion Lambda ends it and fills the slot.
    events = JobEventHandler(
        JobLifecycle(dynamo_store),
        dynamo_store,
        s3_store,
        Notifier(make_client(fake_slack.bot_token, fake_slack.url), dynamo_store, s3_store),
    )
    completion = Completion(events=events, prices=FargatePrices(), launcher=launcher)
    ended = batch_event("00000001", "SUCCEEDED", attempts=[attempt(0, 60)])
    done = completion.handle(ended)

    assert done.endswith("submitted 00000003")
    assert submitted_to_batch(batch) == {"00000001", "00000002", "00000003"}
    assert launcher.queue_position("00000003") is None
    assert launcher.start_waiting() == []  # submitted once, whoever asks again


def test_the_per_person_limit_counts_a_waiting_job(
    launcher: BatchLauncher, s3_store: S3ArtifactStore, dynamo_store: DynamoJobStore
) -> None:
    for n in (1, 2, 3):
        record(dynamo_store, s3_store, n)
        launcher.start_waiting()
    assert launcher.queue_position("00000003") == 1

    again = make_job(job_id="00000004", user_id="U3")  # the waiting job's owner asks again
    with pytest.raises(ActiveLimitReached):
        dynamo_store.create(again, max_active=1)


def test_the_sweep_leaves_a_waiting_job_alone(
    launcher: BatchLauncher,
    batch: Any,
    s3_store: S3ArtifactStore,
    dynamo_store: DynamoJobStore,
    fake_slack: FakeSlack,
) -> None:
    for n in (1, 2, 3):
        record(dynamo_store, s3_store, n, created_at=utc_now() - timedelta(hours=1, seconds=-n))
        launcher.start_waiting()
    events = JobEventHandler(
        JobLifecycle(dynamo_store),
        dynamo_store,
        s3_store,
        Notifier(make_client(fake_slack.bot_token, fake_slack.url), dynamo_store, s3_store),
    )
    completion = Completion(
        events=events,
        prices=FargatePrices(),
        jobs=dynamo_store,
        batch=batch,
        job_queue=QUEUE,
        launcher=launcher,
    )
    completion._sweep()

    waiting = dynamo_store.get("00000003")
    assert waiting is not None and waiting.status == "queued"  # not "lost": it never left
