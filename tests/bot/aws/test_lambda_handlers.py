"""The two Lambda handlers, called with the events AWS would send them.

moto stands in for S3, DynamoDB, Secrets Manager, Batch and CloudWatch Logs; the Slack fake
for Slack. The bot Lambda gets API Gateway HTTP API (v2) events carrying correctly signed
Slack requests; its lazy self-invocation is captured where it would call Lambda's Invoke
API and replayed into the handler, as Lambda would deliver it. The completion Lambda gets
Batch Job State Change events and the training's own events.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from bot.aws_lambda import bot_handler, completion_handler
from bot.backends.aws import secrets
from bot.backends.aws.job_store import DynamoJobStore
from bot.console.slack_requests import SignedRequest, SlackRequests
from bot.jobs import Job
from bot.messages.answers import LOOKING_FOR_THE_FILE
from bot.messages.aws_recovery import LAZY_WORK_FAILED
from contract.aws import SWEEP_EVENT
from contract.jobs import (
    JobResult,
    ProgressEvent,
    StartedEvent,
)
from tests.bot.aws_lambda.batch_event import attempt, batch_event
from tests.bot.blocks import (
    context_texts,
    header_text,
    in_thread,
    of_type,
    section_texts,
    sent,
    texts,
)
from tests.builders import make_job, make_result
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

from .conftest import BUCKET, DEFINITION, PUBLIC_URL, QUEUE, REGION, TABLE

__all__ = ["fake_slack"]

SIGNING_SECRET = "lambda-signing-secret-0123456789"
ACCOUNT = "123456789012"
LOG_GROUP = "/automl/training"
# A 1x1 PNG: the notifier uploads chart bytes as they are.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass
class LambdaContext:
    function_name: str = "automl-bot"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:automl-bot"
    aws_request_id: str = "0"
    memory_limit_in_mb: int = 1024

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class CapturedInvokes:
    """Lambda's Invoke API, as far as the lazy-listener runner uses it: it records payloads."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"StatusCode": 202}

    def client(self, name: str, *args: Any, **kwargs: Any) -> Any:
        assert name == "lambda"
        return self


def http_api_event(request: SignedRequest) -> dict[str, Any]:
    """The event API Gateway's HTTP API (payload 2.0) hands the function for a POST."""
    headers = {key.lower(): value for key, value in request.headers.items()}
    headers.update(
        {
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "content-length": str(len(request.bytes)),
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "x-forwarded-proto": "https",
        }
    )
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": "/slack/events",
                "protocol": "HTTP/1.1",
                "sourceIp": "34.200.1.1",
                "userAgent": headers["user-agent"],
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "POST /slack/events",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(request.bytes).decode(),
        "isBase64Encoded": True,
    }


def training_event(event: StartedEvent | ProgressEvent) -> dict[str, Any]:
    """An "AutoML Training Event" as EventBridge delivers what the container put."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AutoML Training Event",
        "source": "automl.training",
        "account": ACCOUNT,
        "time": "2026-11-26T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": json.loads(event.model_dump_json()),
    }


@pytest.fixture
def deployed(
    batch: Any, s3_client: Any, dynamodb_client: Any, fake_slack: FakeSlack, monkeypatch: Any
) -> Iterator[FakeSlack]:
    """The stack's resources in moto, the Lambdas' environment, Slack's secrets stored."""
    manager = boto3.client("secretsmanager", region_name=REGION)
    manager.create_secret(Name="automl/slack-bot-token", SecretString=fake_slack.bot_token)
    manager.create_secret(Name="automl/slack-signing-secret", SecretString=SIGNING_SECRET)
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=LOG_GROUP)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AUTOML_BACKEND": "aws",
        "AUTOML_BUCKET": BUCKET,
        "AUTOML_TABLE": TABLE,
        "AUTOML_JOB_QUEUE": QUEUE,
        "AUTOML_JOB_DEFINITION": DEFINITION,
        "AUTOML_JOB_LOG_GROUP": LOG_GROUP,
        "AUTOML_PUBLIC_URL": PUBLIC_URL,
        "SLACK_API_URL": fake_slack.url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    secrets.clear_cache()
    bot_handler._asgi_handler.cache_clear()
    completion_handler._completion.cache_clear()
    yield fake_slack
    bot_handler._asgi_handler.cache_clear()
    completion_handler._completion.cache_clear()
    secrets.clear_cache()


@pytest.fixture
def invokes(monkeypatch: Any) -> CapturedInvokes:
    captured = CapturedInvokes()
    from slack_bolt.adapter.aws_lambda import lazy_listener_runner

    monkeypatch.setattr(lazy_listener_runner, "boto3", captured)
    return captured


def store(dynamodb_client: Any) -> DynamoJobStore:
    return DynamoJobStore(TABLE, client=dynamodb_client)


# ---- the bot Lambda ----------------------------------------------------------------------------


def test_a_slash_command_is_acked_then_its_slow_half_runs_in_a_self_invocation(
    deployed: FakeSlack, invokes: CapturedInvokes, dynamodb_client: Any, s3_client: Any, batch: Any
) -> None:
    fake = deployed
    file = fake.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake.channel)
    requests = SlackRequests(fake, SIGNING_SECRET)
    context = LambdaContext()

    answer = bot_handler.handler(
        http_api_event(requests.command(fake.channel, "train target=churned time=2m")), context
    )
    assert answer["statusCode"] == 200
    acked = json.loads(answer["body"])
    assert (acked["response_type"], acked["text"]) == ("ephemeral", LOOKING_FOR_THE_FILE)
    assert store(dynamodb_client).list_for_channel(fake.channel) == []  # nothing slow yet

    (invoke,) = invokes.calls
    assert invoke["FunctionName"] == context.invoked_function_arn
    assert invoke["InvocationType"] == "Event"
    replayed = json.loads(invoke["Payload"])
    assert replayed["headers"]["x-slack-bolt-lazy-only"] == "1"

    again = bot_handler.handler(replayed, context)  # Lambda delivers the async invocation
    assert again["statusCode"] == 200
    (job,) = store(dynamodb_client).list_for_channel(fake.channel)
    assert job.status == "queued" and job.thread_ts == file["message_ts"]
    assert job.time_budget_s == 120
    dataset = s3_client.get_object(Bucket=BUCKET, Key=f"datasets/{job.job_id}/churn.csv")
    assert dataset["Body"].read() == SAMPLE_CHURN.read_bytes()
    spec = json.loads(
        s3_client.get_object(Bucket=BUCKET, Key=f"runs/{job.job_id}/spec.json")["Body"].read()
    )
    assert spec["dataset_uri"] == f"s3://{BUCKET}/datasets/{job.job_id}/churn.csv"
    named = [{"name": "JOB_NAME", "values": [f"automl-{job.job_id}"]}]
    (submitted,) = batch.list_jobs(jobQueue=QUEUE, filters=named)["jobSummaryList"]
    described = batch.describe_jobs(jobs=[submitted["jobId"]])["jobs"][0]
    assert described["container"]["command"][-1] == f"s3://{BUCKET}/runs/{job.job_id}/spec.json"
    (status,) = sent(fake, "chat.postMessage", thread_ts=file["message_ts"])  # the status
    assert section_texts(status["blocks"])[0].startswith(
        ":hourglass_flowing_sand: Training on *churn.csv*: *queued*"
    )
    assert context_texts(status["blocks"])[0] == f"Job `{job.job_id}`"
    (started,) = fake.ephemerals
    assert started["text"].startswith(f"Started job `{job.job_id}`")


def test_a_forged_request_gets_401_and_no_invocation(
    deployed: FakeSlack, invokes: CapturedInvokes
) -> None:
    requests = SlackRequests(deployed, "not-the-signing-secret")
    answer = bot_handler.handler(
        http_api_event(requests.command(deployed.channel, "help")), LambdaContext()
    )
    assert answer["statusCode"] == 401
    assert invokes.calls == []


# ---- the completion Lambda ---------------------------------------------------------------------


def a_job(dynamodb_client: Any, fake: FakeSlack, job_id: str = "3fa9c1b2", **fields: Any) -> Job:
    """A job the bot Lambda recorded and announced in a file's thread."""
    file = fake.add_file("churn.csv", b"a,b\n1,2\n", channel=fake.channel)
    status = fake.post_user_message(fake.channel, "status", thread_ts=file["message_ts"])
    job = make_job(
        job_id=job_id,
        user_id="U0HUMAN",
        channel_id=fake.channel,
        thread_ts=file["message_ts"],
        status_ts=status,
        **fields,
    )
    store(dynamodb_client).create(job)
    return job


def put_result(s3_client: Any, job: Job) -> None:
    """The training's succeeded result in the job's run folder, with its charts."""
    result = make_result(job)
    prefix = f"runs/{job.job_id}"
    for chart in result.artifacts.charts:
        s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/{chart.path}", Body=PNG)
    s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/result.json", Body=result.model_dump_json())


def test_training_events_and_batch_success_post_once_with_the_cost(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake)
    handle = completion_handler.handler
    started = StartedEvent(job_id=job.job_id, time_budget_s=60, file_name=job.file_name)
    progress = ProgressEvent(
        job_id=job.job_id, stage="search", elapsed_s=20, budget_s=60, trials=7, best_score=0.8
    )
    assert handle(training_event(started), None)["done"].startswith("started")
    handle(training_event(progress), None)
    put_result(s3_client, job)
    success = batch_event(job.job_id, "SUCCEEDED", attempts=[attempt(1_700_000_000_000, 95)])
    assert handle(success, None)["done"] == f"ended {job.job_id} (SUCCEEDED)"
    handle(success, None)  # EventBridge delivers at least once
    handle(training_event(progress), None)  # late

    finished = store(dynamodb_client).get(job.job_id)
    assert finished is not None and finished.status == "succeeded"
    thread = fake.thread(fake.channel, job.thread_ts or "")
    results = [m for m in thread if header_text(m.get("blocks") or []).startswith("Results")]
    assert len(results) == 1
    (cost,) = [t for t in context_texts(results[0]["blocks"]) if t.startswith(":moneybag:")]
    assert "on Fargate Spot" in cost and "for 1 min 35 s billed" in cost  # what the answer cost
    assert len([m for m in thread if m.get("files") and m.get("bot_id")]) == 1  # the chart


def test_a_job_that_died_without_a_result_is_explained(
    deployed: FakeSlack, dynamodb_client: Any
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake, "9c0ffee1")
    logs = boto3.client("logs", region_name=REGION)
    stream = "automl-training/default/0123456789abcdef"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "Killed"}],
    )
    failed = batch_event(
        job.job_id,
        "FAILED",
        attempts=[attempt(1_700_000_000_000, 30, exit_code=137, reason="OutOfMemoryError")],
        reason="Essential container in task exited",
    )
    assert completion_handler.handler(failed, None)["done"].endswith("(FAILED)")
    ended = store(dynamodb_client).get(job.job_id)
    assert ended is not None and ended.status == "failed"
    failure = in_thread(fake, fake.channel, job.thread_ts or "", containing="*What went wrong:*")
    (why,) = [t for t in section_texts(failure["blocks"]) if t.startswith("*What went wrong:*")]
    assert "ran out of memory" in why
    assert "“Killed”" in why  # the last words of its log, which wrote no result
    # AWS's own reason is put in words instead, nowhere shown as it is.
    assert not [t for t in [failure["text"], *texts(failure["blocks"])] if "OutOfMemory" in t]


def test_other_events_change_nothing(deployed: FakeSlack) -> None:
    assert completion_handler.handler({"source": "aws.ec2"}, None)["done"].startswith("ignored")
    foreign = batch_event("x", "SUCCEEDED", name_prefix="nightly-")
    assert completion_handler.handler(foreign, None)["done"].startswith("ignored")


def test_a_reclaim_on_the_last_attempt_still_posts_the_partial_results(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake, "5bad5eed")
    put_result(s3_client, job)
    result = JobResult.model_validate_json(
        s3_client.get_object(Bucket=BUCKET, Key=f"runs/{job.job_id}/result.json")["Body"].read()
    )
    interrupted = result.model_copy(update={"status": "interrupted"})
    s3_client.put_object(
        Bucket=BUCKET, Key=f"runs/{job.job_id}/result.json", Body=interrupted.model_dump_json()
    )
    reclaimed = "Your Spot Task was interrupted."
    attempts = [attempt(1_700_000_000_000 + i * 100_000, 40, exit_code=3, reason=reclaimed)
                for i in range(3)]  # fmt: skip
    completion_handler.handler(
        batch_event(job.job_id, "FAILED", attempts=attempts, reason=reclaimed), None
    )
    ended = store(dynamodb_client).get(job.job_id)
    assert ended is not None and ended.status == "interrupted"
    results = in_thread(fake, fake.channel, job.thread_ts or "", header="Results")
    blocks = results["blocks"]
    assert section_texts(blocks)[0].startswith(":warning: *Interrupted:*")  # marked as partial
    (table,) = of_type(blocks, "table")
    assert [row[1]["text"] for row in table["rows"][1:]] == ["lgbm", "rf"]  # the models found
    (cost,) = [t for t in context_texts(blocks) if t.startswith(":moneybag:")]
    assert cost.endswith(", 3 attempts.")  # every reclaimed attempt was billed


# ---- failed lazy work and the sweep ------------------------------------------------------------


def failed_invocation(payload: dict[str, Any]) -> dict[str, Any]:
    """What Lambda's on-failure destination sends for an asynchronous invocation that failed."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-26T12:00:00.000Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:automl-bot:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1,
        },
        "requestPayload": payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "Task timed out after 300.00 seconds"},
    }


def test_a_person_whose_lazy_work_failed_is_told(
    deployed: FakeSlack, invokes: CapturedInvokes
) -> None:
    fake = deployed
    requests = SlackRequests(fake, SIGNING_SECRET)
    bot_handler.handler(
        http_api_event(requests.command(fake.channel, "train target=churned")), LambdaContext()
    )
    (invoke,) = invokes.calls  # the self-invocation Lambda could not finish
    before = len(fake.ephemerals)

    done = completion_handler.handler(failed_invocation(json.loads(invoke["Payload"])), None)

    assert done["done"] == f"failed request: told {requests.user} in {fake.channel}"
    (told,) = fake.ephemerals[before:]
    assert told["user"] == requests.user and told["channel"] == fake.channel
    assert told["text"] == LAZY_WORK_FAILED
    unreadable = failed_invocation({"body": "not a form", "headers": {}})
    assert completion_handler.handler(unreadable, None)["done"] == "failed request: nobody to tell"


def test_the_sweep_ends_jobs_batch_does_not_know(deployed: FakeSlack, dynamodb_client: Any) -> None:
    fake = deployed
    # Recorded an hour ago: its Batch job (never submitted here) should long have reported.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    lost = a_job(dynamodb_client, fake, "10570b01", created_at=an_hour_ago)
    jobs = store(dynamodb_client)
    jobs.transition(lost.job_id, "running")
    fresh = a_job(dynamodb_client, fake, "f7e5a000")  # may not be submitted yet

    done = completion_handler.handler(dict(SWEEP_EVENT), None)["done"]

    assert done == f"swept: lost {lost.job_id}"
    ended = jobs.get(lost.job_id)
    assert ended is not None and ended.status == "failed"
    assert in_thread(fake, fake.channel, lost.thread_ts or "", containing="AWS Batch has no")
    still = jobs.get(fresh.job_id)
    assert still is not None and still.status == "queued"
    assert completion_handler.handler(dict(SWEEP_EVENT), None)["done"] == "swept: nothing lost"


def test_batch_s_end_keeps_the_job_cost_and_cost_sums_the_channel(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any, s3_store: Any
) -> None:
    """The completion Lambda keeps each ended job's cost; `/automl cost` adds them up."""
    from bot.channel_cost import channel_cost
    from bot.cost import JobCost

    fake = deployed
    jobs = [a_job(dynamodb_client, fake, job_id=f"c0st000{n}") for n in range(3)]
    for job, seconds in zip(jobs[:2], (95, 3600), strict=True):
        put_result(s3_client, job)
        ended = batch_event(job.job_id, "SUCCEEDED", attempts=[attempt(1_700_000_000_000, seconds)])
        completion_handler.handler(ended, None)
    kept = [
        JobCost.from_json(
            s3_client.get_object(Bucket=BUCKET, Key=f"runs/{job.job_id}/cost.json")["Body"].read()
        )
        for job in jobs[:2]
    ]
    assert [c.billed_s for c in kept] == [95, 3600]

    total = channel_cost(store(dynamodb_client), s3_store, fake.channel)
    assert (total.priced, total.unpriced) == (2, 1)  # the third has not ended
    assert total.spot_usd == pytest.approx(sum(c.spot_usd for c in kept))
    sentence = total.sentence()
    assert "2 jobs in this channel cost about $" in sentence
    assert "1 job without a recorded cost is not counted" in sentence


# ---- only messages with files wake the slow half ----------------------------------------------


def test_a_plain_channel_message_is_acked_without_a_self_invocation(
    deployed: FakeSlack, invokes: CapturedInvokes
) -> None:
    requests = SlackRequests(deployed, SIGNING_SECRET)
    said = deployed.post_user_message(deployed.channel, "lunch at noon?")
    plain = {
        "type": "message",
        "text": "lunch at noon?",
        "user": requests.user,
        "ts": said,
        "channel": deployed.channel,
        "channel_type": "channel",
        "event_ts": said,
    }
    answer = bot_handler.handler(http_api_event(requests.event(plain)), LambdaContext())

    assert answer["statusCode"] == 200  # acked: Slack does not retry it
    assert invokes.calls == []  # and no second invocation


def test_a_message_sharing_a_file_still_wakes_the_slow_half(
    deployed: FakeSlack, invokes: CapturedInvokes
) -> None:
    requests = SlackRequests(deployed, SIGNING_SECRET)
    file = deployed.add_file("churn.csv", b"a,b\n1,2\n", channel=deployed.channel)
    shared = deployed.message(deployed.channel, file["message_ts"])
    answer = bot_handler.handler(
        http_api_event(requests.file_shared(deployed.channel, shared)), LambdaContext()
    )

    assert answer["statusCode"] == 200
    assert len(invokes.calls) == 1
