"""Prediction jobs on AWS under moto: the Batch job the launcher submits, the credentials the
issuer gives it (its own folders and the model it scores with), and the completion Lambda's
message in the thread."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.batch_simple.models import BatchSimpleBackend

from bot.aws_lambda import completion_handler
from bot.aws_lambda.job_credentials import IssuerConfig, issue
from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.launcher import BatchLauncher
from contract import environment as env
from contract.jobs import (
    ClassCount,
    ErrorInfo,
    PredictionResult,
    PredictionSpec,
    PredictionWarning,
)
from tests.bot.aws.test_lambda_handlers import a_job, deployed, store
from tests.bot.aws_lambda.batch_event import attempt, batch_event
from tests.bot.blocks import shown
from tests.builders import make_job
from tests.fakes.slack_api import FakeSlack, fake_slack

from .conftest import BUCKET, DEFINITION, MB, QUEUE, REGION
from .spy import Spy

__all__ = ["deployed", "fake_slack"]

MODEL_JOB = "a1b2c3d4"
JOB = "9f8e7d6c"
SHA = "ab" * 32


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> None:
    """Submitted jobs stay RUNNING (moto's Batch without Docker would end them at once)."""

    def stay(self: BatchSimpleBackend, include_start_attempt: bool, job: Any) -> None:
        self.backend._jobs[job.job_id] = job
        job.status = "RUNNING"

    monkeypatch.setattr(BatchSimpleBackend, "_mark_job_as_finished", stay)


def submit_prediction(batch: Any, store: S3ArtifactStore) -> dict[str, Any]:
    job = make_job(job_id=JOB, kind="predict", model_job_id=MODEL_JOB, file_name="new.csv")
    dataset = store.save_dataset(JOB, "new.csv", [b"x" * MB], 10 * MB)
    spec = PredictionSpec(
        job_id=JOB,
        model_job_id=MODEL_JOB,
        model_uri=f"{store.output_uri(MODEL_JOB)}/model.joblib",
        model_sha256=SHA,
        dataset_uri=dataset,
        file_name="new.csv",
        output_uri=store.output_uri(JOB),
    )
    launcher = BatchLauncher(batch, job_queue=QUEUE, job_definition=DEFINITION, artifacts=store)
    launcher.submit(job, store.save_spec(spec))
    (summary,) = batch.list_jobs(jobQueue=QUEUE)["jobSummaryList"]
    (described,) = batch.describe_jobs(jobs=[summary["jobId"]])["jobs"]
    return dict(described)


def test_a_prediction_is_a_batch_job_running_training_predict_with_its_model_named(
    batch: Any, s3_store: S3ArtifactStore, running: None
) -> None:
    described = submit_prediction(batch, s3_store)

    assert described["jobName"] == f"automl-{JOB}"
    container = described["container"]
    assert container["command"] == [
        "python",
        "-m",
        "training",
        "predict",
        f"s3://{BUCKET}/runs/{JOB}/spec.json",
    ]
    variables = {v["name"]: v["value"] for v in container["environment"]}
    assert variables[env.JOB_ID] == JOB
    assert variables[env.MODEL_JOB_ID] == MODEL_JOB


def test_the_issuer_adds_the_model_file_and_nothing_else_of_its_run(
    batch: Any, s3_store: S3ArtifactStore, running: None
) -> None:
    described = submit_prediction(batch, s3_store)
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="automl-job-data", AssumeRolePolicyDocument="{}")["Role"]
    (queue,) = batch.describe_job_queues(jobQueues=[QUEUE])["jobQueues"]
    config = IssuerConfig(BUCKET, queue["jobQueueArn"], role["Arn"])
    sts = Spy(boto3.client("sts", region_name=REGION))
    token = {v["name"]: v["value"] for v in described["container"]["environment"]}[env.JOB_TOKEN]

    answer = issue(
        {"batch_job_id": described["jobId"], "job_id": JOB, "token": token},
        config=config,
        batch=batch,
        sts=sts,
    )

    assert "error" not in answer
    ((_, call),) = sts.calls
    allowed = {
        (action, statement["Resource"])
        for statement in json.loads(call["Policy"])["Statement"]
        for action in statement["Action"]
    }
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert ("s3:GetObject", f"{bucket}/runs/{MODEL_JOB}/model.joblib") in allowed
    assert not [r for _, r in allowed if MODEL_JOB in r and not r.endswith("/model.joblib")]
    assert not [a for a, r in allowed if MODEL_JOB in r and a != "s3:GetObject"]


# ---- the completion Lambda ---------------------------------------------------------------------


def test_the_completion_lambda_posts_a_prediction_and_uploads_its_csv(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake = deployed
    job = a_job(
        dynamodb_client,
        fake,
        job_id=JOB,
        kind="predict",
        model_job_id=MODEL_JOB,
        file_name="new.csv",
        task="classification",
    )
    result = PredictionResult(
        job_id=JOB,
        model_job_id=MODEL_JOB,
        status="succeeded",
        file_name="new.csv",
        target="churned",
        task="classification",
        rows_scored=3,
        class_counts=[ClassCount(label="no", rows=2), ClassCount(label="yes", rows=1)],
        warnings=[
            PredictionWarning(
                kind="unseen_categories",
                columns=["plan"],
                sentence="“plan”: 1 row(s) have values the model never learned in training.",
            )
        ],
        predictions_csv="predictions.csv",
        with_reasons=True,
    )
    csv_bytes = b"plan,predicted_churned,probability_no,probability_yes,reasons\nA,no,0.9,0.1,x\n"
    prefix = f"runs/{JOB}"
    s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/predictions.csv", Body=csv_bytes)
    s3_client.put_object(
        Bucket=BUCKET, Key=f"{prefix}/prediction.json", Body=result.model_dump_json()
    )

    success = batch_event(JOB, "SUCCEEDED", attempts=[attempt(1_700_000_000_000, 40)])
    assert completion_handler.handler(success, None)["done"] == f"ended {JOB} (SUCCEEDED)"

    ended = store(dynamodb_client).get(JOB)
    assert ended is not None and ended.status == "succeeded" and ended.kind == "predict"
    thread = fake.thread(fake.channel, job.thread_ts or "")
    words = " ".join(t for m in thread for t in shown(m))
    assert "Scored *3* row(s) of *new.csv*" in words
    assert "`no` 2 (67%)" in words and "“plan”: 1 row(s)" in words
    assert "on Fargate Spot" in words  # what the prediction cost
    (upload,) = [f for m in thread for f in m.get("files") or [] if m.get("bot_id")]
    assert upload["name"] == "predictions-new.csv"
    assert fake.workspace.file_bytes[upload["id"]] == csv_bytes


def test_a_refused_prediction_is_explained_as_scoring(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake, job_id=JOB, kind="predict", model_job_id=MODEL_JOB)
    result = PredictionResult(
        job_id=JOB,
        model_job_id=MODEL_JOB,
        status="failed",
        file_name="churn.csv",
        error=ErrorInfo(
            code="missing_columns",
            message="The file lacks 1 column(s) the model needs: “tenure_months”.",
            hint="Add these columns and try again.",
        ),
    )
    s3_client.put_object(
        Bucket=BUCKET, Key=f"runs/{JOB}/prediction.json", Body=result.model_dump_json()
    )

    completion_handler.handler(batch_event(JOB, "FAILED", attempts=[]), None)

    ended = store(dynamodb_client).get(JOB)
    assert ended is not None and ended.status == "failed"
    assert ended.error_code == "missing_columns"
    words = " ".join(t for m in fake.thread(fake.channel, job.thread_ts or "") for t in shown(m))
    assert ":x: *Scoring churn.csv failed.*" in words and "“tenure_months”" in words
