"""JobService with the real local stores and the Slack fake, but a launcher under test control.

No training runs here: these are the paths where a job ends, or never starts, before
training would (and the end-to-end tests cover the rest).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.command_parser import TrainCommand
from bot.errors import UserFacingError
from bot.jobs import Job
from bot.runtime import Bot, build_bot
from bot.service import TrainRequest
from tests.bot.blocks import in_thread, section_texts, section_with
from tests.bot.harness import make_settings
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]


class HeldLauncher:
    """Accepts jobs and never starts them (or refuses them, when told to)."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.submitted: list[str] = []
        self.cancelled: list[str] = []

    def submit(self, job: Job, spec_uri: str) -> None:
        if self.refuse:
            raise OSError("no more processes")
        assert Path(spec_uri).is_file()
        self.submitted.append(job.job_id)

    def cancel(self, job: Job) -> None:
        self.cancelled.append(job.job_id)

    def queue_position(self, job_id: str) -> int | None:
        return self.submitted.index(job_id) + 1 if job_id in self.submitted else None


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    settings = make_settings(fake_slack, tmp_path / "data", AUTOML_MAX_TIME_BUDGET_S=600)
    built = build_bot(settings)
    built.backend.launcher = HeldLauncher()
    yield built
    built.close()


def ask(bot: Bot, fake: FakeSlack, text_target: str = "churned", **command: Any) -> Any:
    return bot.service.train(
        TrainRequest(
            user_id="U0HUMAN",
            channel_id=fake.channel,
            command=TrainCommand(target=text_target, **command),
        )
    )


def status_line(bot: Bot, fake: FakeSlack, job_id: str) -> str:
    """The first line of the job's status message, as the thread shows it now."""
    job = bot.backend.jobs.get(job_id)
    assert job is not None and job.status_ts is not None
    status = fake.message(fake.channel, job.status_ts)
    assert status["thread_ts"] == job.thread_ts
    return section_texts(status["blocks"])[0].splitlines()[0]


def what_went_wrong(fake: FakeSlack, thread_ts: str) -> str:
    """The failure message's "What went wrong" section, in the thread."""
    failure = in_thread(fake, fake.channel, thread_ts, containing="*What went wrong:*")
    return section_with(failure["blocks"], "*What went wrong:*")


def test_a_job_is_staged_announced_and_handed_over(bot: Bot, fake_slack: FakeSlack) -> None:
    file = fake_slack.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel)
    started = ask(bot, fake_slack, time_budget_s=120)
    job = started.job
    assert started.created and job.thread_ts == file["message_ts"]
    assert job.time_budget_s == 120
    assert bot.backend.launcher.submitted == [job.job_id]  # type: ignore[attr-defined]
    spec = json.loads((bot.settings.data_dir / "runs" / job.job_id / "spec.json").read_text())
    assert Path(spec["dataset_uri"]).read_bytes() == SAMPLE_CHURN.read_bytes()
    assert spec["limits"]["max_file_mb"] == bot.settings.max_file_mb  # the bot's own limits
    assert status_line(bot, fake_slack, job.job_id) == (
        ":hourglass_flowing_sand: Training on *churn.csv*: *queued*"
    )

    again = ask(bot, fake_slack, time_budget_s=120)  # the same request typed twice
    assert not again.created and again.job.job_id == job.job_id


def test_the_column_lists_reach_the_job_and_its_spec(bot: Bot, fake_slack: FakeSlack) -> None:
    fake_slack.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel)
    job = ask(bot, fake_slack, exclude=("notes",), keep=("customer_id", "refund amount")).job
    assert job.exclude_columns == ("notes",)
    assert job.keep_columns == ("customer_id", "refund amount")
    stored = bot.backend.jobs.get(job.job_id)
    assert stored is not None and stored.keep_columns == ("customer_id", "refund amount")
    spec = json.loads((bot.settings.data_dir / "runs" / job.job_id / "spec.json").read_text())
    assert spec["exclude_columns"] == ["notes"]
    assert spec["keep_columns"] == ["customer_id", "refund amount"]


def test_the_default_budget_and_the_ceiling(bot: Bot, fake_slack: FakeSlack) -> None:
    fake_slack.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel)
    with pytest.raises(UserFacingError, match="more than this bot allows"):
        ask(bot, fake_slack, time_budget_s=3600)
    assert bot.backend.jobs.count_active() == 0
    started = ask(bot, fake_slack)
    assert started.job.time_budget_s == bot.settings.default_time_budget_s


def test_a_launcher_failure_ends_the_job_in_its_thread(bot: Bot, fake_slack: FakeSlack) -> None:
    bot.backend.launcher = HeldLauncher(refuse=True)
    file = fake_slack.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel)
    job = ask(bot, fake_slack).job
    stored = bot.backend.jobs.get(job.job_id)
    assert stored is not None and stored.status == "failed"
    assert what_went_wrong(fake_slack, file["message_ts"]) == (
        "*What went wrong:* The bot could not start the training."  # not the OSError
    )
    assert status_line(bot, fake_slack, job.job_id) == ":x: Training on *churn.csv*: *failed*"


def test_cancelling_a_waiting_job_says_so_in_the_thread(bot: Bot, fake_slack: FakeSlack) -> None:
    file = fake_slack.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel)
    job = ask(bot, fake_slack).job
    assert job.thread_ts == file["message_ts"]
    with pytest.raises(UserFacingError, match="only they can cancel"):
        bot.service.cancel("U0SOMEONE", job.job_id)
    assert "Cancelled job" in bot.service.cancel("U0HUMAN", job.job_id)
    assert bot.backend.launcher.cancelled == [job.job_id]  # type: ignore[attr-defined]
    stored = bot.backend.jobs.get(job.job_id)
    assert stored is not None and stored.status == "cancelled"
    assert status_line(bot, fake_slack, job.job_id) == (
        ":no_entry_sign: Training on *churn.csv*: *cancelled*"
    )
    assert "already ended" in bot.service.cancel("U0HUMAN", job.job_id)


def test_a_file_over_the_limit_ends_the_job_with_the_reason(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(fake_slack, tmp_path / "data", AUTOML_MAX_FILE_MB=0.01)
    bot = build_bot(settings)
    bot.backend.launcher = HeldLauncher()
    try:
        file = fake_slack.add_file(
            "churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel
        )
        started = ask(bot, fake_slack)
        job = started.job
        stored = bot.backend.jobs.get(job.job_id)
        assert stored is not None and stored.status == "failed"
        assert "the limit is 10 KB" in what_went_wrong(fake_slack, file["message_ts"])
        assert "could not start" in started.sentence()  # not "Started job"
        assert not (settings.data_dir / "datasets" / job.job_id).exists()  # nothing kept
    finally:
        bot.close()


def test_status_of_a_job_is_only_for_its_channel_or_its_owner(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    fake_slack.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel)
    job = ask(bot, fake_slack).job
    assert job.job_id in bot.service.status("U0HUMAN", "D0ELSEWHERE", job.job_id)  # the owner
    assert job.job_id in bot.service.status(
        "U0OTHER", fake_slack.channel, job.job_id
    )  # the channel
    with pytest.raises(UserFacingError, match="There is no job"):
        bot.service.status("U0STRANGER", "D0STRANGER", job.job_id)


def test_two_clicks_at_the_same_moment_start_one_job(bot: Bot, fake_slack: FakeSlack) -> None:
    import threading

    fake_slack.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake_slack.channel)
    start = threading.Barrier(4)
    outcomes: list[object] = []

    def click() -> None:
        start.wait()
        try:
            outcomes.append(ask(bot, fake_slack))
        except UserFacingError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bot.backend.jobs.list_for_channel(fake_slack.channel)) == 1
    created = [o for o in outcomes if getattr(o, "created", False)]
    assert len(created) == 1
    # The others joined the job, or were told it is already starting or already running.
    others = [o for o in outcomes if o is not created[0]]
    told = ("already_starting", "limit_reached")
    winner = created[0].job.job_id
    assert all(
        o in told or getattr(getattr(o, "job", None), "job_id", None) == winner for o in others
    )
