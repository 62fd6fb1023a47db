"""Slack surfaces end to end (issue 12, item 5): which tables get a preview, results shared
in the channel, direct messages, and what happens when the app is uninstalled.

The real app on a real port, Slack faked by the stand-in, real previews and training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.backends.local.artifacts import LocalArtifactStore
from bot.messages.sharing import SHARE_BUTTON_ACTION
from tests.bot.blocks import element, shown
from tests.bot.harness import BotUnderTest, wait_for
from tests.bot.test_end_to_end_more import (
    CHURN,
    HUMAN,
    command,
    replies,
    results_in,
    share,
    start_bot,
    wait_job,
    wait_preview,
    wait_private,
)
from tests.fakes.slack_api import fake_slack

__all__ = ["fake_slack", "start_bot"]

pytestmark = pytest.mark.slow


def share_with_text(
    bot: BotUnderTest, text: str, *, channel: str | None = None, name: str = "churn.csv"
) -> dict[str, Any]:
    """A person shares a file with a message `text`; Slack tells the bot."""
    where = channel or bot.fake.channel
    file = bot.fake.add_file(name, CHURN, channel=where, user=HUMAN, text=text)
    file["channel"] = where
    message = bot.fake.message(where, file["message_ts"])
    assert bot.post(bot.requests.file_shared(where, message)).status == 200
    return file


# ---- AUTOML_PREVIEW ---------------------------------------------------------------------------


def test_preview_mention_previews_only_a_table_shared_with_a_mention(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot(AUTOML_PREVIEW="mention")
    quiet = share_with_text(bot, "numbers for the meeting", name="quiet.csv")
    asked = share_with_text(bot, f"<@{bot.fake.bot_user_id}> what is in here?")
    preview = wait_preview(bot, asked)
    assert ":bar_chart: *churn.csv*" in str(preview["blocks"])
    # The first share's event was handled long before the second's preview was drawn.
    assert replies(bot, quiet) == []
    assert not [c for c in bot.fake.calls("files.info") if c.params.get("file") == quiet["id"]]


def test_preview_auto_previews_every_table(start_bot: Callable[..., BotUnderTest]) -> None:
    bot = start_bot()
    file = share_with_text(bot, "numbers for the meeting")
    assert wait_for(lambda: replies(bot, file), 120, "the preview")


# ---- share=channel and the Share in channel button ---------------------------------------------


def broadcasts(bot: BotUnderTest) -> list[dict[str, Any]]:
    """The thread replies also sent to the channel (what conversations.history shows)."""
    return [
        m for m in bot.fake.messages(bot.fake.channel) if m.get("subtype") == "thread_broadcast"
    ]


def test_share_channel_posts_a_one_line_summary_in_the_channel(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot()
    file = share(bot)
    wait_preview(bot, file)
    command(bot, "train target=churned time=8s share=channel")
    job = wait_job(bot)
    assert job.share_to == "channel"
    results_in(bot, file)
    summary = wait_for(lambda: broadcasts(bot), 60, "the summary in the channel")
    assert len(summary) == 1 and summary[0]["thread_ts"] == file["message_ts"]
    text = summary[0]["text"]
    assert "`churned`" in text and "*churn.csv*" in text and f"`{job.job_id}`" in text
    assert "best *" in text and "validation" in text and f"<@{HUMAN}>" in text
    # conversations.history shows it in the channel, as Slack does for such a reply.
    client = WebClient(token=bot.fake.bot_token, base_url=bot.fake.url)
    top = client.conversations_history(channel=bot.fake.channel)["messages"]
    assert summary[0]["ts"] in [m["ts"] for m in top]


def test_the_share_button_shares_once_and_only_for_the_owner(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot()
    file = share(bot)
    wait_preview(bot, file)
    command(bot, "train target=churned time=8s")
    job = wait_job(bot)
    results = results_in(bot, file)
    block_id, button = element(results["blocks"], SHARE_BUTTON_ACTION)
    assert button["value"] == job.job_id
    assert broadcasts(bot) == []  # not asked to share

    def click(user: str) -> None:
        request = bot.requests.block_action(
            bot.fake.channel, results, {**button, "block_id": block_id}, user=user
        )
        assert bot.post(request).status == 200

    click("U0OTHER")
    refusal = wait_private(bot, "can share these results", user="U0OTHER")
    assert f"<@{HUMAN}>" in " ".join(shown(refusal))
    assert broadcasts(bot) == []

    click(HUMAN)
    wait_private(bot, f"Shared a summary of job `{job.job_id}`")
    assert len(wait_for(lambda: broadcasts(bot), 30, "the summary")) == 1
    click(HUMAN)  # a second click posts nothing more
    wait_private(bot, "shared in the channel already")
    assert len(broadcasts(bot)) == 1


# ---- app_uninstalled and tokens_revoked -------------------------------------------------------


def uninstall_while_training(bot: BotUnderTest, request: Any) -> None:
    """A job trains; then Slack sends `request`. The job stops, its data goes, Slack hears
    nothing more from the bot."""
    file = share(bot)
    wait_preview(bot, file)
    command(bot, "train target=churned time=120s")
    job = wait_job(bot)
    assert job.team_id == bot.fake.team_id
    wait_for(lambda: bot.job(job.job_id).status == "running", 60, "the job to run")
    artifacts = bot.bot.backend.artifacts
    assert isinstance(artifacts, LocalArtifactStore)
    run_dir = artifacts.run_dir(job.job_id)
    assert run_dir.exists() and artifacts.has_dataset(job.job_id)
    assert bot.bot.backend.jobs.claim("a request handled before")

    assert bot.post(request).status == 200
    wait_for(lambda: bot.job(job.job_id) is None, 30, "the job's record to be deleted")
    calls = len(bot.fake.calls())
    # The job stops (SIGTERM: it writes its interrupted result) and what it wrote goes too.
    wait_for(lambda: not jobs_running(bot), 40, "the job's process to stop")
    wait_for(lambda: not run_dir.exists(), 30, "the run folder to be deleted")
    assert not artifacts.has_dataset(job.job_id)
    assert bot.jobs() == []
    assert bot.bot.backend.jobs.claim("a request handled before")  # the claims went too
    assert bot.fake.calls()[calls:] == []  # the token is dead: no call after it


def jobs_running(bot: BotUnderTest) -> bool:
    """Whether the local launcher still follows a job process."""
    launcher: Any = bot.bot.backend.launcher
    return bool(launcher._running)  # the local launcher's; no public view of it


def test_app_uninstalled_stops_jobs_and_deletes_the_workspace_data(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot()
    uninstall_while_training(bot, bot.requests.app_uninstalled())


def test_the_bot_token_revoked_does_the_same(start_bot: Callable[..., BotUnderTest]) -> None:
    bot = start_bot()
    uninstall_while_training(bot, bot.requests.tokens_revoked(bot=[bot.fake.bot_user_id]))


# ---- direct messages --------------------------------------------------------------------------


def test_a_table_sent_in_a_dm_is_previewed_trained_and_answered_there(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot(AUTOML_PREVIEW="mention")  # a DM is addressed to the bot: still previewed
    dm = bot.fake.add_channel("D0HUMAN")
    file = share(bot, channel=dm)
    preview = wait_preview(bot, file)
    assert ":bar_chart: *churn.csv*" in str(preview["blocks"])

    text = "train target=churned time=8s"  # typed in the file's thread, no mention
    ts = bot.fake.post_user_message(dm, text, thread_ts=file["message_ts"])
    request = bot.requests.direct_message(dm, text, ts=ts, thread_ts=file["message_ts"])
    assert bot.post(request).status == 200
    job = wait_for(lambda: bot.bot.backend.jobs.list_for_channel(dm, limit=5), 60, "the DM's job")[
        0
    ]
    assert job.channel_id == dm and job.thread_ts == file["message_ts"]
    results = results_in(bot, file)
    assert results["thread_ts"] == file["message_ts"]
    assert bot.fake.messages(bot.fake.channel) == []  # nothing went to the channel


def test_words_in_a_dm_that_are_no_command_get_the_usage(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot()
    dm = bot.fake.add_channel("D0HUMAN")
    ts = bot.fake.post_user_message(dm, "hello there")
    assert bot.post(bot.requests.direct_message(dm, "hello there", ts=ts)).status == 200
    answer = wait_private(bot, "/automl")
    assert answer["channel"] == dm and bot.jobs() == []
