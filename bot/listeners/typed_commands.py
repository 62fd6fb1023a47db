"""Commands a person types to the bot in a message: `@AutoML …` in a channel, or anything
in a direct message. Both are answered the same way; only which commands keep the message's
thread differs.

Slack retries an event it thinks we missed, with the same event id; the work is keyed on
that id, so a retry changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.command_dispatcher import run_command
from bot.command_parser import Command, CommandError, HelpCommand, parse_command
from bot.listeners.replies import answer_safely, ephemeral_reply
from bot.messages import usage_message
from bot.service import JobService


def bot_user_id(body: dict[str, Any]) -> str | None:
    """Event payloads say who they were delivered to: the bot itself."""
    for authorization in body.get("authorizations") or []:
        if authorization.get("is_bot") and authorization.get("user_id"):
            return str(authorization["user_id"])
    return None


def make_typed_command_listener(
    service: JobService, *, event_name: str, keeps_thread: Callable[[Command], bool]
) -> Any:
    """The lazy half for a typed command; `keeps_thread(command)`: whether it works in the
    message's thread (finds its file or model there)."""

    def on_typed(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        event_id = body.get("event_id")
        if event_id and not service.backend.jobs.claim(f"event:{event_id}"):
            return  # a retry of an event already handled
        user = event.get("user")
        channel = event.get("channel")
        if not user or not channel:
            return
        thread_ts = event.get("thread_ts")
        try:
            command = parse_command(event.get("text") or "", bot_user_id=bot_user_id(body))
        except CommandError as error:
            usage = usage_message(error.problem)
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **usage)
            return
        if isinstance(command, HelpCommand):
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, **usage_message()
            )
            return
        answer_safely(
            ephemeral_reply(client, channel, user, thread_ts or event.get("ts")),
            lambda: run_command(
                service,
                command,
                user_id=user,
                channel_id=channel,
                thread_ts=thread_ts if keeps_thread(command) else None,
                dedupe_key=f"event:{event_id}" if event_id else None,
            ),
            channel=channel,
            user=user,
            event=event_name,
        )

    return on_typed
