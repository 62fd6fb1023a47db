"""Direct messages with the bot: words typed there are commands, no mention needed.

`train target=churned` in the thread of a table shared in the DM trains on it; typed at the
top of the DM it takes the newest table there, as `/automl` does in a channel. Tables shared
in a DM get their preview through the file-share listener (bot/listeners/events.py).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.command_dispatcher import run_command
from bot.command_parser import CommandError, HelpCommand, parse_command
from bot.listeners.replies import ack_only, answer_safely, ephemeral_reply
from bot.messages import usage_message
from bot.service import JobService


def is_typed_in_a_dm(event: dict[str, Any]) -> bool:
    """A person's own words in a DM with the bot: no subtype (not a file share, an edit or
    a bot's message)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool((event.get("text") or "").strip())
    )


def _bot_user_id(body: dict[str, Any]) -> str | None:
    for authorization in body.get("authorizations") or []:
        if authorization.get("is_bot") and authorization.get("user_id"):
            return str(authorization["user_id"])
    return None


def make_dm_listener(service: JobService) -> Any:
    def on_dm(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        event_id = body.get("event_id")
        if event_id and not service.backend.jobs.claim(f"event:{event_id}"):
            return  # a retry of an event already handled
        user = event.get("user")
        channel = event.get("channel")
        if not user or not channel:
            return
        thread_ts = event.get("thread_ts")
        try:
            command = parse_command(event.get("text") or "", bot_user_id=_bot_user_id(body))
        except CommandError as error:
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, **usage_message(error.problem)
            )
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
                thread_ts=thread_ts,
                dedupe_key=f"event:{event_id}" if event_id else None,
            ),
            channel=channel,
            user=user,
            event="direct message",
        )

    return on_dm


def register(app: App, service: JobService) -> None:
    # Before events.register: Bolt runs the first `message` listener that matches.
    app.event("message", matchers=[is_typed_in_a_dm])(
        ack=ack_only, lazy=[make_dm_listener(service)]
    )
