"""The completion Lambda's log: JSON lines that say which job and which event, set up at
import as on Lambda, and a failed job's log tail that a person may read."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.aws_lambda.completion_handler import Completion, readable_tail
from bot.cost import FargatePrices
from bot.ports import JobEnding
from common.logs import JsonFormatter, install_record_hooks
from contract.aws import SWEEP_EVENT, TRAINING_EVENT_DETAIL_TYPE, TRAINING_EVENT_SOURCE
from tests.bot.aws_lambda.batch_event import attempt, batch_event
from tests.conftest import REPO

JOB = "3fa9c1b2"


class LoggingEvents:
    """JobEvents that log as the real handler's collaborators do (the notifier, Slack's
    client), and keep what they were told."""

    def __init__(self) -> None:
        self.endings: list[JobEnding] = []
        self.log = logging.getLogger("bot.notifier")

    def job_started(self, job_id: str) -> None:
        self.log.info("posting the start")

    def job_progress(self, job_id: str, event: Any) -> None:
        self.log.info("updating the progress")

    def job_report(self, job_id: str, event: Any) -> None:
        self.log.info("posting the report")

    def job_ended(self, job_id: str, ending: JobEnding) -> None:
        self.endings.append(ending)
        logging.getLogger("slack_sdk.web.base_client").warning("chat.update failed")


class TailLogs:
    """A CloudWatch Logs client with one stream: the job's last lines, as it wrote them."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def get_log_events(self, **_: Any) -> dict[str, Any]:
        return {"events": [{"message": line} for line in self.lines]}


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines written so far by a handler as the Lambda runtime's, once configured."""
    install_record_hooks()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def training_event(kind: str, **fields: Any) -> dict[str, Any]:
    detail = {"job_id": JOB, "type": kind, "at": "2026-12-03T14:00:00Z", **fields}
    return {
        "source": TRAINING_EVENT_SOURCE,
        "detail-type": TRAINING_EVENT_DETAIL_TYPE,
        "detail": detail,
    }


def test_every_line_of_an_event_says_its_job_and_kind(
    lines: Callable[[], list[dict[str, Any]]],
) -> None:
    completion = Completion(events=LoggingEvents(), prices=FargatePrices())
    started = training_event("started", time_budget_s=60, file_name="churn.csv")
    assert completion.handle(started) == f"started {JOB}"
    ended = batch_event(JOB, "SUCCEEDED", attempts=[attempt(1_700_000_000_000, 90)])
    assert completion.handle(ended) == f"ended {JOB} (SUCCEEDED)"
    completion.handle(dict(SWEEP_EVENT))  # no job store: nothing to sweep, no job id
    by_message = {line["message"]: line for line in lines()}
    assert by_message["posting the start"]["job_id"] == JOB
    assert by_message["posting the start"]["event"] == "training started"
    assert by_message[f"started {JOB}"]["job_id"] == JOB  # what was done, logged inside
    library = by_message["chat.update failed"]
    assert (library["job_id"], library["event"], library["level"]) == (
        JOB,
        "batch SUCCEEDED",
        "WARNING",
    )
    swept = by_message["ignored: no job store or Batch queue to sweep"]
    assert swept["event"] == "sweep" and "job_id" not in swept


def test_a_failed_jobs_tail_keeps_its_warnings_words_not_its_traceback() -> None:
    traceback = 'Traceback (most recent call last):\n  File "training/run.py", line 1\nMemoryError'
    job_lines = [
        json.dumps({"level": "INFO", "logger": "training.run", "message": "searching"}),
        json.dumps(
            {
                "level": "ERROR",
                "logger": "training.run",
                "message": "the job failed: out of memory",
                "exception": traceback,
            }
        ),
        "error: cannot read the spec s3://b/runs/x/spec.json: Access Denied",  # a plain line
    ]
    events = LoggingEvents()
    completion = Completion(
        events=events, prices=FargatePrices(), logs=TailLogs(job_lines), log_group="/automl"
    )
    failed = batch_event(JOB, "FAILED", attempts=[attempt(1_700_000_000_000, 9, exit_code=1)])
    completion.handle(failed)
    (ending,) = events.endings
    assert ending.log_tail == (
        "the job failed: out of memory\n"
        "error: cannot read the spec s3://b/runs/x/spec.json: Access Denied"
    )
    assert readable_tail(["  ", "plain"]) == "  \nplain"


@pytest.mark.slow
def test_importing_the_handler_on_lambda_sets_up_json_logs() -> None:
    """In a fresh interpreter, as Lambda's: the runtime's handler is on the root logger
    before the module is imported; the import turns its lines into JSON at INFO."""
    script = (
        "import logging, sys\n"
        "runtime = logging.StreamHandler(sys.stdout)\n"
        "runtime.setFormatter(logging.Formatter('[%(levelname)s] %(message)s'))\n"
        "logging.getLogger().addHandler(runtime)\n"
        "from bot.aws_lambda import completion_handler\n"
        "from common.logs import log_context\n"
        "with log_context(job_id='3fa9c1b2'):\n"
        "    logging.getLogger('bot.job_events').info('moved to running')\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUTOML_LOG_")}
    environment["AWS_LAMBDA_FUNCTION_NAME"] = "automl-completion"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    (line,) = [json.loads(text) for text in done.stdout.splitlines()]
    assert line["message"] == "moved to running" and line["level"] == "INFO"
    assert line["job_id"] == "3fa9c1b2" and line["logger"] == "bot.job_events"


class StaleJobs:
    """A job store with one job running for an hour."""

    def list_by_status(self, *statuses: str) -> list[Any]:
        created = datetime.now(UTC) - timedelta(hours=1)
        return [SimpleNamespace(job_id=JOB, status="running", created_at=created)]


class EmptyBatch:
    """Batch knowing no job of that name."""

    def get_paginator(self, name: str) -> Any:
        return SimpleNamespace(paginate=lambda **_: [{"jobSummaryList": []}])


def test_the_sweep_logs_each_job_it_acts_on_with_its_id(
    lines: Callable[[], list[dict[str, Any]]],
) -> None:
    events = LoggingEvents()
    completion = Completion(
        events=events,
        prices=FargatePrices(),
        jobs=StaleJobs(),  # type: ignore[arg-type]
        batch=EmptyBatch(),
        job_queue="automl-jobs",
    )
    assert completion.handle(dict(SWEEP_EVENT)) == f"swept: lost {JOB}"
    by_message = {line["message"]: line for line in lines()}
    lost = by_message[f"job {JOB} is running but Batch has no job automl-{JOB}"]
    assert (lost["job_id"], lost["event"]) == (JOB, "sweep")
    assert by_message["chat.update failed"]["job_id"] == JOB  # the ending it reported
    assert "job_id" not in by_message[f"swept: lost {JOB}"]  # the sweep as a whole
