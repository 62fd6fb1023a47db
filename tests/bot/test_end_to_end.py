"""The whole bot, end to end: signed HTTP requests in, Slack Web API calls out, real training.

Each test talks to the bot the way Slack does (through the real FastAPI app on a real port)
and checks what a person would see in the file's thread.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.preview_blocks import TARGET_SELECT_ACTION, TRAIN_BUTTON_ACTION
from tests.bot.harness import BotUnderTest, wait_for
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

pytestmark = pytest.mark.slow

CHURN = SAMPLE_CHURN.read_bytes()


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[BotUnderTest]:
    under_test = BotUnderTest(fake_slack, tmp_path / "data")
    yield under_test
    under_test.close()
    terminate = getattr(under_test.bot.backend.launcher, "terminate_all", None)
    if terminate:
        terminate()


def share(bot: BotUnderTest, name: str = "churn.csv", content: bytes = CHURN) -> dict[str, Any]:
    """A person shares a file in the channel; Slack tells the bot. Returns the file."""
    file = bot.fake.add_file(name, content, channel=bot.fake.channel)
    message = bot.fake.message(bot.fake.channel, file["message_ts"])
    assert bot.post(bot.requests.file_shared(bot.fake.channel, message)).status == 200
    return file


def replies(bot: BotUnderTest, file: dict[str, Any]) -> list[dict[str, Any]]:
    return bot.fake.thread(bot.fake.channel, file["message_ts"])[1:]


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(m.get("blocks") or m.get("text")) for m in messages)


def started_job_id(bot: BotUnderTest, count: int = 1) -> str:
    jobs = wait_for(lambda: len(bot.jobs()) >= count and bot.jobs(), 60, "a job to be recorded")
    return jobs[0].job_id


def is_results(message: dict[str, Any]) -> bool:
    blocks = message.get("blocks") or []
    header = blocks[0].get("text", {}).get("text", "") if blocks else ""
    return header.startswith("Results") and any(b["type"] == "table" for b in blocks)


def find_element(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    raise AssertionError(f"no {action_id} in the message")


# ---- the happy path --------------------------------------------------------------------------


def test_upload_preview_train_progress_results(bot: BotUnderTest) -> None:
    file = share(bot)
    preview = wait_for(lambda: replies(bot, file), 120, "the preview")[0]
    shown = texts([preview])
    assert "churned" in shown and "3,000" in shown.replace("3000", "3,000")
    find_element(preview, TRAIN_BUTTON_ACTION)
    find_element(preview, TARGET_SELECT_ACTION)

    answer = bot.post(bot.requests.command(bot.fake.channel, "train target=churned time=8s"))
    assert answer.status == 200  # the ack; the job starts after it
    job_id = started_job_id(bot)
    job = bot.wait_for_job_end(job_id)
    assert job.status == "succeeded"

    thread = wait_for(lambda: len(replies(bot, file)) >= 4 and replies(bot, file), 60, "results")
    status = bot.fake.message(bot.fake.channel, job.status_ts)
    assert "succeeded" in texts([status])
    results = [m for m in thread if is_results(m)]
    assert len(results) == 1, "one results message with a native table leaderboard"
    links = re.findall(r"<(http[^|>]+)\|", json.dumps(results[0]["blocks"]))
    charts = [m for m in thread if m.get("files")]
    assert len(charts) == 1, "all charts in one message"
    assert all(f["mimetype"] == "image/png" and f.get("alt_txt") for f in charts[0]["files"])
    assert len(charts[0]["files"]) >= 3

    # Progress went through chat.update on the one status message, throttled.
    updates = [c for c in bot.fake.calls("chat.update") if c.params.get("ts") == job.status_ts]
    assert len(updates) >= 2  # running ... final

    # The model link downloads; an altered or foreign link does not.
    assert all(link.startswith(bot.url + "/artifacts/" + job_id) for link in links)
    model = next(link for link in links if "model" in link)
    download = bot.get(model)
    assert download.status == 200 and "attachment" in download.headers["content-disposition"]
    assert download.body == (bot.data_dir / "runs" / job_id / "model.joblib").read_bytes()
    assert bot.get(model.replace("sig=", "sig=0")).status == 403
    assert bot.get(model.replace(job_id, "someone-else")).status == 403


# ---- failures in the thread --------------------------------------------------------------------


def test_missing_target_is_explained_in_the_thread(bot: BotUnderTest) -> None:
    file = share(bot)
    bot.post(bot.requests.command(bot.fake.channel, "train target=churnd"))
    job = bot.wait_for_job_end(started_job_id(bot))
    assert job.status == "failed"
    thread = wait_for(
        lambda: [m for m in replies(bot, file) if "failed" in texts([m]).lower()], 60, "failure"
    )
    shown = texts(thread)
    assert "churnd" in shown and "churned" in shown  # says what is missing and suggests
    assert "Traceback" not in shown


def test_a_file_that_is_not_a_table(bot: BotUnderTest) -> None:
    page = b"<!DOCTYPE html><html><body>export failed</body></html>"
    file = share(bot, "report.csv", page)
    preview = wait_for(lambda: replies(bot, file), 120, "the preview")
    assert "table" in texts(preview).lower() or "read" in texts(preview).lower()
    bot.post(bot.requests.command(bot.fake.channel, "train target=label"))
    job = bot.wait_for_job_end(started_job_id(bot))
    assert job.status == "failed"
    assert "Traceback" not in texts(replies(bot, file))


def test_no_file_in_the_channel_gets_a_private_answer(bot: BotUnderTest) -> None:
    bot.post(bot.requests.command(bot.fake.channel, "train target=churned"))
    answer = wait_for(bot.ephemerals, 60, "a private answer")
    assert "file" in texts(answer).lower()
    assert bot.jobs() == []


def test_unknown_command_gets_usage_privately(bot: BotUnderTest) -> None:
    answer = bot.post(bot.requests.command(bot.fake.channel, "trian target=x"))
    assert answer.status == 200
    body = json.loads(answer.body)
    assert body["response_type"] == "ephemeral"
    assert "train" in json.dumps(body["blocks"])


# ---- Slack's contract --------------------------------------------------------------------------


def test_bad_or_stale_signature_is_refused_and_does_nothing(bot: BotUnderTest) -> None:
    share_calls = len(bot.fake.calls())
    request = bot.requests.command(bot.fake.channel, "train target=churned")
    forged = dict(request.headers, **{"X-Slack-Signature": "v0=" + "0" * 64})
    assert bot.http("POST", "/slack/events", request.bytes, forged).status == 401
    stale = dict(request.headers, **{"X-Slack-Request-Timestamp": "1000000000"})
    assert bot.http("POST", "/slack/events", request.bytes, stale).status == 401
    assert len(bot.fake.calls()) == share_calls
    assert bot.jobs() == []


def test_event_retries_and_double_clicks_start_one_job(bot: BotUnderTest) -> None:
    file = share(bot)
    preview = wait_for(lambda: replies(bot, file), 120, "the preview")[0]
    block_id, button = find_element(preview, TRAIN_BUTTON_ACTION)
    for _ in range(2):  # a double click
        bot.post(
            bot.requests.block_action(bot.fake.channel, preview, {**button, "block_id": block_id})
        )
    ts = bot.fake.post_user_message(
        bot.fake.channel, "<@U0BOT> train target=churned", thread_ts=file["message_ts"]
    )
    mention = bot.requests.mention(
        bot.fake.channel,
        "<@U0BOT> train target=churned",
        ts=ts,
        thread_ts=file["message_ts"],
        event_id="Ev0RETRY",
    )
    bot.post(mention)
    bot.post(
        bot.requests.mention(
            bot.fake.channel,
            "<@U0BOT> train target=churned",
            ts=ts,
            thread_ts=file["message_ts"],
            event_id="Ev0RETRY",
        ),
        **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    job_id = started_job_id(bot)
    bot.wait_for_job_end(job_id)
    assert len(bot.jobs()) == 1


def test_rate_limited_posts_are_retried(bot: BotUnderTest) -> None:
    bot.fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    file = share(bot)
    wait_for(lambda: replies(bot, file), 120, "the preview despite a 429")
    limited = [c for c in bot.fake.calls("chat.postMessage") if c.status == 429]
    assert limited


# ---- cancel, limits, restart -------------------------------------------------------------------


def test_cancel_a_running_job(bot: BotUnderTest) -> None:
    file = share(bot)
    bot.post(bot.requests.command(bot.fake.channel, "train target=churned time=2m"))
    job_id = started_job_id(bot)
    wait_for(lambda: bot.job(job_id).status == "running", 60, "the job to run")
    bot.post(bot.requests.command(bot.fake.channel, f"cancel {job_id}"))
    job = bot.wait_for_job_end(job_id, 60)
    assert job.status == "cancelled"
    status = wait_for(
        lambda: "cancelled" in texts([bot.fake.message(bot.fake.channel, job.status_ts)]),
        60,
        "the status message to say cancelled",
    )
    assert status
    assert file


def test_one_job_at_a_time_per_person(bot: BotUnderTest) -> None:
    share(bot)
    bot.post(bot.requests.command(bot.fake.channel, "train target=churned time=1m"))
    job_id = started_job_id(bot)
    bot.post(bot.requests.command(bot.fake.channel, "train target=plan"))
    answer = wait_for(
        lambda: [e for e in bot.ephemerals() if "limit" in texts([e]).lower()], 60, "the limit"
    )
    assert job_id in texts(answer)
    assert len(bot.jobs()) == 1
    bot.post(bot.requests.command(bot.fake.channel, f"cancel {job_id}"))
    bot.wait_for_job_end(job_id, 60)


def test_restart_reattaches_to_a_running_job(fake_slack: FakeSlack, tmp_path: Path) -> None:
    first = BotUnderTest(fake_slack, tmp_path / "data")
    file = share(first)
    first.post(first.requests.command(fake_slack.channel, "train target=churned time=15s"))
    job_id = started_job_id(first)
    wait_for(lambda: first.job(job_id).status == "running", 60, "the job to run")
    first.close()  # the bot goes away; the training process does not

    second = BotUnderTest(fake_slack, tmp_path / "data")
    try:
        job = second.wait_for_job_end(job_id)
        assert job.status == "succeeded"
        wait_for(
            lambda: any(is_results(m) for m in replies(second, file)),
            60,
            "the results posted by the restarted bot",
        )
    finally:
        second.close()


def test_restart_after_the_job_died_reports_it(fake_slack: FakeSlack, tmp_path: Path) -> None:
    first = BotUnderTest(fake_slack, tmp_path / "data")
    file = share(first)
    first.post(first.requests.command(fake_slack.channel, "train target=churned time=1m"))
    job_id = started_job_id(first)
    wait_for(lambda: first.job(job_id).status == "running", 60, "the job to run")
    first.close()
    launch = json.loads((tmp_path / "data" / "runs" / job_id / "launcher.json").read_text())
    os.killpg(launch["pid"], signal.SIGKILL)  # the machine lost the job while the bot was down
    wait_for(
        lambda: not Path(f"/proc/{launch['pid']}").exists() or _zombie(launch["pid"]), 30, "kill"
    )

    second = BotUnderTest(fake_slack, tmp_path / "data")
    try:
        job = second.wait_for_job_end(job_id, 60)
        assert job.status == "failed"
        thread = wait_for(
            lambda: [m for m in replies(second, file) if "restart" in texts([m]).lower()],
            60,
            "the thread to be told",
        )
        assert thread
    finally:
        second.close()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
