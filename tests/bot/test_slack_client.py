"""make_client: the real slack_sdk WebClient, waiting out Slack's rate limits (fake Slack)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack_client import SERVER_ERROR_RETRIES, make_client
from tests.fakes.slack_api import FakeSlack, retry_waits

__all__ = ["retry_waits"]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def test_rate_limited_post_is_retried_after_retry_after(
    fake: FakeSlack, retry_waits: list[float]
) -> None:
    client = make_client(fake.bot_token, fake.url)
    fake.rate_limit("chat.postMessage", times=2, retry_after=7)

    response = client.chat_postMessage(channel=fake.channel, text="hello")

    assert response["ok"]
    calls = fake.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 429, 200]
    assert len(retry_waits) == 2  # it waited Retry-After (7 s, and a little more) before each
    assert all(7 <= wait < 8 for wait in retry_waits)
    assert [m["text"] for m in fake.messages(fake.channel)] == ["hello"]


def test_gives_up_after_max_rate_limit_retries(fake: FakeSlack, retry_waits: list[float]) -> None:
    client = make_client(fake.bot_token, fake.url, max_rate_limit_retries=1)
    fake.rate_limit("chat.update", times=5, retry_after=0)

    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=fake.channel, ts="1.000001", text="x")

    assert err.value.response.status_code == 429
    assert len(fake.calls("chat.update")) == 2


def test_client_settings(fake: FakeSlack) -> None:
    client = make_client("xoxb-token", fake.url, timeout_s=12)
    assert client.base_url == fake.url
    assert client.timeout == 12
    kinds = {type(h) for h in client.retry_handlers}
    assert kinds == {
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    }


@pytest.fixture
def backoff_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits slack_sdk's server-error retries ask for (handler.py sleeps), not slept."""
    from slack_sdk.http_retry import handler

    waits: list[float] = []
    monkeypatch.setattr(handler, "time", SimpleNamespace(sleep=waits.append))
    return waits


def test_a_burst_of_server_errors_on_a_post_is_waited_out(
    fake: FakeSlack, backoff_waits: list[float]
) -> None:
    client = make_client(fake.bot_token, fake.url)
    fake.server_error("chat.postMessage", times=2, status=500)
    fake.server_error("chat.postMessage", times=1, status=503)

    response = client.chat_postMessage(channel=fake.channel, text="results")

    assert response["ok"]
    assert [c.status for c in fake.calls("chat.postMessage")] == [500, 500, 503, 200]
    assert [m["text"] for m in fake.messages(fake.channel)] == ["results"]  # once
    assert len(backoff_waits) == 3
    assert all(1 <= a < b for a, b in itertools.pairwise(backoff_waits))


def test_server_errors_past_the_retries_raise(fake: FakeSlack, backoff_waits: list[float]) -> None:
    client = make_client(fake.bot_token, fake.url)
    fake.server_error("chat.update", times=SERVER_ERROR_RETRIES + 1)

    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=fake.channel, ts="1.000001", text="x")

    assert err.value.response.status_code == 500
    assert len(fake.calls("chat.update")) == SERVER_ERROR_RETRIES + 1


def test_stand_in_answers_server_errors_as_slack_does(fake: FakeSlack) -> None:
    fake.server_error("auth.test", status=503)
    status, body, _ = fake.api.call("auth.test", {}, fake.bot_token)
    assert (status, body) == (503, {"ok": False, "error": "service_unavailable"})
    assert fake.api.call("auth.test", {}, fake.bot_token)[0] == 200  # the burst is over
    with pytest.raises(ValueError, match="status must be one of"):
        fake.server_error("auth.test", status=502)
