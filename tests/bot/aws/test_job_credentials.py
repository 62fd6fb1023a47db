"""The credential issuer against moto's Batch (no Docker), STS and IAM.

Jobs are submitted by the real `BatchLauncher`, so the token checked is the one it sets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import boto3
import pytest
from moto.batch_simple.models import BatchSimpleBackend

from bot.aws_lambda.job_credentials import IssuerConfig, handler, issue, session_policy
from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.launcher import BatchLauncher
from contract import environment as env
from tests.builders import make_job, spec_for

from .conftest import BUCKET, DEFINITION, MB, QUEUE, REGION
from .spy import Spy

JOB = "3fa9c1b2"


@pytest.fixture
def status(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The status moto's Batch leaves submitted jobs in (it would end them at once)."""
    wanted = {"status": "RUNNING"}

    def stay(self: BatchSimpleBackend, include_start_attempt: bool, job: Any) -> None:
        self.backend._jobs[job.job_id] = job
        job.status = wanted["status"]

    monkeypatch.setattr(BatchSimpleBackend, "_mark_job_as_finished", stay)
    return wanted


@pytest.fixture
def data_role(aws: None) -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="automl-job-data", AssumeRolePolicyDocument=json.dumps({}))
    return str(role["Role"]["Arn"])


@pytest.fixture
def config(batch: Any, data_role: str) -> IssuerConfig:
    (queue,) = batch.describe_job_queues(jobQueues=[QUEUE])["jobQueues"]
    return IssuerConfig(bucket=BUCKET, job_queue=queue["jobQueueArn"], data_role_arn=data_role)


@pytest.fixture
def sts(aws: None) -> Spy:
    return Spy(boto3.client("sts", region_name=REGION))


def submit(
    batch: Any, store: S3ArtifactStore, job_id: str, *, queue: str = QUEUE
) -> dict[str, Any]:
    """Submit a job as the bot does; its Batch description (with the launcher's token)."""
    job = make_job(job_id=job_id, time_budget_s=600)
    dataset = store.save_dataset(job_id, job.file_name, [b"x" * MB], 10 * MB)
    spec = spec_for(job, dataset_uri=dataset, output_uri=store.output_uri(job_id))
    launcher = BatchLauncher(batch, job_queue=queue, job_definition=DEFINITION, artifacts=store)
    launcher.submit(job, store.save_spec(spec))
    (summary,) = [
        s
        for s in batch.list_jobs(jobQueue=queue)["jobSummaryList"]
        if s["jobName"].endswith(job_id)
    ]
    (described,) = batch.describe_jobs(jobs=[summary["jobId"]])["jobs"]
    return dict(described)


def token_of(described: dict[str, Any]) -> str:
    variables = {v["name"]: v["value"] for v in described["container"]["environment"]}
    return str(variables[env.JOB_TOKEN])


def request(described: dict[str, Any], **changes: str) -> dict[str, str]:
    fields = {"batch_job_id": described["jobId"], "job_id": JOB, "token": token_of(described)}
    return {**fields, **changes}


def error_of(answer: Mapping[str, object]) -> str:
    """The refusal's sentence (mypy: the answer is a JobCredentials or a refusal)."""
    return str(answer["error"])


def test_a_running_job_with_its_token_gets_credentials_for_its_own_files(
    batch: Any, s3_store: S3ArtifactStore, config: IssuerConfig, sts: Spy, status: dict[str, str]
) -> None:
    described = submit(batch, s3_store, JOB)

    answer = issue(request(described), config=config, batch=batch, sts=sts)

    assert set(answer) == {"access_key", "secret_key", "token", "expiry_time"}
    expiry = datetime.fromisoformat(answer["expiry_time"])
    assert timedelta(minutes=55) < expiry - datetime.now(UTC) <= timedelta(hours=1)
    ((name, call),) = sts.calls
    assert name == "assume_role"
    assert call["RoleArn"] == config.data_role_arn
    assert call["DurationSeconds"] == 3600
    assert call["RoleSessionName"] == f"automl-{JOB}"
    # The session policy allows exactly this job's dataset folder and run folder.
    policy = json.loads(call["Policy"])
    allowed = {
        (action, statement["Resource"])
        for statement in policy["Statement"]
        for action in statement["Action"]
        if statement["Effect"] == "Allow"
    }
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert allowed == {
        ("s3:GetObject", f"{bucket}/datasets/{JOB}/*"),
        ("s3:GetObject", f"{bucket}/runs/{JOB}/*"),
        ("s3:PutObject", f"{bucket}/runs/{JOB}/*"),
        ("s3:AbortMultipartUpload", f"{bucket}/runs/{JOB}/*"),
    }


def test_the_session_policy_reaches_no_other_job() -> None:
    policy = session_policy("arn:aws:s3:::b", JOB)
    resources = [s["Resource"] for s in policy["Statement"]]
    mine = [f"arn:aws:s3:::b/datasets/{JOB}/churn.csv", f"arn:aws:s3:::b/runs/{JOB}/model.joblib"]
    others = [
        "arn:aws:s3:::b/datasets/other/churn.csv",
        f"arn:aws:s3:::b/runs/{JOB}0/result.json",  # a job id that starts with this one
        f"arn:aws:s3:::other-bucket/runs/{JOB}/result.json",
        "arn:aws:s3:::b/runs/",
    ]
    assert all(any(fnmatchcase(key, r) for r in resources) for key in mine)
    assert not any(fnmatchcase(key, r) for key in others for r in resources)


@pytest.mark.parametrize(
    "case", ["wrong token", "empty token", "job id of another job", "unknown Batch job"]
)
def test_refuses_a_request_that_does_not_match_the_job(
    case: str,
    *,
    batch: Any,
    s3_store: S3ArtifactStore,
    config: IssuerConfig,
    sts: Spy,
    status: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    described = submit(batch, s3_store, JOB)
    other = submit(batch, s3_store, "other1")
    changes = {
        "wrong token": {"token": token_of(other)},  # a real token, of another job
        "empty token": {"token": ""},
        "job id of another job": {"job_id": "other1"},
        "unknown Batch job": {"batch_job_id": "00000000-0000-0000-0000-000000000000"},
    }[case]

    with caplog.at_level(logging.INFO):
        answer = issue(request(described, **changes), config=config, batch=batch, sts=sts)

    assert set(answer) == {"error"} and error_of(answer).endswith(".")
    assert sts.calls == []
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert token_of(described) not in line and token_of(other) not in line


@pytest.mark.parametrize("batch_status", ["RUNNABLE", "SUCCEEDED", "FAILED"])
def test_refuses_a_job_that_is_not_running(
    batch_status: str,
    *,
    batch: Any,
    s3_store: S3ArtifactStore,
    config: IssuerConfig,
    sts: Spy,
    status: dict[str, str],
) -> None:
    status["status"] = batch_status
    described = submit(batch, s3_store, JOB)

    answer = issue(request(described), config=config, batch=batch, sts=sts)

    assert "only a running job gets credentials" in error_of(answer)
    assert sts.calls == []


def test_a_starting_job_gets_credentials(
    batch: Any, s3_store: S3ArtifactStore, config: IssuerConfig, sts: Spy, status: dict[str, str]
) -> None:
    status["status"] = "STARTING"
    described = submit(batch, s3_store, JOB)
    assert "access_key" in issue(request(described), config=config, batch=batch, sts=sts)


def test_refuses_a_job_of_another_queue(
    batch: Any, s3_store: S3ArtifactStore, config: IssuerConfig, sts: Spy, status: dict[str, str]
) -> None:
    (queue,) = batch.describe_job_queues(jobQueues=[QUEUE])["jobQueues"]
    batch.create_job_queue(
        jobQueueName="someone-elses",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=queue["computeEnvironmentOrder"],
    )
    described = submit(batch, s3_store, JOB, queue="someone-elses")

    answer = issue(request(described), config=config, batch=batch, sts=sts)

    assert answer == {"error": f"Batch job {described['jobId']} is not on this stack's job queue."}
    assert sts.calls == []


def test_a_queue_configured_by_name_is_matched_by_arn(
    batch: Any, s3_store: S3ArtifactStore, config: IssuerConfig, sts: Spy, status: dict[str, str]
) -> None:
    described = submit(batch, s3_store, JOB)
    by_name = IssuerConfig(bucket=BUCKET, job_queue=QUEUE, data_role_arn=config.data_role_arn)
    assert "access_key" in issue(request(described), config=by_name, batch=batch, sts=sts)


@pytest.mark.parametrize("event", [None, "text", {}, {"batch_job_id": "x", "job_id": JOB}])
def test_refuses_a_malformed_request(
    event: Any, batch: Any, config: IssuerConfig, sts: Spy
) -> None:
    answer = issue(event, config=config, batch=batch, sts=sts)
    assert answer == {"error": "A credentials request needs a batch_job_id, a job_id and a token."}


def test_the_handler_reads_its_configuration_from_the_environment(
    batch: Any,
    s3_store: S3ArtifactStore,
    config: IssuerConfig,
    status: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(env.BUCKET, BUCKET)
    monkeypatch.setenv(env.JOB_QUEUE, config.job_queue)
    monkeypatch.setenv(env.JOB_DATA_ROLE, config.data_role_arn)
    described = submit(batch, s3_store, JOB)
    assert "access_key" in handler(request(described), None)
    assert "error" in handler(request(described, token="guess"), None)


def test_the_launcher_gives_each_job_its_own_token_and_the_issuer_name(
    batch: Any, s3_store: S3ArtifactStore, status: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        first, second = submit(batch, s3_store, JOB), submit(batch, s3_store, "other1")

    for described in (first, second):
        variables = {v["name"]: v["value"] for v in described["container"]["environment"]}
        assert variables[env.JOB_CREDENTIALS_FUNCTION] == "automl-job-credentials"
        assert len(variables[env.JOB_TOKEN]) >= 40  # 32 random bytes, URL-safe base64
    assert token_of(first) != token_of(second)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert ours and not any(token_of(first) in line for line in ours)
