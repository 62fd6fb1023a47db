"""The "Train a model" message shortcut and the form it opens."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.command_parser import (
    TASKS,
    CommandError,
    TrainCommand,
    column_choice_problem,
    parse_duration,
    split_columns,
)
from bot.errors import UserFacingError
from bot.listeners.replies import answer_safely, ephemeral_reply
from bot.messages.answers import (
    FORM_TARGET_MISSING,
    FORM_TASK_UNKNOWN,
    NO_TABLE_IN_MESSAGE,
    problem_text,
)
from bot.preview_blocks import (
    SHORTCUT_CALLBACK_ID,
    TRAIN_MODAL_CALLBACK_ID,
    parse_train_modal,
    train_modal,
)
from bot.service import JobService, TrainRequest
from bot.slack_files import is_table_file

log = logging.getLogger(__name__)


def make_shortcut_listener(service: JobService) -> Any:
    def on_shortcut(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        # The form must open within 3 s of the click (the trigger id expires): do it in the ack.
        ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id") or ""
        try:
            service.check_allowed(user, channel or "")
        except UserFacingError as error:
            respond(text=problem_text(error), response_type="ephemeral")
            return
        files = [f for f in message.get("files") or [] if f.get("id") and is_table_file(f)]
        if not files or not channel:
            respond(text=NO_TABLE_IN_MESSAGE, response_type="ephemeral")
            return
        file = files[0]
        view = train_modal(
            channel_id=channel,
            message_ts=message.get("thread_ts") or message.get("ts") or "",
            file_id=file["id"],
            file_name=file.get("name") or file.get("title") or "the file",
            default_budget_s=service.settings.default_time_budget_s,
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    return on_shortcut


def _command_from_form(values: dict[str, str]) -> tuple[TrainCommand | None, dict[str, str]]:
    """The form's text as a `TrainCommand`, or the errors to show next to its fields."""
    errors: dict[str, str] = {}
    target = (values.get("target") or "").strip()
    if not target:
        errors["target"] = FORM_TARGET_MISSING
    budget = None
    if (values.get("time") or "").strip():
        try:
            budget = parse_duration(values["time"])
        except CommandError as error:
            errors["time"] = error.problem
    task = (values.get("task") or "auto").strip().lower() or "auto"
    if task not in TASKS:
        errors["task"] = FORM_TASK_UNKNOWN
    exclude = split_columns(values.get("exclude") or "")
    keep = split_columns(values.get("keep") or "")
    if target and (found := column_choice_problem(target, exclude, keep)):
        field, problem = found
        errors[field] = problem
    if errors:
        return None, errors
    command = TrainCommand(
        target=target,
        time_budget_s=budget,
        metric=(values.get("metric") or "auto").strip() or "auto",
        task=task,
        exclude=exclude,
        keep=keep,
        share_to="channel" if values.get("share") == "channel" else None,
    )
    return command, {}


def make_form_listeners(service: JobService) -> tuple[Any, Any]:
    def acknowledge(ack: Ack, view: dict[str, Any]) -> None:
        _, errors = _command_from_form(parse_train_modal(view["state"]["values"]))
        if errors:
            ack(response_action="errors", errors=_block_errors(errors))
        else:
            ack()  # closes the form; the job starts in `work`

    def work(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        command, _ = _command_from_form(parse_train_modal(view["state"]["values"]))
        meta = json.loads(view.get("private_metadata") or "{}")
        user = (body.get("user") or {}).get("id")
        channel = meta.get("channel_id")
        if command is None or not user or not channel:
            return
        answer_safely(
            ephemeral_reply(client, channel, user, meta.get("message_ts")),
            lambda: service.train(
                TrainRequest(
                    user_id=user,
                    channel_id=channel,
                    command=command,
                    file_id=meta.get("file_id"),
                    dedupe_key=f"view:{view.get('id')}",
                )
            ).sentence(),
            channel=channel,
            user=user,
            event="train form",
        )

    return acknowledge, work


def _block_errors(errors: dict[str, str]) -> dict[str, str]:
    # Slack shows errors under the input block whose block_id matches.
    from bot.preview_blocks import MODAL_BLOCK_IDS

    return {MODAL_BLOCK_IDS.get(field, field): text for field, text in errors.items()}


def register(app: App, service: JobService) -> None:
    app.shortcut(SHORTCUT_CALLBACK_ID)(make_shortcut_listener(service))
    acknowledge, work = make_form_listeners(service)
    app.view(TRAIN_MODAL_CALLBACK_ID)(ack=acknowledge, lazy=[work])
