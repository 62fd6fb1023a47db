"""Events: a table shared in a channel gets a preview; `@AutoML ...` works like `/automl`.

Slack retries an event it thinks we missed (`X-Slack-Retry-Num`), with the same event id;
every piece of work here is keyed on that id, so a retry changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.command_dispatcher import run_command
from bot.command_parser import (
    CommandError,
    HelpCommand,
    PredictCommand,
    RetrainCommand,
    TrainCommand,
    parse_command,
)
from bot.listeners.preview_choice import wants_preview
from bot.listeners.replies import ack_only, answer_safely, ephemeral_reply
from bot.messages import usage_message
from bot.service import JobService
from bot.slack_files import is_table_file

log = logging.getLogger(__name__)


def _bot_user_id(body: dict[str, Any]) -> str | None:
    # Event payloads say who they were delivered to: the bot itself.
    for authorization in body.get("authorizations") or []:
        if authorization.get("is_bot") and authorization.get("user_id"):
            return str(authorization["user_id"])
    return None


def make_mention_listener(service: JobService) -> Any:
    def on_mention(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        event_id = body.get("event_id")
        if event_id and not service.backend.jobs.claim(f"event:{event_id}"):
            return  # a retry of an event already handled
        user = event.get("user")
        channel = event.get("channel")
        if not user or not channel:
            return
        thread_ts = event.get("thread_ts")
        reply = ephemeral_reply(client, channel, user, thread_ts or event.get("ts"))
        try:
            command = parse_command(event.get("text") or "", bot_user_id=_bot_user_id(body))
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
            reply,
            lambda: run_command(
                service,
                command,
                user_id=user,
                channel_id=channel,
                # Train, retrain and predict find their file (and model) in the thread.
                thread_ts=thread_ts
                if isinstance(command, (TrainCommand, RetrainCommand, PredictCommand))
                else None,
                dedupe_key=f"event:{event_id}" if event_id else None,
            ),
            channel=channel,
            user=user,
            event="mention",
        )

    return on_mention


def make_message_listener(service: JobService) -> Any:
    def on_message(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        # Only a person sharing a table file matters; everything else in a channel is not ours.
        if event.get("subtype") != "file_share" or event.get("bot_id"):
            return
        channel = event.get("channel")
        user = event.get("user")
        if not channel or not user:
            return
        if not wants_preview(service.settings.preview, event, _bot_user_id(body)):
            return
        for file in event.get("files") or []:
            if not file.get("id") or not is_table_file(file):
                continue
            try:
                service.preview_file(
                    channel_id=channel,
                    file_id=file["id"],
                    message_ts=event["ts"],
                    thread_ts=event.get("thread_ts"),
                    user_id=user,
                )
            except Exception:  # preview_file answers problems itself; this is a bug
                log.exception("the preview of file %s failed", file.get("id"))

    return on_message


def worth_waking_for(event: dict[str, Any]) -> bool:
    """A message sharing files, or one sent to the bot in a direct message: the only
    messages worth waking the slow half for."""
    carries_files = event.get("subtype") == "file_share" or bool(event.get("files"))
    return carries_files or event.get("channel_type") == "im"


def register(app: App, service: JobService) -> None:
    app.event("app_mention")(ack=ack_only, lazy=[make_mention_listener(service)])
    # Every channel message is delivered; on Lambda a lazy listener costs a second invocation,
    # so only messages with files (or to the bot) get one. Bolt runs the first listener that
    # matches: the rest are acked and dropped here (an unmatched event would be answered 404
    # and retried), so another `message` listener must be registered before this module's.
    app.event("message", matchers=[worth_waking_for])(
        ack=ack_only, lazy=[make_message_listener(service)]
    )
    app.event("message")(ack_only)
    # Subscribed for the scope it proves; the file_share message carries what a preview needs.
    app.event("file_shared")(ack_only)
