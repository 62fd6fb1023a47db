"""Predictions from Slack, end to end: train on the sample, share new rows, ask for a
prediction by slash command and by mention in the thread, and read the CSV the bot uploads.

The real FastAPI app, the local backend and real jobs (`python -m training predict`); Slack's
Web API is the stand-in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot.blocks import shown
from tests.bot.harness import BotUnderTest, wait_for
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

pytestmark = pytest.mark.slow

CHURN = SAMPLE_CHURN.read_bytes()
NEW_CUSTOMERS = (SAMPLE_CHURN.parent / "new-customers.csv").read_bytes()
NEW_ROWS = NEW_CUSTOMERS.decode().count("\n") - 1


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[BotUnderTest]:
    under_test = BotUnderTest(fake_slack, tmp_path / "data", AUTOML_MAX_JOBS_PER_USER=2)
    yield under_test
    under_test.close()
    terminate = getattr(under_test.bot.backend.launcher, "terminate_all", None)
    if terminate:
        terminate()


def share(bot: BotUnderTest, name: str, content: bytes) -> dict[str, Any]:
    file = bot.fake.add_file(name, content, channel=bot.fake.channel)
    return file


def share_in_thread(bot: BotUnderTest, thread_ts: str, name: str, content: bytes) -> str:
    """A person attaches a file to a reply in a thread; the reply's ts."""
    workspace = bot.fake.workspace
    channel = bot.fake.channel
    with workspace.lock:
        obj = workspace.store_file(workspace.new_id("F"), name, name, content, "U0HUMAN")
        message = workspace.append_message(
            channel, {"user": "U0HUMAN", "text": "", "files": [obj]}, thread_ts
        )
        workspace.record_share(obj, channel, message["ts"], thread_ts)
    return str(message["ts"])


def thread(bot: BotUnderTest, ts: str) -> list[dict[str, Any]]:
    return bot.fake.thread(bot.fake.channel, ts)


def train(bot: BotUnderTest) -> tuple[str, dict[str, Any]]:
    file = share(bot, "churn.csv", CHURN)
    bot.post(bot.requests.command(bot.fake.channel, "train target=churned time=8s"))
    job_id = str(wait_for(lambda: bot.jobs() and bot.jobs()[0].job_id, 60, "the training job"))
    assert bot.wait_for_job_end(job_id).status == "succeeded"
    return job_id, file


def newest_job(bot: BotUnderTest, kind: str) -> Any:
    return wait_for(
        lambda: next((j for j in bot.jobs() if j.kind == kind), None), 60, f"a {kind} job"
    )


def uploaded_csv(bot: BotUnderTest, thread_ts: str) -> list[dict[str, str]]:
    """The rows of the predictions CSV uploaded into the thread."""

    def upload() -> dict[str, Any] | None:
        for message in thread(bot, thread_ts):
            for file in message.get("files") or []:
                if file["name"].startswith("predictions-"):
                    return file
        return None

    file = wait_for(upload, 60, "the predictions CSV in the thread")
    assert file is not None
    content = bot.fake.workspace.file_bytes[file["id"]].decode("utf-8")
    return list(csv.DictReader(io.StringIO(content)))


def prediction_message(bot: BotUnderTest, thread_ts: str) -> str:
    found = wait_for(
        lambda: [m for m in thread(bot, thread_ts) if any("Scored *" in t for t in shown(m))],
        60,
        "the prediction message",
    )
    return "\n".join(shown(found[0]))


def test_predict_by_command_then_by_mention_in_the_results_thread(bot: BotUnderTest) -> None:
    model_job, training_file = train(bot)

    # A second file in the channel, scored by slash command: the answer is in its thread.
    new_file = share(bot, "new-customers.csv", NEW_CUSTOMERS)
    bot.post(bot.requests.command(bot.fake.channel, f"predict {model_job}"))
    job = newest_job(bot, "predict")
    assert job.model_job_id == model_job and job.file_name == "new-customers.csv"
    assert bot.wait_for_job_end(job.job_id).status == "succeeded"
    rows = uploaded_csv(bot, new_file["message_ts"])
    assert len(rows) == NEW_ROWS
    header = list(rows[0])
    assert header[:11] == NEW_CUSTOMERS.decode().splitlines()[0].split(",")
    assert header[11:] == ["predicted_churned", "probability_no", "probability_yes", "reasons"]
    assert {r["predicted_churned"] for r in rows} <= {"yes", "no"}
    assert all(r["reasons"] for r in rows)
    words = prediction_message(bot, new_file["message_ts"])
    assert f"*{NEW_ROWS:,}* row(s) of *new-customers.csv*" in words
    assert "`no`" in words and "“customer_id”" in words  # the spread; the ignored columns
    status = bot.fake.message(bot.fake.channel, bot.job(job.job_id).status_ts)
    assert any("Scoring *new-customers.csv*: *succeeded*" in t for t in shown(status))

    # In the training file's thread: a new file shared there, `@AutoML predict` without a job.
    reply_ts = share_in_thread(bot, training_file["message_ts"], "more.csv", NEW_CUSTOMERS)
    bot.post(
        bot.requests.mention(
            bot.fake.channel,
            f"<@{bot.fake.bot_user_id}> predict",
            ts=reply_ts,
            thread_ts=training_file["message_ts"],
        )
    )
    second = wait_for(
        lambda: next(
            (j for j in bot.jobs() if j.kind == "predict" and j.file_name == "more.csv"), None
        ),
        60,
        "the mention's prediction job",
    )
    assert second is not None and second.model_job_id == model_job
    assert bot.wait_for_job_end(second.job_id).status == "succeeded"
    assert len(uploaded_csv(bot, training_file["message_ts"])) == NEW_ROWS


def test_refusals_say_what_to_do(bot: BotUnderTest) -> None:
    model_job, _ = train(bot)

    # A file without columns the model needs: the job refuses, naming them.
    lacking = "\n".join(
        ",".join(line.split(",")[:6]) for line in NEW_CUSTOMERS.decode().splitlines()
    )
    missing_file = share(bot, "partial.csv", lacking.encode())
    bot.post(bot.requests.command(bot.fake.channel, f"predict {model_job}"))
    job = newest_job(bot, "predict")
    assert bot.wait_for_job_end(job.job_id).status == "failed"
    failure = wait_for(
        lambda: [
            t for m in thread(bot, missing_file["message_ts"]) for t in shown(m) if "lacks" in t
        ],
        60,
        "the refusal in the thread",
    )
    assert "“tenure_months”" in failure[0] and "No row was scored" in failure[0]

    # A model from another channel: refused before any job, for someone else.
    other = bot.fake.add_channel("C0OTHER")
    share_elsewhere = bot.fake.add_file("new.csv", NEW_CUSTOMERS, channel=other, user="U0OTHER")
    assert share_elsewhere
    before = len(bot.bot.backend.jobs.list_for_channel(other))
    bot.post(bot.requests.command(other, f"predict {model_job}", user="U0OTHER"))
    answer = wait_for(lambda: bot.ephemerals("U0OTHER"), 30, "the refusal")
    assert f"There is no job `{model_job}`" in str(answer[-1])
    assert len(bot.bot.backend.jobs.list_for_channel(other)) == before

    # Not a table: asked in its thread, refused before any job.
    notes = share(bot, "notes.txt", b"just some words\n")
    count = len(bot.jobs())
    bot.post(
        bot.requests.mention(
            bot.fake.channel,
            f"<@{bot.fake.bot_user_id}> predict {model_job}",
            ts=bot.fake.post_user_message(bot.fake.channel, "x", thread_ts=notes["message_ts"]),
            thread_ts=notes["message_ts"],
        )
    )
    answer = wait_for(lambda: [e for e in bot.ephemerals() if "table" in str(e)], 30, "refusal")
    assert "There is no table file in this thread" in str(answer[-1])
    assert len(bot.jobs()) == count


def test_a_file_over_the_limit_is_refused_in_its_thread(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    bot = BotUnderTest(fake_slack, tmp_path / "data", AUTOML_MAX_FILE_MB=0.2)
    try:
        model_job, _ = train(bot)
        big = NEW_CUSTOMERS + NEW_CUSTOMERS.split(b"\n", 1)[1] * 20  # about 0.4 MB
        big_file = share(bot, "big.csv", big)
        bot.post(bot.requests.command(bot.fake.channel, f"predict {model_job}"))
        job = newest_job(bot, "predict")
        assert bot.wait_for_job_end(job.job_id).status == "failed"
        refusal = wait_for(
            lambda: [
                m
                for m in thread(bot, big_file["message_ts"])
                if any("AUTOML_MAX_FILE_MB" in t for t in shown(m))
            ],
            60,
            "the size refusal",
        )
        words = " ".join(shown(refusal[0]))
        assert ":x: *Scoring big.csv failed.*" in words and "the limit is 205 KB" in words
    finally:
        bot.close()
        bot.bot.backend.launcher.terminate_all()  # type: ignore[attr-defined]
