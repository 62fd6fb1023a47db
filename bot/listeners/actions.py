"""Buttons and menus: the preview's target menu and its Train button."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from bot.command_parser import TrainCommand
from bot.listeners.replies import ack_only, answer_safely, response_url_reply
from bot.messages.answers import PICK_A_TARGET_FIRST
from bot.preview_blocks import (
    TARGET_SELECT_ACTION,
    TRAIN_BUTTON_ACTION,
    parse_train_button,
    preview_selection,
)
from bot.service import JobService, TrainRequest


def _clicked(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(file id, target, action ts) of a Train click; the menu's choice wins over the default."""
    for action in body.get("actions") or []:
        if action.get("action_id") == TRAIN_BUTTON_ACTION:
            try:
                file_id, suggested = parse_train_button(action.get("value") or "")
            except (ValueError, KeyError, TypeError):
                return None, None, None
            chosen = preview_selection((body.get("state") or {}).get("values") or {})
            return file_id, chosen or suggested, action.get("action_ts")
    return None, None, None


def make_train_button_listener(service: JobService) -> Any:
    def on_train(body: dict[str, Any], respond: Respond) -> None:
        file_id, target, action_ts = _clicked(body)
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        user = (body.get("user") or {}).get("id")
        message_ts = (body.get("container") or {}).get("message_ts")

        def start() -> str | None:
            if not target:
                return PICK_A_TARGET_FIRST
            if not user or not channel:
                return None
            started = service.train(
                TrainRequest(
                    user_id=user,
                    channel_id=channel,
                    command=TrainCommand(target=target),
                    file_id=file_id,
                    dedupe_key=f"action:{message_ts}:{action_ts}",
                )
            )
            return started.sentence()

        answer_safely(
            response_url_reply(respond), start, channel=channel, user=user, event="train button"
        )

    return on_train


def register(app: App, service: JobService) -> None:
    app.action(TARGET_SELECT_ACTION)(ack_only)  # the choice is read from the state on Train
    app.action(TRAIN_BUTTON_ACTION)(ack=ack_only, lazy=[make_train_button_listener(service)])
