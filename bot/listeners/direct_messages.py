"""Direct messages with the bot: words typed there are commands, no mention needed.

`train target=churned` in the thread of a table shared in the DM trains on it; typed at the
top of the DM it takes the newest table there, as `/automl` does in a channel. Tables shared
in a DM get their preview through the file-share listener (bot/listeners/events.py).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.listeners.replies import ack_only
from bot.listeners.typed_commands import make_typed_command_listener
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


def make_dm_listener(service: JobService) -> Any:
    # In a DM every command works in the thread it was typed in.
    return make_typed_command_listener(
        service, event_name="direct message", keeps_thread=lambda _command: True
    )


def register(app: App, service: JobService) -> None:
    # Before events.register: Bolt runs the first `message` listener that matches.
    app.event("message", matchers=[is_typed_in_a_dm])(
        ack=ack_only, lazy=[make_dm_listener(service)]
    )
