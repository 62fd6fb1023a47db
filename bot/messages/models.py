"""Sentences and blocks about trained models: `/automl models`, the model pickers, refusals."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.errors import UserFacingError
from bot.messages.text import code, escape, format_score, truncate
from contract.jobs import utc_now
from contract.wording import metric_name

if TYPE_CHECKING:
    from bot.models import UsableModel

NO_MODELS_IN_CHANNEL = (
    "This channel has no trained model yet. Share a table and use `/automl train "
    "target=COLUMN` to make one."
)
NO_MODEL_FOR_SHORTCUT = (
    "There is no model you can use in this channel yet. Train one first: "
    "`/automl train target=COLUMN`."
)
NO_TABLE_FOR_PREDICTION = (
    "This message has no table file to score. Use *Predict with a model* on a message "
    "that carries a CSV, TSV, Excel or Parquet file."
)
PICK_A_MODEL = "Pick the model to score this file with."
NOTHING_AFTER_MODELS = "`/automl models` takes nothing after it: it lists this channel's models."
ATTACH_ONE_FILE = "Attach one table file (CSV, TSV, Excel or Parquet)."


def not_a_model(job_id: str, status: str) -> UserFacingError:
    return UserFacingError(
        f"Job `{job_id}` has no model to use (it is {status}).",
        "`/automl models` lists the models of this channel.",
        code="not_a_model",
    )


def not_a_table_upload(name: str) -> str:
    return f"{truncate(name, 60)} is not a table file. {ATTACH_ONE_FILE}"


def age_text(created: datetime, now: datetime | None = None) -> str:
    """`5 min ago`, `3 h ago`, `2 days ago`: how long ago a model was trained."""
    seconds = max(0, int(((now or utc_now()) - created).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return "1 day ago" if days == 1 else f"{days} days ago"


def score_text(model: UsableModel) -> str:
    if model.score is None:
        return "no score"
    return f"{metric_name(model.metric)} {format_score(model.score)}"


def model_line(model: UsableModel, now: datetime | None = None) -> str:
    """One model in mrkdwn: job id, target, score, file and age."""
    job = model.job
    return (
        f"• {code(job.job_id)} predicts *{escape(truncate(job.target, 60))}* · "
        f"{escape(score_text(model))} · {escape(truncate(job.file_name, 60))} · "
        f"{age_text(job.created_at, now)}"
    )


def models_list(models: list[UsableModel], now: datetime | None = None) -> str:
    """The answer to `/automl models` (shown privately)."""
    if not models:
        return NO_MODELS_IN_CHANNEL
    lines = [model_line(m, now) for m in models]
    return (
        "*Models you can use here* (newest first):\n"
        + "\n".join(lines)
        + "\nScore a file with `/automl predict JOB`, or the *Predict with a model* shortcut "
        "on a file's message."
    )


def model_option_text(model: UsableModel, now: datetime | None = None) -> str:
    """A model as one line of a menu (plain text, at most 75 characters)."""
    job = model.job
    return truncate(
        f"{job.job_id} · {job.target} · {score_text(model)} · {age_text(job.created_at, now)}",
        75,
    )
