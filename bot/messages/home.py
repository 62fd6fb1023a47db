"""The App Home tab: the person's recent jobs, the models they may use, and the help."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.messages.blocks import Block, context, divider, header, section
from bot.messages.model_forms import predict_button
from bot.messages.models import model_line, score_text
from bot.messages.text import code, escape, truncate
from bot.messages.times import slack_time
from bot.messages.usage import USAGE

if TYPE_CHECKING:
    from bot.models import UsableModel

NO_JOBS = "You have no jobs yet. Share a table in a channel with the bot and ask it to train."
NO_MODELS = "No model you can use yet: the models of the channels you trained in show here."


def job_line(model: UsableModel, permalink: str | None) -> str:
    """One of the person's jobs: id, kind, status, score, file, when, and its thread."""
    job = model.job
    kind = getattr(job, "kind", "train")
    parts = [
        code(job.job_id),
        "prediction" if kind == "predict" else "training",
        f"*{job.status}*",
    ]
    if model.score is not None:
        parts.append(escape(score_text(model)))
    parts += [escape(truncate(job.file_name, 60)), slack_time(job.created_at)]
    if permalink:
        parts.append(f"<{permalink}|thread>")
    return " · ".join(parts)


def home_view(
    jobs: list[tuple[UsableModel, str | None]],
    models: list[UsableModel],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Home tab (`views.publish`): `jobs` with their thread links, then `models`."""
    blocks: list[Block] = [header("AutoML"), section("*Your recent jobs*")]
    if jobs:
        blocks += [section(job_line(job, link)) for job, link in jobs]
    else:
        blocks.append(context(NO_JOBS))
    blocks += [divider(), section("*Models you can use*")]
    if models:
        for model in models:
            block = section(model_line(model, now).removeprefix("• "))
            block["accessory"] = predict_button(model.job.job_id)
            blocks.append(block)
    else:
        blocks.append(context(NO_MODELS))
    blocks += [divider(), section("*How to use the bot*"), section(USAGE)]
    return {"type": "home", "blocks": blocks}
