"""The Share in channel button under results, and the one-line summary it posts."""

from __future__ import annotations

from typing import Any

from bot.messages.results import results_message
from bot.messages.sharing import SHARE_BUTTON_ACTION, channel_summary
from contract.jobs import JobResult
from tests.bot.test_messages import classification_result, failed_result


def share_buttons(result: JobResult) -> list[dict[str, Any]]:
    blocks = results_message(result)["blocks"]
    return [
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == SHARE_BUTTON_ACTION
    ]


def test_results_with_a_leaderboard_have_a_share_button() -> None:
    result = classification_result()
    (button,) = share_buttons(result)
    assert button["value"] == result.job_id and button["text"]["text"] == "Share in channel"


def test_a_failure_without_models_has_none() -> None:
    assert share_buttons(failed_result()) == []


def test_the_summary_is_one_line_with_the_best_model_and_its_score() -> None:
    summary = channel_summary(classification_result(), "U0ASKER")
    text = summary["text"]
    assert "\n" not in text
    assert text.startswith(":trophy: <@U0ASKER> trained a model to predict `churned`")
    assert "*churn &lt;Q3&gt; &amp; more.csv*" in text  # a person's file name, escaped
    assert "best *xgboost*" in text and "*0.7837*" in text and "ROC AUC" in text
    assert "`20261126-110933-40df`" in text and "thread" in text
