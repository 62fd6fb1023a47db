"""The command parser: every form a chat user writes, and a clear problem for every mistake."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.command_parser import (
    DEFAULT_TIME_BUDGET_S,
    CancelCommand,
    CommandError,
    HelpCommand,
    ListCommand,
    StatusCommand,
    TrainCommand,
    parse_command,
    parse_duration,
    strip_mentions,
    unwrap_slack_formatting,
)
from contract.jobs import MAX_TIME_BUDGET_S, MIN_TIME_BUDGET_S


def problem(text: str, **kwargs: str) -> str:
    with pytest.raises(CommandError) as caught:
        parse_command(text, **kwargs)
    assert str(caught.value) == caught.value.problem
    return caught.value.problem


# ---- train -----------------------------------------------------------------------------------


def test_train_minimal_uses_defaults() -> None:
    assert parse_command("train target=label") == TrainCommand(
        target="label",
        time_budget_s=DEFAULT_TIME_BUDGET_S,
        metric="auto",
        task="auto",
        exclude=(),
        keep=(),
        file_name=None,
    )


def test_train_all_options() -> None:
    command = parse_command(
        "train target=label time=5m metric=roc_auc task=classification exclude=a,b file=x.csv"
    )
    assert command == TrainCommand(
        target="label",
        time_budget_s=300,
        metric="roc_auc",
        task="classification",
        exclude=("a", "b"),
        file_name="x.csv",
    )


@pytest.mark.parametrize(
    "text",
    [
        "TRAIN TARGET=label",
        "Train Target = label",
        "train target =label",
        "train target= label",
        "train --target label",
        "train --target=label",
        "train —target label",  # Slack's autocorrect of --
        "train target label",
        "train label",
        "train 'label'",
        "  train   target=label  ",
        "train\u00a0target=label",
        "run target=label",
        "target=label",  # the word train forgotten
        "--target label",
    ],
)
def test_train_forgiving_forms(text: str) -> None:
    command = parse_command(text)
    assert isinstance(command, TrainCommand)
    assert command.target == "label"


@pytest.mark.parametrize(
    "text",
    [
        'train target="Churn Flag"',
        "train target=“Churn Flag”",
        "train target = “Churn Flag” time=1m",
        "train target='Churn Flag'",
        "train target=‘Churn Flag’",
        'train "Churn Flag"',
        'train --target "Churn Flag"',
    ],
)
def test_quoted_target_with_spaces(text: str) -> None:
    command = parse_command(text)
    assert isinstance(command, TrainCommand)
    assert command.target == "Churn Flag"


def test_bare_first_word_is_target_with_options() -> None:
    assert parse_command("train churned time=90s") == TrainCommand(
        target="churned", time_budget_s=90
    )
    assert parse_command("train time=2m churned") == TrainCommand(
        target="churned", time_budget_s=120
    )


def test_a_column_called_like_an_option() -> None:
    assert parse_command("train target") == TrainCommand(target="target")
    assert parse_command("train target time=5m") == TrainCommand(target="target", time_budget_s=300)
    assert parse_command("train target=time") == TrainCommand(target="time")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exclude=a,b", ("a", "b")),
        ("exclude=a, b", ("a", "b")),
        ("exclude = a , b ,c", ("a", "b", "c")),
        ("exclude=a,,b,", ("a", "b")),
        ("exclude=a,a,b", ("a", "b")),
        ('exclude="customer id", email', ("customer id", "email")),
        ("exclude=“Customer ID”,Email", ("Customer ID", "Email")),
        ('exclude="a,b"', ("a,b",)),
        ("--exclude id,email", ("id", "email")),
    ],
)
def test_exclude_lists(text: str, expected: tuple[str, ...]) -> None:
    command = parse_command(f"train target=y {text} time=1m")
    assert isinstance(command, TrainCommand)
    assert command.exclude == expected
    assert command.time_budget_s == 60


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("5m", 300),
        ("1h", 3600),
        ("1.5h", 5400),
        ("1,5h", 5400),
        ("1h30m", 5400),
        ("2m 30s", 150),
        ("5 min", 300),
        ("10 minutes", 600),
        ("2 Hours", 7200),
        ("5", 5),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_duration_with_space_before_unit_in_command() -> None:
    command = parse_command("train target=y time = 5 m")
    assert isinstance(command, TrainCommand)
    assert command.time_budget_s == 300


def test_task_and_metric_are_normalised() -> None:
    command = parse_command("train target=y task=Regression metric=R2")
    assert command == TrainCommand(target="y", task="regression", metric="r2")
    command = parse_command("train target=y task=classifier metric=roc-auc")
    assert command == TrainCommand(target="y", task="classification", metric="roc_auc")
    assert parse_command("train target=y task=auto") == TrainCommand(target="y")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("keep=a,b", ("a", "b")),
        ("keep=a, b", ("a", "b")),
        ("keep = a , b ,c", ("a", "b", "c")),
        ("keep=a,,b,a", ("a", "b")),
        ('keep="customer id", email', ("customer id", "email")),
        ('keep="a,b"', ("a,b",)),
        ("--keep id,email", ("id", "email")),
        ("KEEP=id", ("id",)),
        ("keep_columns=id", ("id",)),
    ],
)
def test_keep_lists(text: str, expected: tuple[str, ...]) -> None:
    command = parse_command(f"train target=y {text} time=1m")
    assert isinstance(command, TrainCommand)
    assert command.keep == expected
    assert command.exclude == ()
    assert command.time_budget_s == 60


def test_keep_with_exclude_and_in_a_mention() -> None:
    assert parse_command("<@U1> train target=y keep=a, b exclude = c , d") == TrainCommand(
        target="y", exclude=("c", "d"), keep=("a", "b")
    )
    assert parse_command("train target=y keep=<mailto:a@b.c|a@b.c>") == TrainCommand(
        target="y", keep=("a@b.c",)
    )


def test_a_column_kept_and_excluded_is_an_error() -> None:
    assert problem("train target=y keep=a exclude=a") == (
        "“a” is in both keep and exclude: a column is either kept or left out,"
        " so take it out of one of them."
    )
    assert "“a” and “b” are in both keep and exclude" in problem(
        "train target=y keep=a, b, c exclude=b,a"
    )


def test_the_target_cannot_be_kept() -> None:
    assert "cannot be in keep" in problem("train target=y keep=x,y")


def test_keep_without_value_and_twice() -> None:
    assert problem("train target=y keep=") == "keep needs a value, like keep=customer_id."
    assert problem("train target=y keep=a keep=b").startswith("keep is given twice")


def test_option_aliases() -> None:
    command = parse_command("train target=y --time-budget 2m filename=a.csv")
    assert command == TrainCommand(target="y", time_budget_s=120, file_name="a.csv")


def test_unicode_column_names() -> None:
    assert parse_command("train target=Größe") == TrainCommand(target="Größe")
    assert parse_command("train 売上") == TrainCommand(target="売上")
    assert parse_command("train target=“Kündigung (ja/nein)” exclude=名前,年齢, Straße") == (
        TrainCommand(target="Kündigung (ja/nein)", exclude=("名前", "年齢", "Straße"))
    )
    assert parse_command("train target=🎯 file=données.csv") == TrainCommand(
        target="🎯", file_name="données.csv"
    )


def test_column_names_keep_their_case_and_apostrophes() -> None:
    assert parse_command("train target=Customer's_Churn") == TrainCommand(target="Customer's_Churn")


# ---- Slack formatting and mentions -----------------------------------------------------------


def test_slack_links_are_unwrapped() -> None:
    assert parse_command("train target=y file=<http://sales.io|sales.io>") == TrainCommand(
        target="y", file_name="sales.io"
    )
    assert parse_command("train target=<mailto:a@b.com|a@b.com>") == TrainCommand(target="a@b.com")
    assert parse_command("train target=y file=<https://x.io/data.csv>") == TrainCommand(
        target="y", file_name="https://x.io/data.csv"
    )
    assert parse_command("train target=y exclude=a&amp;b") == TrainCommand(
        target="y", exclude=("a&b",)
    )


def test_unwrap_helpers() -> None:
    assert unwrap_slack_formatting("<http://x|x> and <mailto:a@b.c>") == "x and a@b.c"
    assert unwrap_slack_formatting("&lt;5 &amp; &gt;3") == "<5 & >3"


def test_mention_is_stripped() -> None:
    assert parse_command("<@U123> train target=label") == TrainCommand(target="label")
    assert parse_command("<@U123|automl>   status") == StatusCommand()
    assert parse_command("<@U123> <@U456> list") == ListCommand()
    assert parse_command("<@U123>") == HelpCommand()
    assert parse_command("<@U123> automl train y") == TrainCommand(target="y")


def test_mention_of_the_bot_anywhere_with_its_id() -> None:
    assert parse_command("train <@UBOT> target=y", bot_user_id="UBOT") == TrainCommand(target="y")
    assert strip_mentions("<@UOTHER> hi <@UBOT>", "UBOT") == "<@UOTHER> hi"
    assert strip_mentions("<@U1> <@U2> help") == "help"


# ---- other commands --------------------------------------------------------------------------


def test_status_list_cancel_help() -> None:
    assert parse_command("status") == StatusCommand(job_id=None)
    assert parse_command("Status 20250101-093000-ab12") == StatusCommand(
        job_id="20250101-093000-ab12"
    )
    assert parse_command("status job=abc") == StatusCommand(job_id="abc")
    assert parse_command("list") == ListCommand()
    assert parse_command("LS") == ListCommand()
    assert parse_command("cancel 20250101-093000-ab12") == CancelCommand(
        job_id="20250101-093000-ab12"
    )
    assert parse_command("stop abc") == CancelCommand(job_id="abc")
    assert parse_command("cancel --job abc") == CancelCommand(job_id="abc")
    assert parse_command("help") == HelpCommand()
    assert parse_command("help train") == HelpCommand(topic="train")
    assert parse_command("") == HelpCommand()
    assert parse_command("   ") == HelpCommand()


def test_commands_are_frozen() -> None:
    command = parse_command("train target=y")
    assert isinstance(command, TrainCommand)
    with pytest.raises(AttributeError):
        command.target = "z"  # type: ignore[misc]
    hash(command)


# ---- errors ----------------------------------------------------------------------------------


def test_unknown_command_suggests_the_closest() -> None:
    text = problem("trian target=y")
    assert "“trian”" in text
    assert "Did you mean train?" in text
    assert "Did you mean status?" in problem("stats")
    assert "Did you mean cancel?" in problem("cancle abc")
    text = problem("banana")
    assert "Did you mean" not in text
    assert "train, predict, status, list, cancel, cost, models, retrain and help" in text


def test_unknown_option_suggests_the_closest() -> None:
    text = problem("train target=y traget=z")
    assert "“traget”" in text
    assert "Did you mean target=…?" in text
    assert "Did you mean exclude=…?" in problem("train target=y exlude=a")
    assert "Did you mean metric=…?" in problem("train target=y --metrc r2")
    assert "Did you mean keep=…?" in problem("train target=y kep=a")
    assert "target, time, metric, task, exclude, keep, file and share" in problem(
        "train target=y colour=red"
    )


def test_missing_target() -> None:
    for text in ("train", "train time=5m", "TRAIN metric=r2 task=regression"):
        assert "target=COLUMN" in problem(text)
    assert "empty" in problem('train target=""')


def test_option_without_value() -> None:
    assert problem("train target=") == "target needs a value, like target=churned."
    assert "time=5m" in problem("train target=y time=")
    assert "time=5m" in problem("train target=y --time")
    assert "before it" in problem("train =y")


@pytest.mark.parametrize("value", ["fast", "5x", "m", "1h30", "-5m", "5m!"])
def test_bad_duration(value: str) -> None:
    assert problem(f"train target=y time={value}") == (
        f"“{value}” is not a time budget; try 90s, 5m or 1h."
    )


def test_duration_out_of_range() -> None:
    assert MIN_TIME_BUDGET_S == 5
    assert problem("train target=y time=2s") == (
        "A time budget of 2 s is too short: the shortest is 5 s."
    )
    assert "too short" in problem("train target=y time=0")
    assert problem("train target=y time=7h") == (
        "A time budget of 7 h is too long: the longest is 6 h."
    )
    assert "too long" in problem(f"train target=y time={MAX_TIME_BUDGET_S + 1}")
    assert parse_duration(str(MAX_TIME_BUDGET_S)) == MAX_TIME_BUDGET_S


def test_bad_task() -> None:
    text = problem("train target=y task=clasification")
    assert "“clasification”" in text
    assert "Did you mean classification?" in text
    assert "auto, classification or regression" in text
    assert "Did you mean" not in problem("train target=y task=clustering")


def test_cancel_without_job() -> None:
    assert "Give its id" in problem("cancel")
    assert "Give its id" in problem("<@U1> cancel")


def test_bad_job_ids() -> None:
    assert "is not a job id" in problem("cancel ../etc")
    assert "one job id" in problem("cancel a b")
    assert "one job id" in problem("status a b")
    assert "list takes nothing" in problem("list all")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("train target=a target=b", "target"),
        ("train target=a TARGET=b", "target"),
        ("train a target=b", "target"),
        ("train target=a --target b", "target"),
        ("train target=y time=1m time=2m", "time"),
        ("train target=y time=1m budget=2m", "time"),
        ("train target=y exclude=a exclude=b", "exclude"),
        ("train target=y file=a.csv filename=b.csv", "file"),
    ],
)
def test_duplicated_option_is_an_error(text: str, key: str) -> None:
    assert problem(text).startswith(f"{key} is given twice")


def test_several_bare_words_ask_for_quotes() -> None:
    text = problem("train Churn Flag")
    assert 'target="Churn Flag"' in text


def test_stray_word_after_options() -> None:
    assert "name=value" in problem("train target=y 5m")


def test_target_cannot_be_excluded() -> None:
    assert "cannot be excluded" in problem("train target=y exclude=x,y")


def test_unclosed_quote() -> None:
    assert "never closed" in problem('train target="Churn Flag')


def test_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, bot.command_parser; "
        "heavy = {'pandas', 'flaml', 'plotly', 'slack_sdk', 'slack_bolt', 'fastapi', 'numpy'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_share_channel_asks_for_a_summary_in_the_channel() -> None:
    command = parse_command("train target=churned share=channel")
    assert isinstance(command, TrainCommand) and command.share_to == "channel"
    assert parse_command("train target=churned share=thread") == TrainCommand(target="churned")
    assert parse_command("train target=churned --share #channel") == TrainCommand(
        target="churned", share_to="channel"
    )
    with pytest.raises(CommandError, match="share=channel"):
        parse_command("train target=churned share=everyone")
