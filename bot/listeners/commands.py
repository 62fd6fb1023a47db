"""`/automl ...` (and the same words after `@AutoML` in a thread; see `events`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands import (
    CancelCommand,
    Command,
    CommandError,
    HelpCommand,
    ListCommand,
    StatusCommand,
    TrainCommand,
    parse_command,
)
from bot.errors import UserFacingError
from bot.listeners.replies import answer_safely, response_url_reply
from bot.messages import usage_message
from bot.service import JobService, TrainRequest

SLASH_COMMAND = "/automl"


def run_command(
    service: JobService,
    command: Command,
    *,
    user_id: str,
    channel_id: str,
    thread_ts: str | None = None,
    dedupe_key: str | None = None,
) -> str | None:
    """Do what a parsed command asks; the sentence to tell the person (privately)."""
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
        return None  # answered by the ack
    raise UserFacingError("I did not understand that.")


def make_listeners(service: JobService) -> tuple[Any, Any]:
    """The quick and the lazy half of the slash command, as plain functions."""

    def acknowledge(ack: Ack, command: dict[str, Any]) -> None:
        # Parsing is instant: mistakes and help are answered in the ack itself.
        try:
            parsed = parse_command(command.get("text") or "")
        except CommandError as error:
            ack(response_type="ephemeral", **usage_message(error.problem))
            return
        if isinstance(parsed, HelpCommand):
            ack(response_type="ephemeral", **usage_message())
        elif isinstance(parsed, TrainCommand):
            ack(response_type="ephemeral", text=":hourglass_flowing_sand: Looking for the file…")
        else:
            ack()

    def work(command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = parse_command(command.get("text") or "")
        except CommandError:
            return  # the ack already said what was wrong
        if isinstance(parsed, HelpCommand):
            return
        answer_safely(
            response_url_reply(respond),
            lambda: run_command(
                service,
                parsed,
                user_id=command["user_id"],
                channel_id=command["channel_id"],
                # Slack never retries a slash command; its trigger id still marks one action.
                dedupe_key=f"command:{command.get('trigger_id')}"
                if command.get("trigger_id")
                else None,
            ),
        )

    return acknowledge, work


def register(app: App, service: JobService) -> None:
    acknowledge, work = make_listeners(service)
    app.command(SLASH_COMMAND)(ack=acknowledge, lazy=[work])
