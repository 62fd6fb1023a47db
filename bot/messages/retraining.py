"""Sentences about retraining: refusals before a job exists, and the comparison of models."""

from __future__ import annotations

from bot.errors import UserFacingError
from bot.messages.text import code, escape, format_score
from contract.jobs import ModelComparison
from contract.wording import metric_name


def which_model_to_retrain() -> UserFacingError:
    return UserFacingError(
        "Say which model to retrain.",
        "Use `/automl retrain JOB` (`/automl models` lists them), or write `@AutoML retrain` "
        "in the model's results thread after sharing the new file there.",
        code="retrain_which",
    )


def no_model_in_thread() -> UserFacingError:
    return UserFacingError(
        "This thread has no trained model to retrain.",
        "Write `@AutoML retrain JOB` with the job id of a model (`/automl models` lists them).",
        code="retrain_no_model",
    )


def new_file_needed() -> UserFacingError:
    return UserFacingError(
        "There is no new table to retrain on: the newest one is the model's own file.",
        "Share the new CSV, TSV, Excel or Parquet file in the thread, then ask again.",
        code="retrain_no_new_file",
    )


def model_not_signed(job_id: str, why: str) -> UserFacingError:
    return UserFacingError(
        f"The model of job `{job_id}` cannot be compared with a new one: {why}",
        "Train again with `/automl train` on the new file instead.",
        code="retrain_model_unusable",
    )


def comparison_lines(comparison: ModelComparison, new_job_id: str) -> list[str]:
    """What a retraining's results say about the previous model, in mrkdwn."""
    previous = code(comparison.previous_job_id)
    if comparison.note or comparison.previous_score is None:
        why = escape(comparison.note or "it could not score these rows")
        return [
            f"Previous model {previous} was not compared: {why}",
            f"`predict` now uses this model ({code(new_job_id)}) by default; "
            f"`predict {comparison.previous_job_id}` still uses the previous one.",
        ]
    name = escape(metric_name(comparison.metric))
    rows = f"{comparison.rows:,}"
    first = (
        f"{name} {format_score(comparison.score)}, previous model {previous} "
        f"{format_score(comparison.previous_score)} on the same {rows} held-out rows of the "
        "new file."
    )
    return [
        first,
        f"`predict` now uses this model ({code(new_job_id)}) by default; "
        f"`predict {comparison.previous_job_id}` still uses the previous one.",
    ]
