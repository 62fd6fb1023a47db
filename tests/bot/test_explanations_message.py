"""The results message and the terminal summary show what drives the best model."""

from __future__ import annotations

from bot.messages import results_message
from contract.jobs import ColumnEffect, Explanations
from tests.bot.blocks import section_texts
from tests.bot.test_messages import classification_result, validate
from training.outputs.terminal import summary

EXPLANATIONS = Explanations(
    sentences=[
        "“tenure_months”, “contract” and “city” move the chance of churned=yes the most "
        "(on average by 0.23, 0.10 and 0.03 on the 0-to-1 probability scale, over 400 rows).",
        "Higher “tenure_months” lowers the chance of churned=yes; lower values raise it.",
        "“contract” = “<month> & more” raises the chance of churned=yes most (by 0.16).",
    ],
    explained="churned=yes",
    scale="probability",
    rows=400,
    method="lgbm: tree_shap",
    columns=[ColumnEffect(column="tenure_months", mean_abs_contribution=0.23, direction="lowers")],
)


def test_the_results_message_says_what_drives_the_predictions() -> None:
    message = results_message(classification_result(explanations=EXPLANATIONS), None, None)
    validate(message)
    (section,) = [t for t in section_texts(message["blocks"]) if t.startswith("*What drives")]
    assert "• Higher “tenure_months” lowers the chance of churned=yes" in section
    assert "&lt;month&gt; &amp; more" in section  # people's text is escaped
    plain = results_message(classification_result(), None, None)
    assert not [t for t in section_texts(plain["blocks"]) if t.startswith("*What drives")]


def test_the_terminal_summary_says_what_drives_the_predictions() -> None:
    text = summary(classification_result(explanations=EXPLANATIONS), "runs/x")
    assert "What drives the predictions:\n  “tenure_months”, “contract” and “city” move" in text
    assert "  Higher “tenure_months” lowers the chance of churned=yes" in text
