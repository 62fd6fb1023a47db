"""The whole bot, end to end: signed HTTP requests in, Slack Web API calls out, real training.

Each test talks to the bot the way Slack does (through the real FastAPI app on a real port)
and checks what a person would see in the file's thread.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.messages.failure import RESTARTED_WHILE_RUNNING
from bot.model_signature import derive_model_key, file_sha256, signed_sha256
from bot.preview_blocks import TARGET_SELECT_ACTION, TRAIN_BUTTON_ACTION
from tests.bot.blocks import (
    element,
    header_text,
    links,
    of_type,
    says,
    section_texts,
    section_with,
    shown,
)
from tests.bot.harness import SIGNING_SECRET, BotUnderTest, wait_for
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


def nothing_broken(messages: list[dict[str, Any]]) -> bool:
    return not [text for m in messages for text in shown(m) if "Traceback" in text]


def started_job_id(bot: BotUnderTest, count: int = 1) -> str:
    jobs = wait_for(lambda: len(bot.jobs()) >= count and bot.jobs(), 60, "a job to be recorded")
    return jobs[0].job_id


def is_results(message: dict[str, Any]) -> bool:
    blocks = message.get("blocks") or []
    return header_text(blocks).startswith("Results") and len(of_type(blocks, "table")) == 1


# ---- the happy path --------------------------------------------------------------------------


def test_upload_preview_train_progress_results(bot: BotUnderTest) -> None:
    file = share(bot)
    preview = wait_for(lambda: replies(bot, file), 120, "the preview")[0]
    assert section_texts(preview["blocks"])[0].startswith(":bar_chart: *churn.csv*: 3,000 rows")
    assert "`churned`" in section_with(preview["blocks"], "*Suggested target:*")
    element(preview["blocks"], TRAIN_BUTTON_ACTION)
    element(preview["blocks"], TARGET_SELECT_ACTION)

    answer = bot.post(bot.requests.command(bot.fake.channel, "train target=churned time=8s"))
    assert answer.status == 200  # the ack; the job starts after it
    job_id = started_job_id(bot)
    job = bot.wait_for_job_end(job_id)
    assert job.status == "succeeded"

    thread = wait_for(lambda: len(replies(bot, file)) >= 4 and replies(bot, file), 60, "results")
    status = bot.fake.message(bot.fake.channel, job.status_ts)
    assert says(status, ":white_check_mark: Training on *churn.csv*: *succeeded*")
    results = [m for m in thread if is_results(m)]
    assert len(results) == 1, "one results message with a native table leaderboard"
    shared = links(results[0]["blocks"])
    charts = [m for m in thread if m.get("files")]
    assert len(charts) == 1, "all charts in one message"
    assert all(f["mimetype"] == "image/png" and f.get("alt_txt") for f in charts[0]["files"])
    assert len(charts[0]["files"]) >= 3

    # Progress went through chat.update on the one status message, throttled.
    updates = [c for c in bot.fake.calls("chat.update") if c.params.get("ts") == job.status_ts]
    assert len(updates) >= 2  # running ... final

    # The model link downloads; an altered or foreign link does not.
    assert shared and all(
        url.startswith(f"{bot.url}/artifacts/{job_id}/") for url in shared.values()
    )
    model = shared["Download the model"]
    download = bot.get(model)
    assert download.status == 200 and "attachment" in download.headers["content-disposition"]
    assert download.body == (bot.data_dir / "runs" / job_id / "model.joblib").read_bytes()
    # The bot signed the model's SHA-256 (the job recorded it) for `automl predict`.
    run = bot.data_dir / "runs" / job_id
    signed = signed_sha256((run / "model.sig").read_bytes(), [derive_model_key(SIGNING_SECRET)])
    assert signed == file_sha256(run / "model.joblib")
    assert bot.get(model.replace("sig=", "sig=0")).status == 403
    assert bot.get(model.replace(job_id, "someone-else")).status == 403


# ---- failures in the thread --------------------------------------------------------------------


def test_missing_target_is_explained_in_the_thread(bot: BotUnderTest) -> None:
    # Not previewed (its columns unknown to the bot): the job finds the typo.
    file = bot.fake.add_file("churn.csv", CHURN, channel=bot.fake.channel)
    bot.post(bot.requests.command(bot.fake.channel, "train target=churnd"))
    job = bot.wait_for_job_end(started_job_id(bot))
    assert job.status == "failed"
    (failure,) = wait_for(
        lambda: [m for m in replies(bot, file) if says(m, "*What went wrong:*")], 60, "failure"
    )
    assert "churnd" in section_with(failure["blocks"], "*What went wrong:*")  # what is missing
    assert "churned" in section_with(failure["blocks"], "*What to do:*")  # and a suggestion
    assert nothing_broken(replies(bot, file))


def test_a_file_that_is_not_a_table(bot: BotUnderTest) -> None:
    page = b"<!DOCTYPE html><html><body>export failed</body></html>"
    file = share(bot, "report.csv", page)
    preview = wait_for(lambda: replies(bot, file), 120, "the preview")[0]
    assert says(preview, ":warning: *I couldn't preview report.csv.*")
    why = section_with(preview["blocks"], "*What went wrong:*").lower()
    assert "table" in why or "read" in why
    bot.post(bot.requests.command(bot.fake.channel, "train target=label"))
    job = bot.wait_for_job_end(started_job_id(bot))
    assert job.status == "failed"
    assert nothing_broken(replies(bot, file))


# ---- Slack's contract --------------------------------------------------------------------------


def test_event_retries_and_double_clicks_start_one_job(bot: BotUnderTest) -> None:
    file = share(bot)
    preview = wait_for(lambda: replies(bot, file), 120, "the preview")[0]
    block_id, button = element(preview["blocks"], TRAIN_BUTTON_ACTION)
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
        lambda: says(
            bot.fake.message(bot.fake.channel, job.status_ts),
            ":no_entry_sign: Training on *churn.csv*: *cancelled*",
        ),
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
    (answer,) = wait_for(
        lambda: [e for e in bot.ephemerals() if "the limit is 1" in e["text"]], 60, "the limit"
    )
    assert job_id in answer["text"]
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
            lambda: [
                m
                for m in replies(second, file)
                if says(m, f"*What went wrong:* {RESTARTED_WHILE_RUNNING}")
            ],
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
