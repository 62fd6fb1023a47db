"""`python -m training run s3://…/spec.json` as AWS Batch runs it, against moto's S3 and
EventBridge: the run folder lands in S3 (result.json last), events reach the bus, and the
exit codes tell Batch what happened."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from contract import exit_codes
from contract.jobs import JobResult, JobSpec, parse_event
from contract.run_folder import MODEL_FILE
from tests.builders import make_spec
from tests.conftest import SAMPLE_CHURN
from tests.training import tables
from tests.training.conftest import FakeAws
from tests.training.processes import wait_for_trials
from training.pipeline.model import TrainedModel


def _put_spec(aws: FakeAws, bucket: str, job_id: str, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "job_id": job_id,
        "dataset_uri": f"s3://{bucket}/datasets/{job_id}/churn.csv",
        "time_budget_s": 8,
        "output_uri": f"s3://{bucket}/runs/{job_id}",
    }
    spec = make_spec(**{**values, **overrides})
    key = f"runs/{job_id}/spec.json"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=spec.model_dump_json())
    return f"s3://{bucket}/{key}"


def _command(spec_uri: str) -> list[str]:
    return [sys.executable, "-m", "training", "run", spec_uri]


def _run(aws: FakeAws, spec_uri: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(spec_uri),
        env=aws.env(AUTOML_EVENT_BUS="default"),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _run_folder(aws: FakeAws, bucket: str, job_id: str) -> set[str]:
    """The keys below runs/<job_id>/, relative to it."""
    prefix = f"runs/{job_id}/"
    listing = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {item["Key"].removeprefix(prefix) for item in listing.get("Contents", [])}


def _result(aws: FakeAws, bucket: str, job_id: str) -> JobResult:
    body = aws.client("s3").get_object(Bucket=bucket, Key=f"runs/{job_id}/result.json")["Body"]
    return JobResult.model_validate_json(body.read())


def _listed_artifacts(result: JobResult) -> set[str]:
    artifacts = result.artifacts
    paths = {
        artifacts.model,
        artifacts.report,
        artifacts.leaderboard_csv,
        artifacts.events_log,
        artifacts.search_log,
        *(chart.path for chart in artifacts.charts),
    }
    return {path for path in paths if path is not None}


@pytest.mark.slow
def test_a_job_reads_s3_writes_its_run_folder_back_and_sends_events(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    bucket, job_id = fake_aws.new_bucket(), "s3-churn"
    s3 = fake_aws.client("s3")
    s3.upload_file(str(SAMPLE_CHURN), bucket, f"datasets/{job_id}/churn.csv")
    queue = fake_aws.event_queue(job_id)
    # 20 s, not 8: the budget includes the EDA report, which needs ~10 s on a busy 2-core box.
    spec_uri = _put_spec(fake_aws, bucket, job_id, time_budget_s=20)

    done = _run(fake_aws, spec_uri)

    assert done.returncode == exit_codes.SUCCEEDED, done.stderr
    result = _result(fake_aws, bucket, job_id)
    assert result.status == "succeeded"
    assert result.holdout_metrics["roc_auc"] > 0.6
    assert result.artifacts.report == "report.html"
    assert result.artifacts.model == MODEL_FILE
    assert len(result.artifacts.charts) >= 4
    keys = _run_folder(fake_aws, bucket, job_id)
    assert _listed_artifacts(result) <= keys  # artifact paths stay relative to the folder
    assert {"spec.json", "result.json", "run.log", "events.jsonl", "leaderboard.csv"} <= keys

    report = s3.head_object(Bucket=bucket, Key=f"runs/{job_id}/report.html")
    assert report["ServerSideEncryption"] == "AES256"
    assert report["ContentType"] == "text/html"  # a presigned link opens it as a page
    chart = s3.head_object(Bucket=bucket, Key=f"runs/{job_id}/{result.artifacts.charts[0].path}")
    assert chart["ContentType"] == "image/png"
    # The spec in the folder is the one given, s3:// URIs and all (no scratch paths).
    stored_spec = s3.get_object(Bucket=bucket, Key=f"runs/{job_id}/spec.json")["Body"].read()
    assert JobSpec.model_validate_json(stored_spec).output_uri == f"s3://{bucket}/runs/{job_id}"

    s3.download_file(bucket, f"runs/{job_id}/{MODEL_FILE}", str(tmp_path / MODEL_FILE))
    rows = pd.read_csv(SAMPLE_CHURN, nrows=20).drop(columns=["churned"])
    model = TrainedModel.load(tmp_path / MODEL_FILE, sha256=result.artifacts.model_sha256)
    assert set(model.predict(rows)) <= {"yes", "no"}

    # stdout keeps its JSON lines; the last one points at result.json in S3 (but for a `report`
    # event, when the EDA report needed longer than the budget and followed the results).
    printed = [parse_event(line) for line in done.stdout.splitlines()]
    printed = [event for event in printed if event.type != "report"]
    assert printed[0].type == "started"
    assert printed[-1].type == "finished"
    assert printed[-1].result_path == f"s3://{bucket}/runs/{job_id}/result.json"

    envelopes = fake_aws.received_events(queue)
    assert {e["source"] for e in envelopes} == {"automl.training"}
    assert {e["detail-type"] for e in envelopes} == {"AutoML Training Event"}
    details = sorted(
        (e["detail"] for e in envelopes if e["detail"]["type"] != "report"), key=lambda d: d["at"]
    )
    assert details[0]["type"] == "started"
    assert details[-1]["type"] == "finished"
    assert details[-1]["status"] == "succeeded"
    assert details[-1]["result_path"] == f"s3://{bucket}/runs/{job_id}/result.json"
    progress = [datetime.fromisoformat(d["at"]) for d in details if d["type"] == "progress"]
    assert progress, "no progress event reached the bus"
    # At most one progress event every 10 s, though stdout got more.
    assert all((b - a).total_seconds() >= 10 for a, b in itertools.pairwise(progress))
    assert len(progress) < sum(1 for e in printed if e.type == "progress")


@pytest.mark.slow
def test_bad_input_over_s3_exits_2_with_a_failed_result_in_s3(fake_aws: FakeAws) -> None:
    bucket, job_id = fake_aws.new_bucket(), "s3-bad-target"
    fake_aws.client("s3").upload_file(str(SAMPLE_CHURN), bucket, f"datasets/{job_id}/churn.csv")
    spec_uri = _put_spec(fake_aws, bucket, job_id, target="colour")

    done = _run(fake_aws, spec_uri)

    assert done.returncode == exit_codes.BAD_INPUT, done.stderr
    assert "Traceback" not in done.stderr
    result = _result(fake_aws, bucket, job_id)
    assert result.status == "failed"
    assert result.error is not None
    assert "There is no column named “colour”" in result.error.message
    assert {"result.json", "spec.json", "events.jsonl", "run.log"} <= _run_folder(
        fake_aws, bucket, job_id
    )


@pytest.mark.slow
def test_a_missing_dataset_object_is_bad_input(fake_aws: FakeAws) -> None:
    bucket, job_id = fake_aws.new_bucket(), "s3-no-dataset"
    spec_uri = _put_spec(fake_aws, bucket, job_id)  # nothing uploaded under datasets/

    done = _run(fake_aws, spec_uri)

    assert done.returncode == exit_codes.BAD_INPUT, done.stderr
    result = _result(fake_aws, bucket, job_id)
    assert result.error is not None
    assert (result.error.code, result.error.message) == (
        "unreadable_file",
        "I couldn't open `churn.csv`: the stored copy is missing.",
    )


@pytest.mark.slow
def test_a_missing_or_invalid_spec_exits_2_with_a_message(fake_aws: FakeAws) -> None:
    bucket = fake_aws.new_bucket()
    missing = f"s3://{bucket}/runs/nobody/spec.json"

    done = _run(fake_aws, missing)

    assert done.returncode == exit_codes.BAD_INPUT
    assert f"error: cannot read the spec {missing}: there is no object at {missing}" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
    assert done.stdout == ""

    fake_aws.client("s3").put_object(Bucket=bucket, Key="runs/x/spec.json", Body=b'{"job_id": 1}')
    invalid = _run(fake_aws, f"s3://{bucket}/runs/x/spec.json")
    assert invalid.returncode == exit_codes.BAD_INPUT
    assert f"s3://{bucket}/runs/x/spec.json is not a valid job spec" in invalid.stderr


@pytest.mark.slow
def test_sigterm_mid_search_uploads_an_interrupted_result_with_a_model(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    bucket, job_id = fake_aws.new_bucket(), "s3-sigterm"
    data = tables.wide_binary(tmp_path / "wide.csv")
    fake_aws.client("s3").upload_file(str(data), bucket, f"datasets/{job_id}/wide.csv")
    spec_uri = _put_spec(
        fake_aws,
        bucket,
        job_id,
        dataset_uri=f"s3://{bucket}/datasets/{job_id}/wide.csv",
        file_name="wide.csv",
        target="label",
        time_budget_s=120,
    )
    process = subprocess.Popen(
        _command(spec_uri),
        env=fake_aws.env(AUTOML_EVENT_BUS="default"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_trials(process, minimum=2)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
        stopped_after = time.monotonic() - signalled
    finally:
        process.kill()

    assert process.returncode == exit_codes.INTERRUPTED, errors
    assert stopped_after < 30  # Fargate Spot's SIGKILL comes 30 s after SIGTERM: upload included
    result = _result(fake_aws, bucket, job_id)
    assert result.status == "interrupted"
    assert result.artifacts.model == MODEL_FILE
    assert _listed_artifacts(result) <= _run_folder(fake_aws, bucket, job_id)
