"""A job's one status message, edited in place as the job waits, runs and ends."""

from __future__ import annotations

from bot.messages.blocks import SlackMessage, context, message, section
from bot.messages.text import escape, format_duration, format_score, progress_bar
from contract.jobs import ProgressEvent
from contract.wording import metric_name

_STATUS_EMOJI = {
    "queued": ":hourglass_flowing_sand:",
    "waiting": ":hourglass_flowing_sand:",
    "started": ":gear:",
    "running": ":gear:",
    "succeeded": ":white_check_mark:",
    "finished": ":white_check_mark:",
    "failed": ":x:",
    "interrupted": ":warning:",
    "cancelled": ":no_entry_sign:",
    "canceled": ":no_entry_sign:",
}

_STAGE_WORDS = {
    "load": "reading the file",
    "prepare": "preparing the data",
    "search": "searching for the best model",
    "evaluate": "testing the best model on held-out rows",
    "charts": "drawing charts",
    "report": "writing the data report",
    "save": "saving the model",
}
# A prediction job's stages (training/predict_job.py), where they differ from training's.
_PREDICTION_STAGE_WORDS = {
    "load": "reading the file and the model",
    "check": "checking the file's columns and values against the model",
    "score": "scoring the rows and working out the reasons",
    "save": "writing the CSV",
}
# The status line's verb, by `Job.kind`.
_DOING = {"train": "Training on", "predict": "Scoring"}


def progress_message(
    job_id: str,
    file_name: str,
    event: ProgressEvent | None,
    status_word: str,
    kind: str = "train",
) -> SlackMessage:
    """The one status message of a job, updated in place with `chat.update`.

    `status_word` is the job's state in a word (queued, started, running, succeeded, failed,
    interrupted, cancelled); `event` the latest progress event, if any.
    """
    status = status_word.strip().lower() or "running"
    emoji = _STATUS_EMOJI.get(status, ":gear:")
    name = escape(file_name) or "your file"
    doing = _DOING.get(kind, _DOING["train"])
    lines = [f"{emoji} {doing} *{name}*: *{escape(status)}*"]
    fallback = f"{doing} {escape(file_name)}: {escape(status)}"
    if event is not None and kind == "predict":
        if status in {"started", "running"}:
            stage = _PREDICTION_STAGE_WORDS.get(event.stage, event.stage)
            lines.append(f"_{escape(stage)}_ ({format_duration(event.elapsed_s)})")
    elif event is not None:
        lines += _progress_lines(event, status)
        fallback += (
            f" ({format_duration(event.elapsed_s)} of {format_duration(event.budget_s)},"
            f" {event.trials} trials)"
        )
    elif status == "queued":
        lines.append("Waiting for a free worker; it starts as soon as one is available.")
    blocks = [section("\n".join(lines)), context(f"Job `{escape(job_id)}`")]
    return message(fallback, blocks)


def _progress_lines(event: ProgressEvent, status: str) -> list[str]:
    """The stage, the bar against the budget, and the best model so far."""
    budget = event.budget_s
    elapsed = event.elapsed_s
    fraction = elapsed / budget if budget > 0 else 0.0
    lines = []
    if status in {"started", "running"}:
        lines.append(f"_{escape(_STAGE_WORDS.get(event.stage, event.stage))}_")
    lines.append(
        f"`{progress_bar(fraction)}` {format_duration(elapsed)} of {format_duration(budget)}"
        f" ({min(fraction, 1.0):.0%})"
    )
    details = [f"*Trials:* {event.trials}"]
    if event.best_estimator:
        details.append(f"*Best so far:* {escape(event.best_estimator)}")
    if event.best_score is not None:
        details.append(f"*{escape(metric_name(event.metric))}:* {format_score(event.best_score)}")
    lines.append("   ".join(details))
    return lines


def job_status_message(
    job_id: str,
    file_name: str,
    event: ProgressEvent | None,
    status_word: str,
    *,
    user_id: str,
    queue_position: int | None = None,
    kind: str = "train",
) -> SlackMessage:
    """`progress_message` saying who asked, and where a waiting job is in the queue."""
    status = progress_message(job_id, file_name, event, status_word, kind)
    note = f"Asked by <@{user_id}>"
    if queue_position:
        note += f" · place in the queue: {queue_position}"
    status["blocks"].append(context(note))
    return status
