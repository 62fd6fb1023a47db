"""Whether a shared table gets a preview (`AUTOML_PREVIEW=auto|mention`)."""

from __future__ import annotations

from typing import Any

from bot.settings import PreviewMode


def addressed_to_bot(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """A direct message to the bot, or a message whose text mentions it."""
    if event.get("channel_type") == "im":
        return True
    return bool(bot_user_id) and f"<@{bot_user_id}>" in (event.get("text") or "")


def wants_preview(mode: PreviewMode, event: dict[str, Any], bot_user_id: str | None) -> bool:
    """`auto`: every table; `mention`: only one shared in a message addressed to the bot,
    so a busy channel is not filled with previews nobody asked for."""
    return mode == "auto" or addressed_to_bot(event, bot_user_id)
