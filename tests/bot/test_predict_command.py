"""`predict` in the command parser, and what the bot says about a prediction."""

from __future__ import annotations

import pytest

from bot.command_parser import CommandError, PredictCommand, parse_command
from bot.messages.answers import job_line
from bot.messages.prediction import prediction_message
from bot.messages.progress import progress_message
from contract.jobs import PredictionResult, PredictionWarning, ProgressEvent
from tests.bot.blocks import shown
from tests.builders import make_job


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("predict 3fa9c1b2", PredictCommand(job_id="3fa9c1b2")),
        ("predict", PredictCommand()),
        ("PREDICT 3fa9c1b2 file=leads.csv", PredictCommand("3fa9c1b2", "leads.csv")),
        ("predict file = “May leads.csv” 3fa9c1b2", PredictCommand("3fa9c1b2", "May leads.csv")),
        ("predict --file leads.csv", PredictCommand(file_name="leads.csv")),
        ("predict job=3fa9c1b2", PredictCommand(job_id="3fa9c1b2")),
        ("<@U0BOT> score 3fa9c1b2", PredictCommand(job_id="3fa9c1b2")),
    ],
)
def test_predict_reads_a_job_id_and_a_file(text: str, expected: PredictCommand) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("predict a1 b2", "predict takes one job id"),
        ("predict 3fa9c1b2 target=churned", "predict takes a job id and file=NAME"),
        ("predict no/such", "is not a job id"),
        ("predict file=a.csv file=b.csv", "given twice"),
    ],
)
def test_predict_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_command(text)
    assert says in error.value.problem


def test_the_message_gives_the_spread_of_a_regression_and_every_warning() -> None:
    result = PredictionResult(
        job_id="p1",
        model_job_id="m1",
        status="succeeded",
        file_name="<houses>.csv",
        target="price",
        task="regression",
        rows_scored=1200,
        quantiles={"min": 1.0, "p10": 2.5, "median": 120000.0, "p90": 250000.0, "max": 1e6},
        warnings=[
            PredictionWarning(kind="out_of_range", columns=["area"], sentence="“area”: odd."),
            PredictionWarning(kind="reasons", sentence="The reasons were left out."),
        ],
        predictions_csv="predictions.csv",
    )
    words = "\n".join(shown(dict(prediction_message(result))))
    assert "Scored *1,200* row(s) of *&lt;houses&gt;.csv*" in words  # escaped
    assert "median 1.2e+05, 80% of rows between 2.5 and 2.5e+05" in words
    assert "“area”: odd." in words and "The reasons were left out." in words
    assert "probability_" not in words and "reasons for each prediction" not in words


def test_a_prediction_s_status_says_scoring_and_its_stage() -> None:
    event = ProgressEvent(job_id="p1", stage="score", elapsed_s=3, budget_s=900)
    words = "\n".join(shown(dict(progress_message("p1", "new.csv", event, "running", "predict"))))
    assert "Scoring *new.csv*: *running*" in words
    assert "scoring the rows" in words and "Trials" not in words


def test_a_prediction_job_is_listed_with_its_model_not_a_budget() -> None:
    job = make_job(job_id="p1", kind="predict", model_job_id="m1", file_name="new.csv")
    line = job_line(job)
    assert "new.csv scored with `m1` → `churned`" in line and "budget" not in line
    assert "budget 30 s" in job_line(make_job())
