"""What a person reads about a prediction job: the answer to the command, the problems that
refuse it, and the message beside the scored CSV in the file's thread."""

from __future__ import annotations

from bot.errors import UserFacingError
from bot.jobs import Job
from bot.messages.blocks import SlackMessage, context, message, section
from bot.messages.text import bullets, code, escape
from contract.jobs import PredictionResult

MAX_WARNINGS_TEXT = 2800
SHOWN_CLASSES = 10
_WARNING_EMOJI = {
    "extra_columns": ":information_source:",
    "reasons": ":information_source:",
    "note": ":information_source:",
}


def which_model() -> UserFacingError:
    return UserFacingError(
        "This channel has no model that finished training yet, so there is nothing to score "
        "the file with.",
        "Train one first with `/automl train target=COLUMN`, or name a model you trained "
        "elsewhere: `/automl predict JOB`.",
        code="no_model",
    )


def no_model_in_thread() -> UserFacingError:
    return UserFacingError(
        "This thread has no model that finished training.",
        "Name one: `@AutoML predict JOB` (`/automl models` lists this channel's models).",
        code="no_model_in_thread",
    )


def model_not_signed(job_id: str) -> UserFacingError:
    return UserFacingError(
        f"The model of job `{job_id}` cannot be trusted: its signature is missing or does "
        "not match, so it was not used.",
        "Train the model again; if this keeps happening, tell whoever runs the bot.",
        code="model_not_trusted",
    )


def prediction_started(
    job: Job, *, created: bool, queue_position: int | None = None, problem: str | None = None
) -> str:
    """The answer to `predict`: started, already started, or could not start."""
    where = f"in the thread of *{escape(job.file_name)}*"
    if problem:
        return f":x: Job `{job.job_id}` could not start: {escape(problem)} The details are {where}."
    if not created:
        return f"Job `{job.job_id}` for this is already {job.status}; its replies are {where}."
    text = (
        f"Started job `{job.job_id}`: scoring *{escape(job.file_name)}* with the model of job "
        f"`{job.model_job_id}` (it predicts {code(job.target)}). The CSV arrives {where}."
    )
    if queue_position:
        text += f" It waits for a free worker (number {queue_position} in the queue)."
    return text


def prediction_message(result: PredictionResult, *, cost: str | None = None) -> SlackMessage:
    """Rows scored, how the predictions spread, and what to know about the file."""
    name = escape(result.file_name) or "your file"
    lead = (
        f":white_check_mark: Scored *{result.rows_scored:,}* row(s) of *{name}* with the model "
        f"of job `{escape(result.model_job_id)}`: the CSV below has every row with "
        f"{code('predicted_' + result.target)}"
    )
    if result.task == "classification":
        lead += ", one `probability_…` column per class"
    lead += " and the reasons for each prediction." if _has_reasons(result) else "."
    blocks = [section(lead)]
    spread = _spread(result)
    if spread:
        blocks.append(section(spread))
    if result.warnings:
        lines = [
            f"{_WARNING_EMOJI.get(w.kind, ':warning:')} {escape(w.sentence)}"
            for w in result.warnings
        ]
        blocks.append(section("*Worth knowing*\n" + bullets(lines, MAX_WARNINGS_TEXT)))
    footer = f"Job `{escape(result.job_id)}`"
    if cost:
        footer += f" · {escape(cost)}"
    blocks.append(context(footer))
    fallback = f"Scored {result.rows_scored:,} row(s) of {result.file_name}."
    return message(fallback, blocks)


def predictions_comment(file_name: str, job_id: str) -> str:
    """The words above the scored CSV in the thread."""
    return f"Predictions for *{escape(file_name)}* (job `{job_id}`)"


def _spread(result: PredictionResult) -> str:
    if result.class_counts:
        total = sum(c.rows for c in result.class_counts) or 1
        shown = [
            f"{code(c.label)} {c.rows:,} ({c.rows / total:.0%})"
            for c in result.class_counts[:SHOWN_CLASSES]
        ]
        more = len(result.class_counts) - SHOWN_CLASSES
        tail = f", and {more} more classes" if more > 0 else ""
        return f"*Predicted {escape(result.target)}:* " + ", ".join(shown) + tail
    q = result.quantiles
    if q:
        return (
            f"*Predicted {escape(result.target)}:* median {_value(q.get('median'))}, "
            f"80% of rows between {_value(q.get('p10'))} and {_value(q.get('p90'))} "
            f"(lowest {_value(q.get('min'))}, highest {_value(q.get('max'))})"
        )
    return ""


def _has_reasons(result: PredictionResult) -> bool:
    return result.with_reasons


def _value(number: float | None) -> str:
    return "—" if number is None else f"{number:,.4g}"
