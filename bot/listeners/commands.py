"""`/automl ...` (and the same words after `@AutoML` in a thread; see `events`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.command_dispatcher import run_command
from bot.command_parser import (
    CommandError,
    HelpCommand,
    PredictCommand,
    TrainCommand,
    parse_command,
)
from bot.listeners.replies import answer_safely, response_url_reply
from bot.messages import usage_message
from bot.messages.answers import LOOKING_FOR_THE_FILE
from bot.service import JobService

SLASH_COMMAND = "/automl"


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
        elif isinstance(parsed, (TrainCommand, PredictCommand)):
            ack(response_type="ephemeral", text=LOOKING_FOR_THE_FILE)
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
            channel=command.get("channel_id"),
            user=command.get("user_id"),
            event="slash command",
        )

    return acknowledge, work


def register(app: App, service: JobService) -> None:
    acknowledge, work = make_listeners(service)
    app.command(SLASH_COMMAND)(ack=acknowledge, lazy=[work])
