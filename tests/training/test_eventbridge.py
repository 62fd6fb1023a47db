"""`EventBridgeSink`: the envelope, the 10 s progress limit, failures kept out of the job."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from contract.aws import TRAINING_EVENT_DETAIL_TYPE, TRAINING_EVENT_SOURCE
from contract.jobs import FinishedEvent, ProgressEvent, StartedEvent
from tests.training.conftest import FakeAws
from training.aws.eventbridge import EventBridgeSink


class FakeEvents:
    def __init__(self, reply: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self._reply = reply or {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}
        self._error = error

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self._error is not None:
            raise self._error
        self.entries.extend(Entries)
        return self._reply


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _progress(trials: int) -> ProgressEvent:
    return ProgressEvent(job_id="j1", stage="search", elapsed_s=1, budget_s=60, trials=trials)


def test_progress_at_most_every_10_s_started_and_finished_always() -> None:
    events, clock = FakeEvents(), Clock()
    sink = EventBridgeSink("automl-bus", events, clock=clock)

    sink(StartedEvent(job_id="j1", time_budget_s=60, file_name="a.csv"))
    for trials in range(1, 30):  # one progress event a second for 29 s
        sink(_progress(trials))
        clock.now += 1
    sink(FinishedEvent(job_id="j1", status="succeeded", result_path="s3://b/runs/j1/result.json"))

    sent = [ProgressEvent.model_validate_json(e["Detail"]).trials for e in events.entries[1:-1]]
    assert sent == [1, 11, 21]
    assert StartedEvent.model_validate_json(events.entries[0]["Detail"]).job_id == "j1"
    assert FinishedEvent.model_validate_json(events.entries[-1]["Detail"]).status == "succeeded"
    for entry in events.entries:
        assert entry["Source"] == TRAINING_EVENT_SOURCE == "automl.training"
        assert entry["DetailType"] == TRAINING_EVENT_DETAIL_TYPE == "AutoML Training Event"
        assert entry["EventBusName"] == "automl-bus"


def test_failures_are_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="training.aws.eventbridge")
    broken = EventBridgeSink("bus", FakeEvents(error=RuntimeError("network down")))
    broken(StartedEvent(job_id="j1", time_budget_s=60, file_name="a.csv"))
    broken(_progress(1))  # and it keeps trying
    assert caplog.text.count("could not send the") == 2

    refused = FakeEvents(
        reply={
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
        }
    )
    EventBridgeSink("bus", refused)(_progress(1))
    assert "refused the progress event: InternalFailure try again" in caplog.text


def test_a_missing_bus_is_logged_not_raised(
    fake_aws: FakeAws, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="training.aws.eventbridge")
    sink = EventBridgeSink("no-such-bus", fake_aws.client("events"))
    sink(StartedEvent(job_id="j1", time_budget_s=60, file_name="a.csv"))
    assert "could not send the started event to EventBridge bus no-such-bus" in caplog.text


def test_events_reach_a_rule_on_the_bus(fake_aws: FakeAws) -> None:
    """What the completion Lambda's rule matches on: source, detail-type, the event as detail."""
    queue = fake_aws.event_queue("sink-only")
    sink = EventBridgeSink("default", fake_aws.client("events"))
    sink(StartedEvent(job_id="sink-only", time_budget_s=60, file_name="a.csv"))
    sink(FinishedEvent(job_id="sink-only", status="failed", result_path="s3://b/r.json"))

    envelopes = fake_aws.received_events(queue)
    assert sorted(e["detail"]["type"] for e in envelopes) == ["finished", "started"]
    assert {(e["source"], e["detail-type"]) for e in envelopes} == {
        (TRAINING_EVENT_SOURCE, TRAINING_EVENT_DETAIL_TYPE)
    }
    assert {e["detail"]["job_id"] for e in envelopes} == {"sink-only"}
