"""The problems the job service refuses a request with, each with what to do about it.

Each function returns the `bot.errors` exception to raise; the listeners show its message
and hint (`answers.problem_text`). Both are plain words (a `*` or a backtick at most): they are
escaped where they are shown, so a file name in them cannot mention or link.
"""

from __future__ import annotations

from bot.errors import FileFetchError, LimitReached, NotAllowed, UserFacingError
from bot.messages.text import format_duration

# A recorded job that could not reach training, through no fault of the person who asked.
STAGING_FAILED = "Something went wrong on the bot's side while preparing this job."
LAUNCH_FAILED = "The bot could not start the training."


def our_fault_hint(job_id: str) -> str:
    return f"Try again; if it happens again, tell whoever runs this bot (job {job_id})."


def channel_not_allowed() -> NotAllowed:
    return NotAllowed(
        "The bot is not enabled in this channel.",
        "Ask whoever runs it to add this channel to AUTOML_ALLOWED_CHANNELS, or use "
        "a channel where it is enabled.",
    )


def user_not_allowed() -> NotAllowed:
    return NotAllowed(
        "You are not on the list of people who may use this bot.",
        "Ask whoever runs it to add you to AUTOML_ALLOWED_USERS.",
    )


def too_many_jobs(active: int, limit: int, job_ids: list[str]) -> LimitReached:
    ids = ", ".join(f"`{job_id}`" for job_id in job_ids[:5])
    return LimitReached(
        f"You already have {active} job{'s' if active != 1 else ''} running or "
        f"waiting ({ids}); the limit is {limit} at a time.",
        "Wait for it to finish, or stop one with `/automl cancel JOB`.",
    )


def not_a_table(file_name: str) -> FileFetchError:
    return FileFetchError(
        f"*{file_name}* does not look like a table.",
        "Share a CSV, TSV, Excel (.xlsx) or Parquet file and ask again.",
        code="not_a_table",
    )


def thread_unreadable() -> FileFetchError:
    return FileFetchError(
        "I could not read this thread to find its file.",
        "Use `/automl train target=COLUMN file=NAME` in the channel instead.",
    )


def no_file_in_thread() -> FileFetchError:
    return FileFetchError(
        "There is no table file in this thread.",
        "Mention me in the thread of a shared CSV, TSV, Excel or Parquet file, or use "
        "`/automl train target=COLUMN file=NAME` in the channel.",
        code="no_file",
    )


def budget_too_long(budget_s: int, max_budget_s: int) -> UserFacingError:
    return UserFacingError(
        f"The time budget {format_duration(budget_s)} is more than this bot allows "
        f"({format_duration(max_budget_s)}).",
        f"Use time={format_duration(max_budget_s)} or less.",
        code="budget_too_long",
    )


def already_starting(target: str, file_name: str) -> UserFacingError:
    return UserFacingError(
        f"A job predicting `{target}` from *{file_name}* is already starting.",
        f"Follow it in the thread of *{file_name}*.",
        code="already_starting",
    )


def not_understood() -> UserFacingError:
    return UserFacingError("I did not understand that.")


def no_such_job(job_id: str) -> UserFacingError:
    return UserFacingError(
        f"There is no job `{job_id}`.", "`/automl list` shows this channel's jobs."
    )


class NotYourJob(UserFacingError):
    """Someone else's job. Its words name no one; Slack shows the owner (`problem_text`)."""

    code = "not_your_job"

    def __init__(self, job_id: str, owner_id: str) -> None:
        super().__init__(f"Job `{job_id}` was started by someone else; only they can cancel it.")
        self.owner_id = owner_id


def not_your_job(job_id: str, owner_id: str) -> NotYourJob:
    return NotYourJob(job_id, owner_id)
