"""Events: a table shared in a channel gets a preview; `@AutoML ...` works like `/automl`.

Slack retries an event it thinks we missed (`X-Slack-Retry-Num`), with the same event id;
every piece of work here is keyed on that id, so a retry changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.command_parser import Command, PredictCommand, RetrainCommand, TrainCommand
from bot.listeners.preview_choice import wants_preview
from bot.listeners.replies import ack_only
from bot.listeners.typed_commands import bot_user_id, make_typed_command_listener
from bot.service import JobService
from bot.slack_files import is_table_file

log = logging.getLogger(__name__)


def _works_in_its_thread(command: Command) -> bool:
    # Train, retrain and predict find their file (and model) in the thread.
    return isinstance(command, (TrainCommand, RetrainCommand, PredictCommand))


def make_mention_listener(service: JobService) -> Any:
    return make_typed_command_listener(
        service, event_name="mention", keeps_thread=_works_in_its_thread
    )


def make_message_listener(service: JobService) -> Any:
    def on_message(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        # Only a person sharing a table file matters; everything else in a channel is not ours.
        if event.get("subtype") != "file_share" or event.get("bot_id"):
            return
        channel = event.get("channel")
        user = event.get("user")
        if not channel or not user:
            return
        if not wants_preview(service.settings.preview, event, bot_user_id(body)):
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
