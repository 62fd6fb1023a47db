"""`run_command`: does what a parsed command asks, wherever it was typed.

`/automl ...` (the commands listener) and `@AutoML ...` in a thread (the events listener)
both parse the words with `bot.command_parser` and hand the command here, so a command
means the same thing however it reaches the bot.
"""

from __future__ import annotations

from bot.command_parser import (
    CancelCommand,
    Command,
    HelpCommand,
    ListCommand,
    StatusCommand,
    TrainCommand,
)
from bot.messages import problems
from bot.service import JobService, TrainRequest


def run_command(
    service: JobService,
    command: Command,
    *,
    user_id: str,
    channel_id: str,
    thread_ts: str | None = None,
    dedupe_key: str | None = None,
) -> str | None:
    """Do what a parsed command asks; the sentence to tell the person (privately).

    None for help, which the caller answers with the usage as soon as it has parsed it.
    """
    if isinstance(command, TrainCommand):
        started = service.train(
            TrainRequest(
                user_id=user_id,
                channel_id=channel_id,
                command=command,
                thread_ts=thread_ts,
                dedupe_key=dedupe_key,
            )
        )
        return started.sentence()
    service.check_allowed(user_id, channel_id)
    if isinstance(command, StatusCommand):
        return service.status(user_id, channel_id, command.job_id)
    if isinstance(command, ListCommand):
        return service.list_jobs(channel_id)
    if isinstance(command, CancelCommand):
        return service.cancel(user_id, command.job_id)
    if isinstance(command, HelpCommand):
        return None
    raise problems.not_understood()
