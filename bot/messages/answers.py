"""What the bot answers a person privately: after a command, a click or a form.

Plain mrkdwn sentences (not Block Kit): they go out through `respond` or
`chat.postEphemeral` as the message's text.
"""

from __future__ import annotations

from bot.errors import UserFacingError
from bot.jobs import Job
from bot.messages.problems import NotYourJob
from bot.messages.text import code, escape, format_duration, link, mention
from bot.messages.times import slack_time

SORRY = (
    ":x: Something went wrong on the bot's side and it could not do that. "
    "Try again in a minute; if it keeps happening, tell whoever runs this bot."
)
LOOKING_FOR_THE_FILE = ":hourglass_flowing_sand: Looking for the file…"
PICK_A_TARGET_FIRST = ":point_up: Pick the column to predict in the menu first."
NO_TABLE_IN_MESSAGE = (
    ":point_up: This message has no CSV, TSV, Excel or Parquet file. Use "
    "*Train a model* on the message that carries the table."
)
NO_JOBS_YET = "You have no jobs yet. `/automl help` shows how to start one."
NO_JOBS_IN_CHANNEL = "No jobs in this channel yet. `/automl help` shows how to start one."

# The training form's fields, when what was typed cannot be used.
FORM_TARGET_MISSING = "Name the column to predict."
FORM_TASK_UNKNOWN = "Choose classification, regression or auto."


def problem_text(error: UserFacingError) -> str:
    """A user-facing error as one short message: what went wrong, then what to do."""
    words = escape(error.message)
    if isinstance(error, NotYourJob):  # the one problem that names a person
        words = words.replace("someone else", mention(error.owner_id, "someone else"), 1)
    text = f":warning: {words}"
    if error.hint:
        text += f"\n*What to do:* {escape(error.hint)}"
    return text


def train_started(
    job: Job, *, created: bool, queue_position: int | None = None, problem: str | None = None
) -> str:
    """The answer to a request to train: started, already started, or could not start."""
    where = f"in the thread of *{escape(job.file_name)}*"
    if problem:
        return f":x: Job `{job.job_id}` could not start: {escape(problem)} The details are {where}."
    if not created:
        return f"Job `{job.job_id}` for this is already {job.status}; its replies are {where}."
    budget = format_duration(job.time_budget_s)
    text = (
        f"Started job `{job.job_id}`: predicting {code(job.target)} "
        f"from *{escape(job.file_name)}* "
        f"within {budget}. Follow it {where}."
    )
    if queue_position:
        text += f" It waits for a free worker (number {queue_position} in the queue)."
    return text


def job_line(job: Job, queue_position: int | None = None) -> str:
    """One job in a list: id, status, file, target, budget, owner, when; why it failed."""
    when = slack_time(job.created_at)  # each reader sees their own zone
    if job.kind == "predict":  # a file scored with a model: no budget a person chose
        what = f"{escape(job.file_name)} scored with `{job.model_job_id}` → {code(job.target)}"
    else:
        what = (
            f"{escape(job.file_name)} → {code(job.target)} · "
            f"budget {format_duration(job.time_budget_s)}"
        )
    line = f"`{job.job_id}` *{job.status}* · {what} · <@{job.user_id}> · {when}"
    if job.status == "queued" and queue_position:
        line += f" · number {queue_position} in the queue"
    if job.error_message and job.status == "failed":
        line += f"\n      {escape(job.error_message)}"
    return line


def your_jobs(lines: list[str]) -> str:
    return "*Your latest jobs:*\n" + "\n".join(lines)


def channel_jobs(lines: list[str]) -> str:
    return "*Jobs in this channel, newest first:*\n" + "\n".join(lines)


def fresh_links(links: list[tuple[str, str]]) -> str:
    """`(label, url)` pairs for a finished job: the ones in its thread may have expired."""
    if not links:
        return ""
    return "\nFresh links: " + " · ".join(link(url, label) for label, url in links)


def cancelled(job: Job) -> str:
    return f"Cancelled job `{job.job_id}` ({escape(job.file_name)} → {code(job.target)})."


def nothing_to_cancel(job_id: str, status: str) -> str:
    return f"Job `{job_id}` has already ended ({status}); nothing to cancel."


def ended_before_cancel(job_id: str, status: str) -> str:
    return f"Job `{job_id}` ended ({status}) before it could be cancelled."
