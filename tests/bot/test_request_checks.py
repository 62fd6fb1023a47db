"""A request is checked against the file's previewed columns before any job exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.column_names import closest, fold, match
from bot.command_parser import TrainCommand
from bot.errors import UserFacingError
from bot.runtime import Bot, build_bot
from bot.service import TrainRequest
from tests.bot.harness import make_settings
from tests.bot.test_service import HeldLauncher
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

COLUMNS = ["customer_id", "gekündigt", "churned", "Monthly Charges", "plan"]


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    built = build_bot(make_settings(fake_slack, tmp_path / "data"))
    built.backend.launcher = HeldLauncher()
    yield built
    built.close()


def shared(bot: Bot, fake: FakeSlack, columns: list[str] | None = COLUMNS) -> dict[str, Any]:
    """A shared file; with `columns`, as its preview found them."""
    file = fake.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=fake.channel)
    if columns is not None:
        bot.backend.jobs.remember_columns(file["id"], columns)
    return file


def ask(bot: Bot, fake: FakeSlack, target: str, **command: Any) -> Any:
    return bot.service.train(
        TrainRequest(
            user_id="U0HUMAN",
            channel_id=fake.channel,
            command=TrainCommand(target=target, **command),
        )
    )


def test_names_match_up_to_case_accents_and_spacing() -> None:
    assert fold("Gekündigt_ Status") == fold("gekundigt-status") == "gekundigtstatus"
    assert match(COLUMNS, "churned") == "churned"
    assert match(COLUMNS, "gekundigt") == "gekündigt"
    assert match(COLUMNS, "monthly_charges") == "Monthly Charges"
    assert match(COLUMNS, "chrun") is None
    assert match(["a b", "a_b"], "ab") is None  # two candidates: not a guess
    assert closest(COLUMNS, "chrun") == ["churned"]


def test_a_loosely_typed_target_uses_the_column_and_says_so(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    shared(bot, fake_slack)
    started = ask(bot, fake_slack, "gekundigt", exclude=("monthly_charges",))
    assert started.created and started.job.target == "gekündigt"
    assert started.job.exclude_columns == ("Monthly Charges",)
    sentence = started.sentence()
    assert "Using column `gekündigt` for target=gekundigt." in sentence
    assert "Using column `Monthly Charges` for exclude=monthly_charges." in sentence


def test_a_typo_is_refused_at_once_and_a_corrected_command_starts(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    shared(bot, fake_slack)
    with pytest.raises(UserFacingError) as refused:
        ask(bot, fake_slack, "chrun")
    assert refused.value.code == "column_not_found"
    assert "no column `chrun`" in refused.value.message
    assert "`churned`" in refused.value.hint
    assert bot.backend.jobs.count_active() == 0
    assert bot.backend.launcher.submitted == []  # type: ignore[attr-defined]

    with pytest.raises(UserFacingError, match="no column `nope`"):
        ask(bot, fake_slack, "churned", keep=("nope",))

    started = ask(bot, fake_slack, "churned")  # the slot and the claim are still free
    assert started.created and started.job.target == "churned"


def test_an_unpreviewed_file_is_left_to_the_job(bot: Bot, fake_slack: FakeSlack) -> None:
    shared(bot, fake_slack, columns=None)
    started = ask(bot, fake_slack, "chrun")
    assert started.created and started.job.target == "chrun"


def test_a_request_that_loses_the_race_for_the_last_slot_leaves_no_claim(
    bot: Bot, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request took the slot between the early count and the record."""
    shared(bot, fake_slack)
    other = ask(bot, fake_slack, "plan").job
    monkeypatch.setattr(bot.service, "_check_user_limit", lambda user_id: None)
    with pytest.raises(UserFacingError, match="the limit is 1"):
        ask(bot, fake_slack, "churned")
    assert bot.backend.jobs.count_active() == 1
    bot.service.cancel("U0HUMAN", other.job_id)
    assert ask(bot, fake_slack, "churned").created  # its claim was released


@pytest.mark.slow
def test_through_the_app_a_typo_starts_nothing_and_the_fix_starts_a_job(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Real app, real preview subprocess, signed requests over HTTP, the Slack stand-in."""
    from tests.bot.blocks import shown
    from tests.bot.harness import BotUnderTest, wait_for
    from tests.bot.test_end_to_end_more import (
        command,
        share,
        wait_preview,
        wait_private,
    )

    under_test = BotUnderTest(fake_slack, tmp_path / "data")
    try:
        file = share(under_test)
        wait_preview(under_test, file)
        wait_for(lambda: under_test.bot.backend.jobs.columns_of(file["id"]), 30, "the columns")

        command(under_test, "train target=chrun time=6s")
        refusal = wait_private(under_test, "no column `chrun`")
        assert any("Did you mean `churned`" in text for text in shown(refusal))
        assert under_test.jobs() == []

        command(under_test, "train target=Churned time=6s")
        wait_private(under_test, "Using column `churned` for target=Churned.")
        (job,) = wait_for(under_test.jobs, 30, "the job")
        assert job.target == "churned"
        under_test.bot.service.cancel(job.user_id, job.job_id)
    finally:
        under_test.close()
        terminate = getattr(under_test.bot.backend.launcher, "terminate_all", None)
        if terminate:
            terminate()
