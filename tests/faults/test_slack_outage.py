"""Slack failing on its side (HTTP 500/503) and rate limiting (429) in bursts while a job ends:
the results still reach the job's thread, once, with every chart."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.bot.test_notifier import World, finished, start, w
from tests.builders import make_result
from tests.fakes.slack_api import retry_waits

__all__ = ["retry_waits", "w"]


@pytest.fixture
def backoff_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits of slack_sdk's server-error retries (handler.py sleeps), recorded, not slept."""
    from slack_sdk.http_retry import handler

    waits: list[float] = []
    monkeypatch.setattr(handler, "time", SimpleNamespace(sleep=waits.append))
    return waits


def test_results_arrive_through_a_burst_of_server_errors(
    w: World, backoff_waits: list[float], retry_waits: list[float]
) -> None:
    start(w)
    w.write_result(make_result(w.job))
    w.fake.server_error("chat.update", times=2)
    w.fake.server_error("chat.postMessage", times=3, status=503)
    w.fake.server_error("files.completeUploadExternal", times=1)

    w.events.job_ended(w.job.job_id, finished(w.job))

    assert "succeeded" in w.status_text()
    results, charts = w.replies()  # exactly these two: nothing lost, nothing twice
    assert results["text"].startswith("<@U0HUMAN> Results for churn.csv")
    assert len(charts["files"]) == 2
    assert len(backoff_waits) == 6


def test_results_arrive_through_server_errors_and_rate_limits_mixed(
    w: World, backoff_waits: list[float], retry_waits: list[float]
) -> None:
    start(w)
    w.write_result(make_result(w.job))
    w.fake.server_error("chat.postMessage", times=2)
    w.fake.rate_limit("chat.postMessage", times=1, retry_after=2)

    w.events.job_ended(w.job.job_id, finished(w.job))

    results, _charts = w.replies()
    assert results["text"].startswith("<@U0HUMAN> Results for churn.csv")
    statuses = [c.status for c in w.fake.calls("chat.postMessage")]
    assert statuses[-4:] == [500, 500, 429, 200]
    assert len(retry_waits) == 1 and 2 <= retry_waits[0] < 3
