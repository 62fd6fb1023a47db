"""Using a trained model from Slack: the Predict and Retrain buttons (results message, Home
tab), their file forms, and the "Predict with a model" message shortcut with its model menu.

A modal must open within 3 s of the click (the trigger id expires), so the buttons and the
shortcut open theirs in the ack half; the prediction or the retraining starts in the lazy
half of the form's submission, and its sentence reaches the person privately in the channel.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.errors import UserFacingError
from bot.jobs import Job
from bot.listeners.predictions import ask_for_prediction
from bot.listeners.replies import answer_safely, ephemeral_reply
from bot.messages.answers import problem_text
from bot.messages.model_forms import (
    FILE_BLOCK,
    PICK_MODEL_MODAL,
    PREDICT_BUTTON_ACTION,
    PREDICT_FILE_MODAL,
    PREDICT_SHORTCUT_CALLBACK_ID,
    RETRAIN_BUTTON_ACTION,
    RETRAIN_FILE_MODAL,
    FormKind,
    chosen_model,
    file_form,
    form_context,
    pick_model_form,
    submitted_files,
)
from bot.messages.models import (
    ATTACH_ONE_FILE,
    NO_MODEL_FOR_SHORTCUT,
    NO_TABLE_FOR_PREDICTION,
    not_a_table_upload,
)
from bot.models import find_model, find_model_from_home, usable_models
from bot.retrain_service import RetrainRequest, retrain
from bot.service import JobService
from bot.slack_files import TABLE_EXTENSIONS, is_table_file

FILE_INPUT_TYPES = [*TABLE_EXTENSIONS, "gz"]

log = logging.getLogger(__name__)


def _notice(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: where a click from the Home tab has no channel to
    answer in."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def _clicked_model(service: JobService, body: dict[str, Any], action_id: str) -> Job:
    """The model a Predict or Retrain button names, if the person may use it where it is."""
    user = (body.get("user") or {}).get("id") or ""
    value = next(
        (
            a.get("value") or ""
            for a in body.get("actions") or []
            if a.get("action_id") == action_id
        ),
        "",
    )
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if channel:  # a results message in a channel
        service.check_allowed(user, channel)
        return find_model(service.backend, value, user_id=user, channel_id=channel)
    job = find_model_from_home(service.backend, value, user_id=user)  # the Home tab
    service.check_allowed(user, job.channel_id)
    return job


def make_button_listener(service: JobService, kind: FormKind) -> Any:
    action_id = PREDICT_BUTTON_ACTION if kind == "predict" else RETRAIN_BUTTON_ACTION

    def on_click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            job = _clicked_model(service, body, action_id)
        except UserFacingError as error:
            client.views_open(
                trigger_id=body["trigger_id"], view=_notice("AutoML", problem_text(error))
            )
            return
        view = file_form(
            kind,
            job,
            channel_id=job.channel_id,
            thread_ts=job.thread_ts,
            filetypes=FILE_INPUT_TYPES,
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    return on_click


def _check_upload(ack: Ack, view: dict[str, Any]) -> None:
    """Refuse, next to the file input, anything but one table file; else close the form."""
    files = submitted_files(view)
    if len(files) != 1:
        ack(response_action="errors", errors={FILE_BLOCK: ATTACH_ONE_FILE})
    elif not is_table_file(files[0]):
        name = str(files[0].get("name") or files[0].get("title") or "This file")
        ack(response_action="errors", errors={FILE_BLOCK: not_a_table_upload(name)})
    else:
        ack()


def make_file_form_listener(service: JobService, kind: FormKind) -> Any:
    def work(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        files = submitted_files(view)
        meta = form_context(view)
        user = (body.get("user") or {}).get("id")
        channel, job_id = meta.get("channel_id"), meta.get("job_id")
        if len(files) != 1 or not is_table_file(files[0]) or not (user and channel and job_id):
            return  # refused in the ack
        file = files[0]
        dedupe_key = f"view:{view.get('id')}"

        def start() -> str | None:
            if kind == "predict":
                return ask_for_prediction(
                    service,
                    user_id=user,
                    channel_id=channel,
                    model_job_id=job_id,
                    file_id=file["id"],
                    file_name=file.get("name"),
                    thread_ts=meta.get("thread_ts"),
                    dedupe_key=dedupe_key,
                )
            request = RetrainRequest(
                user_id=user,
                channel_id=channel,
                job_id=job_id,
                file_id=file["id"],
                thread_ts=meta.get("thread_ts"),
                dedupe_key=dedupe_key,
            )
            return retrain(service, request).sentence()

        answer_safely(
            ephemeral_reply(client, channel, user, meta.get("thread_ts")),
            start,
            channel=channel,
            user=user,
            event=f"{kind} form",
        )

    return work


def make_shortcut_listener(service: JobService) -> Any:
    def on_shortcut(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or ""
        user = (body.get("user") or {}).get("id") or ""
        try:
            service.check_allowed(user, channel)
        except UserFacingError as error:
            respond(text=problem_text(error), response_type="ephemeral")
            return
        files = [f for f in message.get("files") or [] if f.get("id") and is_table_file(f)]
        if not files or not channel:
            respond(text=NO_TABLE_FOR_PREDICTION, response_type="ephemeral")
            return
        models = usable_models(service.backend, user_id=user, channel_id=channel)
        if not models:
            respond(text=NO_MODEL_FOR_SHORTCUT, response_type="ephemeral")
            return
        file = files[0]
        view = pick_model_form(
            models,
            channel_id=channel,
            file_id=file["id"],
            file_name=file.get("name") or file.get("title") or "the file",
            thread_ts=message.get("thread_ts") or message.get("ts"),
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    return on_shortcut


def make_pick_model_listener(service: JobService) -> Any:
    def work(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = form_context(view)
        user = (body.get("user") or {}).get("id")
        channel, file_id, job_id = meta.get("channel_id"), meta.get("file_id"), chosen_model(view)
        if not (user and channel and file_id and job_id):
            return
        answer_safely(
            ephemeral_reply(client, channel, user, meta.get("thread_ts")),
            lambda: ask_for_prediction(
                service,
                user_id=user,
                channel_id=channel,
                model_job_id=job_id,
                file_id=file_id,
                file_name=None,
                thread_ts=meta.get("thread_ts"),
                dedupe_key=f"view:{view.get('id')}",
            ),
            channel=channel,
            user=user,
            event="predict shortcut",
        )

    return work


def _close(ack: Ack) -> None:
    ack()


def register(app: App, service: JobService) -> None:
    app.action(PREDICT_BUTTON_ACTION)(make_button_listener(service, "predict"))
    app.action(RETRAIN_BUTTON_ACTION)(make_button_listener(service, "retrain"))
    app.view(PREDICT_FILE_MODAL)(
        ack=_check_upload, lazy=[make_file_form_listener(service, "predict")]
    )
    app.view(RETRAIN_FILE_MODAL)(
        ack=_check_upload, lazy=[make_file_form_listener(service, "retrain")]
    )
    app.shortcut(PREDICT_SHORTCUT_CALLBACK_ID)(make_shortcut_listener(service))
    app.view(PICK_MODEL_MODAL)(ack=_close, lazy=[make_pick_model_listener(service)])
