"""The completion Lambda: job events from EventBridge in, Slack messages out.

It is fed by two rules: Batch's own "Batch Job State Change" events for the job queue
(RUNNING, SUCCEEDED, FAILED — FAILED is final, after the retries) and the training job's
"AutoML Training Event"s (started, progress). It reports them to the same `JobEvents` as
the local launcher does, `bot.job_events.JobEventHandler`: the job lifecycle moves the job,
the notifier tells Slack. A job whose EDA report follows its results ends at its `finished`
event (`report_pending`) and sends a `report` event later. Every event may come twice, late
or out of order; the lifecycle's transitions, forward only, make that harmless. Two more
kinds come in: the scheduled sweep (`contract.aws.SWEEP_EVENT`, bot/aws_lambda/sweeper.py)
and the bot's own lazy half that failed (its on-failure destination), whose requester is
told.

It reads the Slack signing secret, as the bot Lambda does, for two keys derived from it: the
link key, so the report and model links it writes open on the bot's link route, and the
model key, with which it signs each succeeded job's model (model.sig, beside it in S3)
before the results are posted.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.aws_lambda.batch_events import attempts_of, ending_of, job_id_of, log_stream_of
from bot.aws_lambda.failed_requests import is_failed_invocation, requester_of
from bot.aws_lambda.sweeper import sweep
from bot.cost import FargatePrices, job_cost
from bot.job_events import JobEventHandler
from bot.jobs import JobStore
from bot.lifecycle import JobLifecycle
from bot.messages.aws_recovery import LAZY_WORK_FAILED
from bot.notifier import Notifier
from bot.ports import JobEnding, JobEvents
from common.logs import configure_lambda_logging, log_context, message_of
from contract import environment as env
from contract.aws import (
    BATCH_EVENT_DETAIL_TYPE,
    BATCH_EVENT_SOURCE,
    BATCH_FAILED,
    BATCH_RUNNING,
    BATCH_SUCCEEDED,
    SWEEP_EVENT,
    TRAINING_EVENT_DETAIL_TYPE,
    TRAINING_EVENT_SOURCE,
)
from contract.jobs import FinishedEvent, ProgressEvent, ReportEvent, StartedEvent, parse_event

log = logging.getLogger(__name__)
configure_lambda_logging()  # once per container, at import: JSON lines with the job's fields

LOG_TAIL_LINES = 20
# The job's JSON log lines a person may read the message of, in a failed job's tail.
TAIL_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})


@dataclass
class Completion:
    events: JobEvents
    prices: FargatePrices
    logs: Any = None  # a boto3 CloudWatch Logs client, for the tail of a job that left no result
    log_group: str | None = None
    jobs: JobStore | None = None  # with `batch` and `job_queue`: the sweep
    batch: Any = None
    job_queue: str | None = None
    slack: Any = None  # a slack_sdk WebClient: tells a person their request failed
    # The S3 artifact store: keeps each ended job's cost in its run folder (`/automl cost`).
    cost_records: Any = None
    # The BatchLauncher: a job's end frees a slot for the oldest waiting job.
    launcher: Any = None

    def handle(self, event: dict[str, Any]) -> str:
        """Act on one event; returns what was done, for the log and tests. Every line logged
        meanwhile carries the event's kind and its job's id."""
        kind, job_id = _described(event)
        with log_context(event=kind, job_id=job_id):
            done = self._handle(event)
            log.info("%s", done)
        return done

    def _handle(self, event: dict[str, Any]) -> str:
        if event == SWEEP_EVENT:
            return self._sweep()
        if is_failed_invocation(event):
            return self._failed_request(event)
        source, kind = event.get("source"), event.get("detail-type")
        detail = event.get("detail") or {}
        if source == TRAINING_EVENT_SOURCE and kind == TRAINING_EVENT_DETAIL_TYPE:
            return self._training(detail)
        if source == BATCH_EVENT_SOURCE and kind == BATCH_EVENT_DETAIL_TYPE:
            return self._batch(detail)
        return "ignored: not an event this function handles"

    def _training(self, detail: dict[str, Any]) -> str:
        try:
            event = parse_event(json.dumps(detail))
        except ValueError:
            log.warning("a training event that does not parse: %s", detail)
            return "ignored: unreadable training event"
        if isinstance(event, StartedEvent):
            self.events.job_started(event.job_id)
            return f"started {event.job_id}"
        if isinstance(event, ProgressEvent):
            self.events.job_progress(event.job_id, event)
            return f"progress {event.job_id}"
        if isinstance(event, ReportEvent):
            self.events.job_report(event.job_id, event)
            return f"report {event.job_id}"
        assert isinstance(event, FinishedEvent)
        if event.report_pending and event.status == "succeeded":
            # Its results are final and its report follows: post them now, not at Batch's end.
            self.events.job_ended(event.job_id, JobEnding(finished=event, still_running=True))
            return f"ended {event.job_id} (results; its report follows){self._start_waiting()}"
        # Batch may still retry an interrupted attempt: only Batch's final state ends a job.
        return f"noted finished {event.job_id}"

    def _batch(self, detail: dict[str, Any]) -> str:
        job_id = job_id_of(detail)
        if job_id is None:
            return "ignored: not one of the bot's jobs"
        status = detail.get("status")
        if status == BATCH_RUNNING:
            self.events.job_started(job_id)
            return f"started {job_id}"
        if status in (BATCH_SUCCEEDED, BATCH_FAILED):
            self._keep_cost(job_id, detail)
            tail = self._log_tail(detail) if status == BATCH_FAILED else ""
            self.events.job_ended(job_id, ending_of(detail, prices=self.prices, log_tail=tail))
            return f"ended {job_id} ({status}){self._start_waiting()}"
        return f"ignored: {status}"

    def _keep_cost(self, job_id: str, detail: dict[str, Any]) -> None:
        """Every attempt is known once Batch ends the job; a repeated event rewrites the same."""
        cost = job_cost(attempts_of(detail), self.prices)
        if cost is None or self.cost_records is None:
            return
        try:
            self.cost_records.save_cost(job_id, cost.to_json())
        except Exception:  # the thread's answer matters more than the monthly sum
            log.exception("could not keep the cost of job %s", job_id)

    def _sweep(self) -> str:
        if self.jobs is None or self.batch is None or not self.job_queue:
            return "ignored: no job store or Batch queue to sweep"
        waiting = set(self.launcher.waiting()) if self.launcher is not None else set()
        done = sweep(
            self.jobs, self.batch, self.job_queue, self.events, self._batch, waiting=waiting
        )
        started = self._start_waiting()
        return ("; ".join(done) or "swept: nothing lost") + started

    def _start_waiting(self) -> str:
        """Submit the jobs a freed slot lets start; what was done, for the log."""
        if self.launcher is None:
            return ""
        try:
            started = self.launcher.start_waiting()
        except Exception:  # the ending is told already; the sweep will try again
            log.exception("could not start the waiting jobs")
            return ""
        return f"; submitted {', '.join(started)}" if started else ""

    def _failed_request(self, event: dict[str, Any]) -> str:
        condition = (event.get("requestContext") or {}).get("condition")
        log.error("the bot's lazy half failed (%s): %s", condition, event.get("responsePayload"))
        who = requester_of(event)
        if who is None or self.slack is None:
            return "failed request: nobody to tell"
        channel, user, thread = who
        with log_context(channel=channel, user=user):
            try:
                self.slack.chat_postEphemeral(
                    channel=channel, user=user, text=LAZY_WORK_FAILED, thread_ts=thread
                )
            except Exception:  # the log above keeps the failure; Slack may refuse the channel
                log.exception("could not tell %s in %s that their request failed", user, channel)
                return f"failed request: could not tell {user}"
        return f"failed request: told {user} in {channel}"

    def _log_tail(self, detail: dict[str, Any]) -> str:
        stream = log_stream_of(detail)
        if self.logs is None or not self.log_group or not stream:
            return ""
        try:
            answer = self.logs.get_log_events(
                logGroupName=self.log_group,
                logStreamName=stream,
                limit=LOG_TAIL_LINES,
                startFromHead=False,
            )
        except Exception:  # the tail is for the operator's log; its absence changes nothing
            log.exception("could not read the log stream %s", stream)
            return ""
        return readable_tail(str(e.get("message", "")) for e in answer.get("events", []))


def readable_tail(lines: Iterable[str]) -> str:
    """The lines of a job's log a person may be shown: of its JSON lines (the job on Batch
    writes JSON), only the messages of warnings and errors; tracebacks stay in the log."""
    kept = []
    for line in lines:
        found = message_of(line.strip())
        if found is None:
            kept.append(line)
        elif found[0] in TAIL_LEVELS:
            kept.append(found[1])
    return "\n".join(kept)


def _described(event: dict[str, Any]) -> tuple[str, str | None]:
    """(the event's kind, its job's id if it names one), for the log's fields."""
    if event == SWEEP_EVENT:
        return "sweep", None
    if is_failed_invocation(event):
        return "failed request", None
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    if event.get("source") == TRAINING_EVENT_SOURCE:
        job_id = detail.get("job_id")
        return f"training {detail.get('type')}", job_id if isinstance(job_id, str) else None
    if event.get("source") == BATCH_EVENT_SOURCE:
        return f"batch {detail.get('status')}", job_id_of(detail)
    return str(event.get("detail-type") or "unknown"), None


@cache
def _completion() -> Completion:
    """Built once per Lambda container."""
    import boto3

    from bot.aws_lambda.config import lambda_settings
    from bot.backends import load_backend
    from bot.backends.aws.job_store import DynamoJobStore
    from bot.links import derive_link_key
    from bot.model_signature import derive_model_key
    from bot.slack_budget import DynamoWindowCounter, ProgressBudget
    from bot.slack_client import make_client

    settings = lambda_settings(secrets=["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"])
    assert settings.slack_bot_token is not None
    assert settings.slack_signing_secret is not None
    signing_secret = settings.slack_signing_secret.get_secret_value()
    backend = load_backend(settings, link_key=derive_link_key(signing_secret))
    client = make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    # Every invocation shares the workspace's progress budget through the job table.
    assert isinstance(backend.jobs, DynamoJobStore)
    budget = ProgressBudget(
        DynamoWindowCounter(backend.jobs.client, backend.jobs.table),
        per_minute=settings.progress_updates_per_minute,
    )
    notifier = Notifier(client, backend.jobs, backend.artifacts, budget=budget)
    return Completion(
        events=JobEventHandler(
            JobLifecycle(backend.jobs),
            backend.jobs,
            backend.artifacts,
            notifier,
            model_key=derive_model_key(signing_secret),
        ),
        prices=FargatePrices(),
        logs=boto3.client("logs"),
        log_group=os.environ.get(env.JOB_LOG_GROUP),
        jobs=backend.jobs,
        batch=boto3.client("batch"),
        job_queue=settings.aws_job_queue,
        slack=client,
        cost_records=backend.artifacts,
        launcher=backend.launcher,
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"done": _completion().handle(event)}
