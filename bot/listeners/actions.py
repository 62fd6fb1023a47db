"""Buttons and menus: the preview's target menu and its Train button."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands import TrainCommand
from bot.listeners.replies import answer_safely, response_url_reply
from bot.preview_blocks import TARGET_SELECT_ACTION, TRAIN_BUTTON_ACTION
from bot.service import JobService, TrainRequest


def _selected_target(body: dict[str, Any]) -> str | None:
    """The column picked in the preview's menu: Slack sends the message's menu state."""
    values = (body.get("state") or {}).get("values") or {}
    for block in values.values():
        element = block.get(TARGET_SELECT_ACTION) or {}
        option = element.get("selected_option") or {}
        if option.get("value"):
            return str(option["value"])
    return None


def _button(body: dict[str, Any]) -> dict[str, Any]:
    for action in body.get("actions") or []:
        if action.get("action_id") == TRAIN_BUTTON_ACTION:
            try:
                value = json.loads(action.get("value") or "{}")
            except ValueError:
                value = {}
            return {**(value if isinstance(value, dict) else {}), "_ts": action.get("action_ts")}
    return {}


def make_train_button_listener(service: JobService) -> Any:
    def on_train(body: dict[str, Any], respond: Respond) -> None:
        button = _button(body)
        target = _selected_target(body) or button.get("target")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        user = (body.get("user") or {}).get("id")
        message_ts = (body.get("container") or {}).get("message_ts")

        def start() -> str | None:
            if not target:
                return ":point_up: Pick the column to predict in the menu first."
            if not user or not channel:
                return None
            started = service.train(
                TrainRequest(
                    user_id=user,
                    channel_id=channel,
                    command=TrainCommand(target=target),
                    file_id=button.get("file_id"),
                    dedupe_key=f"action:{message_ts}:{button.get('_ts')}",
                )
            )
            return started.sentence()

        answer_safely(response_url_reply(respond), start)

    return on_train


def _ack(ack: Ack) -> None:
    ack()


def register(app: App, service: JobService) -> None:
    app.action(TARGET_SELECT_ACTION)(_ack)  # the choice is read from the state on Train
    app.action(TRAIN_BUTTON_ACTION)(ack=_ack, lazy=[make_train_button_listener(service)])
