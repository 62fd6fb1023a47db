"""The completion Lambda and a job whose EDA report follows its results: the `finished` event
(report pending) posts the results at once, the `report` event adds the link in the thread,
Batch's end afterwards posts nothing twice, or says the report could not be finished."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bot.aws_lambda import completion_handler
from bot.jobs import Job
from bot.messages.results import REPORT_PENDING, REPORT_UNFINISHED
from contract.jobs import AnyEvent, FinishedEvent, ReportEvent, StartedEvent
from tests.bot.aws.test_lambda_handlers import a_job, deployed, store
from tests.bot.aws_lambda.batch_event import attempt, batch_event
from tests.bot.blocks import header_text, links, shown
from tests.builders import make_result
from tests.fakes.slack_api import FakeSlack, fake_slack

from .conftest import BUCKET, REGION

__all__ = ["deployed", "fake_slack"]

READY = "The EDA report is ready"


def training_event(event: AnyEvent) -> dict[str, Any]:
    """An "AutoML Training Event" as EventBridge delivers what the container put."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AutoML Training Event",
        "source": "automl.training",
        "account": "123456789012",
        "time": "2026-12-03T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": json.loads(event.model_dump_json()),
    }


def write_result(s3_client: Any, job: Job, *, pending: bool) -> None:
    """result.json as the job writes it: first with the report pending, then with the report."""
    result = make_result(job, report_pending=pending)
    result.artifacts.charts = []
    result.artifacts.report = None if pending else "report.html"
    prefix = f"runs/{job.job_id}"
    if not pending:
        s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/report.html", Body=b"<html></html>")
    s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/result.json", Body=result.model_dump_json())


def results_posted(job: Job) -> FinishedEvent:
    return FinishedEvent(
        job_id=job.job_id,
        status="succeeded",
        result_path=f"s3://{BUCKET}/runs/{job.job_id}/result.json",
        report_pending=True,
    )


def thread_of(fake: FakeSlack, job: Job) -> list[dict[str, Any]]:
    return fake.thread(fake.channel, job.thread_ts or "")[1:]


def saying(fake: FakeSlack, job: Job, words: str) -> list[dict[str, Any]]:
    return [m for m in thread_of(fake, job) if any(words in text for text in shown(m))]


def results_of(fake: FakeSlack, job: Job) -> list[dict[str, Any]]:
    return [m for m in thread_of(fake, job) if header_text(m.get("blocks") or []).startswith("Res")]


def test_results_at_the_finished_event_then_the_report_link(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake, handle = deployed, completion_handler.handler
    job = a_job(dynamodb_client, fake, "5eed0001")
    handle(training_event(StartedEvent(job_id=job.job_id, time_budget_s=5, file_name="c")), None)
    write_result(s3_client, job, pending=True)

    assert handle(training_event(results_posted(job)), None)["done"].startswith("ended")
    ended = store(dynamodb_client).get(job.job_id)
    assert ended is not None and ended.status == "succeeded"
    (results,) = results_of(fake, job)
    assert any(REPORT_PENDING in text for text in shown(results))
    assert "Open the data report" not in links(results["blocks"])

    write_result(s3_client, job, pending=False)  # the job records the report, then says so
    ready = ReportEvent(job_id=job.job_id, report="report.html")
    assert handle(training_event(ready), None)["done"] == f"report {job.job_id}"
    (said,) = saying(fake, job, READY)
    assert "Open the data report" in links(said["blocks"])

    # Batch's end comes after, at least once: nothing is posted again, nothing said missing.
    success = batch_event(job.job_id, "SUCCEEDED", attempts=[attempt(1_700_000_000_000, 40)])
    handle(success, None)
    handle(success, None)
    assert len(results_of(fake, job)) == 1 and len(saying(fake, job, READY)) == 1
    assert not saying(fake, job, REPORT_UNFINISHED)


def test_batch_ending_a_job_whose_report_never_came_says_so(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake, handle = deployed, completion_handler.handler
    job = a_job(dynamodb_client, fake, "5eed0002")
    write_result(s3_client, job, pending=True)
    handle(training_event(results_posted(job)), None)
    assert len(results_of(fake, job)) == 1

    failed = batch_event(
        job.job_id,
        "FAILED",
        attempts=[attempt(1_700_000_000_000, 60, exit_code=137)],
        reason="Essential container in task exited",
    )
    handle(failed, None)
    assert len(saying(fake, job, REPORT_UNFINISHED)) == 1
    assert len(results_of(fake, job)) == 1  # the results stand
    ended = store(dynamodb_client).get(job.job_id)
    assert ended is not None and ended.status == "succeeded"


def test_a_lost_finished_event_still_gives_results_without_a_promise(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    # The job was killed during its report and its `finished` event never arrived: Batch's end
    # posts the results, saying the report could not be finished instead of promising it.
    fake, handle = deployed, completion_handler.handler
    job = a_job(dynamodb_client, fake, "5eed0003")
    write_result(s3_client, job, pending=True)
    handle(batch_event(job.job_id, "FAILED", attempts=[attempt(1_700_000_000_000, 60)]), None)
    (results,) = results_of(fake, job)
    assert any(REPORT_UNFINISHED in text for text in shown(results))
    assert not any(REPORT_PENDING in text for text in shown(results))
