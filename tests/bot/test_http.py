"""The bot's front door, over HTTP, without training: the real FastAPI app on a real port, with
requests signed the way Slack signs them, and Slack's stand-in.

The bot runs without its warm worker here, and nothing in these requests reaches a preview or
a job: nothing loads the training stack, so these stay in the fast loop. The end-to-end tests
(`test_end_to_end*.py`) cover the rest, with real training.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.blocks import section_texts
from tests.bot.harness import BotUnderTest, wait_for
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[BotUnderTest]:
    under_test = BotUnderTest(fake_slack, tmp_path / "data", AUTOML_WARM_WORKER=False)
    yield under_test
    under_test.close()


def test_no_file_in_the_channel_gets_a_private_answer(bot: BotUnderTest) -> None:
    bot.post(bot.requests.command(bot.fake.channel, "train target=churned"))
    (answer,) = wait_for(bot.ephemerals, 60, "a private answer")
    assert answer["text"].startswith(":warning: I found no table file (CSV, TSV, Excel or Parquet)")
    assert bot.jobs() == []


def test_unknown_command_gets_usage_privately(bot: BotUnderTest) -> None:
    answer = bot.post(bot.requests.command(bot.fake.channel, "trian target=x"))
    assert answer.status == 200
    body = json.loads(answer.body)
    assert body["response_type"] == "ephemeral"
    problem, usage = section_texts(body["blocks"])
    assert problem.startswith(":warning: I don't know the command “trian”. Did you mean train?")
    assert usage.startswith("*`/automl train target=COLUMN`*")


def test_bad_or_stale_signature_is_refused_and_does_nothing(bot: BotUnderTest) -> None:
    share_calls = len(bot.fake.calls())
    request = bot.requests.command(bot.fake.channel, "train target=churned")
    forged = dict(request.headers, **{"X-Slack-Signature": "v0=" + "0" * 64})
    assert bot.http("POST", "/slack/events", request.bytes, forged).status == 401
    stale = dict(request.headers, **{"X-Slack-Request-Timestamp": "1000000000"})
    assert bot.http("POST", "/slack/events", request.bytes, stale).status == 401
    assert len(bot.fake.calls()) == share_calls
    assert bot.jobs() == []
