"""The buttons and modals that use a trained model: predict on a new file, retrain, pick a model.

Their callback and action ids are named here once: the listeners register them, the messages
draw them and the manifest (`infra/slack-manifest.yaml`) names the shortcut.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from bot.messages.blocks import Block, section
from bot.messages.models import model_option_text
from bot.messages.text import code, escape, truncate

if TYPE_CHECKING:
    from bot.jobs import Job
    from bot.models import UsableModel

PREDICT_BUTTON_ACTION = "predict_new_file"
RETRAIN_BUTTON_ACTION = "retrain_new_file"
PREDICT_FILE_MODAL = "predict_file_form"
RETRAIN_FILE_MODAL = "retrain_file_form"
PICK_MODEL_MODAL = "predict_pick_model"
PREDICT_SHORTCUT_CALLBACK_ID = "predict_with_model"

FILE_BLOCK = "new_file"
FILE_ACTION = "file"
MODEL_BLOCK = "model"
MODEL_ACTION = "model"

MAX_OPTIONS = 100  # a static menu's limit

FormKind = Literal["predict", "retrain"]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def model_buttons(job_id: str) -> Block:
    """The actions under a model's results: score a new file with it, or train it again."""
    return {
        "type": "actions",
        "block_id": f"model_actions:{job_id}",
        "elements": [
            {
                "type": "button",
                "action_id": PREDICT_BUTTON_ACTION,
                "text": _plain("Predict on a new file"),
                "value": job_id,
                "style": "primary",
            },
            {
                "type": "button",
                "action_id": RETRAIN_BUTTON_ACTION,
                "text": _plain("Retrain on a new file"),
                "value": job_id,
            },
        ],
    }


def predict_button(job_id: str) -> dict[str, Any]:
    """One Predict button, as a section's accessory (the Home tab's list of models)."""
    return {
        "type": "button",
        "action_id": PREDICT_BUTTON_ACTION,
        "text": _plain("Predict"),
        "value": job_id,
    }


def file_form(
    kind: FormKind,
    job: Job,
    *,
    channel_id: str,
    thread_ts: str | None,
    filetypes: list[str],
) -> Block:
    """The modal with a file input: predict with `job`'s model, or retrain it, on a new file.

    `filetypes` narrows the file picker; Slack calls it a convenience, so the submission is
    checked again.
    """
    metadata = json.dumps(
        {"job_id": job.job_id, "channel_id": channel_id, "thread_ts": thread_ts},
        separators=(",", ":"),
    )
    target = escape(truncate(job.target, 80))
    if kind == "predict":
        intro = (
            f"Score a new table with model {code(job.job_id)}, which predicts *{target}*. "
            "The file needs the columns the model was trained on; the answer (a CSV with a "
            "prediction per row) goes to the model's thread."
        )
    else:
        intro = (
            f"Train again like {code(job.job_id)} (target *{target}*, same settings) on a new "
            "table. The results compare the new model with this one on the new file's "
            "held-out rows."
        )
    return {
        "type": "modal",
        "callback_id": PREDICT_FILE_MODAL if kind == "predict" else RETRAIN_FILE_MODAL,
        "title": _plain("Predict on a file" if kind == "predict" else "Retrain on a file"),
        "submit": _plain("Predict" if kind == "predict" else "Retrain"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": [
            section(intro),
            {
                "type": "input",
                "block_id": FILE_BLOCK,
                "label": _plain("Table file"),
                "element": {
                    "type": "file_input",
                    "action_id": FILE_ACTION,
                    "filetypes": filetypes,
                    "max_files": 1,
                },
                "hint": _plain("CSV, TSV, Excel or Parquet; one file."),
            },
        ],
    }


def pick_model_form(
    models: list[UsableModel],
    *,
    channel_id: str,
    file_id: str,
    file_name: str,
    thread_ts: str | None,
    now: datetime | None = None,
) -> Block:
    """The shortcut's modal: which of the channel's models scores the message's file."""
    metadata = json.dumps(
        {"channel_id": channel_id, "file_id": file_id, "thread_ts": thread_ts},
        separators=(",", ":"),
    )
    options = [
        {"text": _plain(model_option_text(m, now)), "value": m.job.job_id}
        for m in models[:MAX_OPTIONS]
    ]
    return {
        "type": "modal",
        "callback_id": PICK_MODEL_MODAL,
        "title": _plain("Predict with a model"),
        "submit": _plain("Predict"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": [
            section(f"Score *{escape(truncate(file_name, 120))}* with one of these models."),
            {
                "type": "input",
                "block_id": MODEL_BLOCK,
                "label": _plain("Model"),
                "element": {
                    "type": "static_select",
                    "action_id": MODEL_ACTION,
                    "options": options,
                    "initial_option": options[0],
                },
            },
        ],
    }


def form_context(view: dict[str, Any]) -> dict[str, str | None]:
    """What a form was opened for (its private metadata)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return {key: (str(value) if value else None) for key, value in data.items()}


def submitted_files(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The files a person attached to a file form (the file input's state)."""
    values = (view.get("state") or {}).get("values") or {}
    state = (values.get(FILE_BLOCK) or {}).get(FILE_ACTION) or {}
    return [f for f in state.get("files") or [] if isinstance(f, dict) and f.get("id")]


def chosen_model(view: dict[str, Any]) -> str | None:
    values = (view.get("state") or {}).get("values") or {}
    state = (values.get(MODEL_BLOCK) or {}).get(MODEL_ACTION) or {}
    return (state.get("selected_option") or {}).get("value")
