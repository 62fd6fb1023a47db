"""The words about models: `/automl models`, `retrain`, the comparison, the Home tab."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.command_parser import CommandError, ModelsCommand, RetrainCommand, parse_command
from bot.messages.home import home_view
from bot.messages.model_forms import PREDICT_BUTTON_ACTION, model_buttons, pick_model_form
from bot.messages.models import age_text, model_option_text, models_list
from bot.messages.retraining import comparison_lines
from bot.models import UsableModel
from contract.jobs import ModelComparison, utc_now
from tests.bot.blocks import element, texts
from tests.builders import make_job
from tests.fakes.slack_api import validate_blocks


def _model(**overrides: object) -> UsableModel:
    job = make_job(job_id="abcd1234", target="churned", file_name="churn.csv", status="succeeded")
    return UsableModel(job, overrides.get("metric", "roc_auc"), overrides.get("score", 0.8123))  # type: ignore[arg-type]


def test_models_and_retrain_are_commands() -> None:
    assert parse_command("models") == ModelsCommand()
    assert parse_command("model") == ModelsCommand()
    assert parse_command("retrain") == RetrainCommand()
    assert parse_command("<@U0BOT> retrain 3fa9c1b2") == RetrainCommand(job_id="3fa9c1b2")
    with pytest.raises(CommandError, match="takes nothing after it"):
        parse_command("models churned")
    with pytest.raises(CommandError):
        parse_command("retrain not/a/job")


def test_models_list_says_id_target_score_file_and_age() -> None:
    model = _model()
    now = model.job.created_at + timedelta(hours=3)
    text = models_list([model], now)
    assert "`abcd1234` predicts *churned* · ROC AUC 0.8123 · churn.csv · 3 h ago" in text
    assert "no trained model yet" in models_list([], now)
    assert model_option_text(model, now) == "abcd1234 · churned · ROC AUC 0.8123 · 3 h ago"
    assert len(model_option_text(_model(), now)) <= 75
    assert age_text(utc_now() - timedelta(days=2)) == "2 days ago"
    assert "no score" in models_list([_model(score=None)], now)


def test_comparison_says_both_scores_and_which_model_predict_uses() -> None:
    compared = ModelComparison(
        previous_job_id="old00001", metric="roc_auc", score=0.81, previous_score=0.77, rows=600
    )
    lines = comparison_lines(compared, "new00002")
    assert lines[0] == (
        "ROC AUC 0.8100, previous model `old00001` 0.7700 on the same 600 held-out rows of the "
        "new file."
    )
    assert lines[1].startswith("`predict` now uses this model (`new00002`) by default")
    assert "`predict old00001` still uses the previous one" in lines[1]
    noted = compared.model_copy(update={"previous_score": None, "note": "it lacks “x”."})
    assert comparison_lines(noted, "new00002")[0] == (
        "Previous model `old00001` was not compared: it lacks “x”."
    )


def test_blocks_pass_slacks_checks() -> None:
    validate_blocks([model_buttons("abcd1234")])
    model = _model()
    view = home_view([(model, "https://x.slack.com/archives/C1/p1")], [model])
    validate_blocks(view["blocks"], limit=100)
    _, button = element(view["blocks"], PREDICT_BUTTON_ACTION)
    assert button["value"] == "abcd1234"
    words = "\n".join(texts(view["blocks"]))
    assert "<https://x.slack.com/archives/C1/p1|thread>" in words and "<!date^" in words
    many = [_model() for _ in range(150)]
    form = pick_model_form(many, channel_id="C1", file_id="F1", file_name="a.csv", thread_ts=None)
    assert len(form["blocks"][1]["element"]["options"]) == 100
