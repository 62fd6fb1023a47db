"""`contract.wording`: the Slack reply and the terminal say a result's sentences in the same
words; only the markup differs."""

from __future__ import annotations

import math
import subprocess
import sys

from bot.messages import results_message
from contract.jobs import DecisionThreshold, SuspectedLeak
from contract.wording import format_short, leak_sentence, model_name, threshold_sentence
from tests.bot.test_messages import ENSEMBLE
from tests.conftest import REPO
from tests.training.test_terminal import plain_result
from training.outputs.terminal import summary


def _plain(slack: dict[str, object]) -> str:
    return str(slack["blocks"])


def test_both_screens_use_the_one_sentence() -> None:
    leak = SuspectedLeak(column="refund issued", metric="roc_auc", score=0.9991, kept=True)
    threshold = DecisionThreshold(
        value=0.27, positive_class="yes", criterion="f1", reason="chosen on validation rows"
    )
    result = plain_result(suspected_leaks=[leak], decision_threshold=threshold)
    words = "alone predicts the target with ROC AUC 0.999: check it is known before the outcome."
    terminal, slack = summary(result, "/runs/job-1"), _plain(results_message(result))
    for shown in (terminal, slack):
        assert words in shown
        assert threshold_sentence(threshold) in shown
    assert '`--exclude "refund issued"`' in terminal
    assert '`exclude="refund issued"`' in slack


def test_leak_sentence_leaves_the_markup_to_the_caller() -> None:
    leak = SuspectedLeak(column="a<b", metric="r2", score=0.998, kept=False)
    sentence = leak_sentence(
        leak,
        code=lambda column: f"[{column}]",
        option=lambda name, value: f"{name}:{value}",
        text=str.upper,
    )
    assert sentence == (
        "[a<b] alone predicts the target with R² 0.998: check it is known before the outcome."
        " It was left out; keep:a<b uses it."
    )


def test_numbers_and_names() -> None:
    assert [format_short(v) for v in (0.5, 0.2712, 0.99312, math.nan)] == [
        "0.5",
        "0.271",
        "0.993",
        "—",
    ]
    assert model_name(ENSEMBLE) == "ensemble (lgbm 0.5, catboost 0.3, extra_tree 0.2)"
    no_reason = DecisionThreshold(value=0.4, positive_class="1", criterion="", reason=" ")
    assert threshold_sentence(no_reason) == (
        "Labels use a threshold of 0.4 on P(1), chosen on validation rows to maximise score."
    )


def test_the_wording_needs_no_pydantic() -> None:
    script = "import sys, contract.wording; print('pydantic' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
