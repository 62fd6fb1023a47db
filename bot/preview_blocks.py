"""Block Kit for the dataset preview and the "Train a model" modal: pure functions, no Slack calls.

- `preview_message`: what the bot posts in a table file's thread: the columns as a native
  table, the suggested target and task, notes, and a target menu with a *Train* button.
- `preview_failed_message`: why the file could not be previewed, and what to do.
- `train_modal` / `parse_train_modal` / `train_modal_context`: the modal the message shortcut
  opens, and reading back what the person entered.

Action handlers find their inputs by the ids exported here. When *Train* is clicked, the
`block_actions` payload carries the menu's current choice in `state.values`
(`preview_selection` reads it); the button's own value (`parse_train_button`) holds the file
id and the target suggested when the message was built, for when the menu was left alone.
Choosing in the menu also sends a `block_actions` request (`TARGET_SELECT_ACTION`): ack it,
nothing else.

Slack's limits are kept here: 100 options a menu, 75 characters of option text and 150 of
option value (column names are the values, so a longer name cannot be offered in the menu),
2,000 characters of button value, 3,000 of a modal's private_metadata. Standard library and
the contract models only: this module is on the Lambda's path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.errors import UserFacingError
from bot.messages.blocks import (
    MAX_SECTION_TEXT,
    MAX_TABLE_ROWS,
    Block,
    SlackMessage,
    context,
    message,
    section,
    table,
)
from bot.messages.text import bullets, code, escape, format_duration, truncate
from contract.jobs import ColumnPreview, DatasetPreview

PREVIEW_ACTIONS_BLOCK = "preview_actions"
TARGET_SELECT_ACTION = "preview_target"
TRAIN_BUTTON_ACTION = "train_button"
TRAIN_MODAL_CALLBACK_ID = "train_modal"
# The message shortcut's callback id, as infra/slack-manifest.yaml declares it.
SHORTCUT_CALLBACK_ID = "train_from_file"
# Block ids of the modal's inputs; each input's action_id is the same word.
MODAL_TARGET = "target"
MODAL_TIME = "time"
MODAL_TASK = "task"
MODAL_METRIC = "metric"
MODAL_EXCLUDE = "exclude"
MODAL_KEEP = "keep"
MODAL_SHARE = "share"  # a checkbox: its value is "channel" when ticked, else ""
MODAL_FIELDS = (
    MODAL_TARGET,
    MODAL_TIME,
    MODAL_TASK,
    MODAL_METRIC,
    MODAL_EXCLUDE,
    MODAL_KEEP,
    MODAL_SHARE,
)
# Field name -> block id, for `response_action: errors` (Slack keys errors by block id).
MODAL_BLOCK_IDS = {field: field for field in MODAL_FIELDS}
_TASK_CHOICES = (
    ("auto", "Decide from the target"),
    ("classification", "Classification"),
    ("regression", "Regression"),
)

MAX_SELECT_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_BUTTON_VALUE = 2000
MAX_PRIVATE_METADATA = 3000
MAX_NAME_CELL = 40
MAX_EXAMPLES_CELL = 60

_KIND_WORDS = {
    "number": "number",
    "category": "category",
    "text": "free text",
    "date": "date",
    "boolean": "yes/no",
    "identifier": "identifier",
    "constant": "constant",
    "empty": "empty",
}
# Columns training could predict come first in the menu; the others stay choosable.
_TARGET_KINDS = ("number", "category", "boolean")
_TASK_WORDS = {
    "classification": "classification (predicting a category)",
    "regression": "regression (predicting a number)",
}


# ---- preview -------------------------------------------------------------------------------


def preview_message(
    preview: DatasetPreview,
    file_id: str,
    *,
    default_budget_s: int,
    file_name: str | None = None,
) -> SlackMessage:
    """The preview posted in the file's thread, with a target menu and a *Train* button.

    `file_name` defaults to the name the preview was made with.
    """
    name = file_name or preview.file_name or "your file"
    n_columns = len(preview.columns)
    blocks: list[Block] = [
        section(
            f":bar_chart: *{escape(name)}*: {preview.rows:,} rows × {n_columns:,} "
            f"column{'' if n_columns == 1 else 's'} ({escape(preview.format.upper())})"
        )
    ]
    if preview.columns:
        blocks.append(_columns_table(preview.columns))
        shown = MAX_TABLE_ROWS - 1
        if n_columns > shown:
            blocks.append(context(f"Showing the first {shown} of {n_columns:,} columns."))

    target = preview.suggested_target
    if target is not None:
        task = _TASK_WORDS.get(preview.suggested_task or "", "")
        line = f"*Suggested target:* {code(target)}"
        blocks.append(section(line + (f", so {task}." if task else ".")))
    else:
        blocks.append(section("*Target:* I couldn't tell which column to predict: pick one below."))

    if preview.notes:
        title = "*Notes*\n"
        notes = [f"• {escape(n)}" for n in preview.notes]
        blocks.append(section(title + bullets(notes, MAX_SECTION_TEXT - len(title))))

    options = _target_options(preview)
    elements: list[Block] = []
    if options:
        elements.append(_select(TARGET_SELECT_ACTION, options, target, "Column to predict"))
    elements.append(
        {
            "type": "button",
            "action_id": TRAIN_BUTTON_ACTION,
            "text": _plain("Train"),
            "style": "primary",
            "value": train_button_value(file_id, target),
        }
    )
    blocks.append({"type": "actions", "block_id": PREVIEW_ACTIONS_BLOCK, "elements": elements})

    footer = f"*Train* searches for the best model for {format_duration(default_budget_s)}."
    if len(options) < n_columns:
        footer += f" The menu lists {len(options):,} of the {n_columns:,} columns."
    footer += (
        " For another column, time budget or metric, or to leave columns out, write "
        "`@AutoML train target=COLUMN time=5m` in this thread."
    )
    blocks.append(context(footer))

    fallback = f"{escape(name)}: {preview.rows:,} rows × {n_columns:,} columns."
    if target is not None:
        fallback += f" Suggested target: {escape(target)}."
    return message(fallback, blocks)


def _columns_table(columns: list[ColumnPreview]) -> Block:
    rows = [
        [
            truncate(c.name, MAX_NAME_CELL),
            _KIND_WORDS.get(c.kind, c.kind),
            f"{c.missing:,}",
            f"{c.distinct:,}",
            # A table cell may not be empty.
            truncate(", ".join(c.examples), MAX_EXAMPLES_CELL) or "—",
        ]
        for c in columns
    ]
    return table(
        ["Column", "Kind", "Missing", "Distinct", "Examples"],
        rows,
        align=["left", "left", "right", "right", "left"],
    )


def _target_options(preview: DatasetPreview) -> list[Block]:
    """Menu options, one per column whose name fits an option value; likely targets first."""
    fits = [c for c in preview.columns if len(c.name) <= MAX_OPTION_VALUE]
    ordered = [c.name for c in fits if c.kind in _TARGET_KINDS]
    ordered += [c.name for c in fits if c.kind not in _TARGET_KINDS]
    target = preview.suggested_target
    if target in ordered[MAX_SELECT_OPTIONS:]:
        ordered.remove(target)
        ordered.insert(0, target)
    return [_option(name) for name in ordered[:MAX_SELECT_OPTIONS]]


def _option(name: str) -> Block:
    return {"text": _plain(truncate(name, MAX_OPTION_TEXT)), "value": name}


def train_button_value(file_id: str, target: str | None) -> str:
    """Compact JSON for the *Train* button; the target is left out if it would not fit."""
    value = _compact({"file_id": file_id, "target": target})
    if len(value) > MAX_BUTTON_VALUE:
        value = _compact({"file_id": file_id, "target": None})
    return value


def parse_train_button(value: str) -> tuple[str, str | None]:
    """(file id, suggested target or None) from the *Train* button's value."""
    data = json.loads(value)
    target = data.get("target")
    return str(data["file_id"]), str(target) if target else None


def preview_selection(state_values: Mapping[str, Any]) -> str | None:
    """The column chosen in the preview's menu (`state.values` of a block_actions payload)."""
    chosen = (state_values.get(PREVIEW_ACTIONS_BLOCK) or {}).get(TARGET_SELECT_ACTION) or {}
    option = chosen.get("selected_option") or {}
    value = option.get("value")
    return str(value) if value else None


# ---- failure -------------------------------------------------------------------------------


def preview_failed_message(file_name: str, error: UserFacingError) -> SlackMessage:
    """Why the file could not be previewed, in the person's terms, and what to do."""
    name = file_name or "your file"
    what = error.message.strip() or "The file could not be read."
    blocks = [
        section(f":warning: *I couldn't preview {escape(name)}.*"),
        section(f"*What went wrong:* {escape(what)}"),
    ]
    if error.hint.strip():
        blocks.append(section(f"*What to do:* {escape(error.hint.strip())}"))
    blocks.append(context(f"error `{escape(error.code)}`"))
    return message(f"I couldn't preview {escape(name)}: {escape(what)}", blocks)


# ---- the "Train a model" modal ---------------------------------------------------------------


def train_modal(
    *,
    channel_id: str,
    message_ts: str,
    file_id: str,
    file_name: str,
    default_budget_s: int,
    columns: list[str] | None = None,
    suggested_target: str | None = None,
) -> dict[str, Any]:
    """The modal the message shortcut opens (`views.open`), callback id `train_modal`.

    With `columns`, the target is a menu of them (when they fit one: at most 100, names of
    at most 150 characters); otherwise a text field.
    """
    metadata = _compact({"channel_id": channel_id, "message_ts": message_ts, "file_id": file_id})
    if len(metadata) > MAX_PRIVATE_METADATA:
        raise ValueError("channel, message ts and file id do not fit in private_metadata")
    budget = format_duration(default_budget_s)
    task_options = [{"text": _plain(label), "value": value} for value, label in _TASK_CHOICES]
    blocks: list[Block] = [
        section(f"Train a model on *{escape(file_name or 'this file')}*."),
        _input(
            MODAL_TARGET,
            "Column to predict",
            _target_element(columns, suggested_target),
            optional=False,
        ),
        _input(
            MODAL_TIME,
            "Time budget",
            _text_element(MODAL_TIME, "60s or 5m"),
            hint=f"How long to search for models. Empty: {budget}.",
        ),
        _input(
            MODAL_TASK,
            "Task",
            _select(MODAL_TASK, task_options, _TASK_CHOICES[0][0]),
        ),
        _input(
            MODAL_METRIC,
            "Metric",
            _text_element(MODAL_METRIC, "auto, or e.g. roc_auc, f1, r2, rmse"),
            hint="Empty: the bot picks one that fits the task.",
        ),
        _input(
            MODAL_EXCLUDE,
            "Columns to leave out",
            _text_element(MODAL_EXCLUDE, "comma-separated, e.g. customer_id, notes"),
        ),
        _input(
            MODAL_KEEP,
            "Columns to keep",
            _text_element(MODAL_KEEP, "comma-separated, e.g. store_id"),
            hint="Used even where the bot would leave them out (an identifier, a suspected leak).",
        ),
        _input(
            MODAL_SHARE,
            "Channel",
            {
                "type": "checkboxes",
                "action_id": MODAL_SHARE,
                "options": [
                    {"text": _plain("Share the best model in the channel"), "value": "channel"}
                ],
            },
            hint="A one-line summary in the channel when the results are ready.",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": TRAIN_MODAL_CALLBACK_ID,
        "title": _plain("Train a model"),
        "submit": _plain("Train"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def _target_element(columns: list[str] | None, suggested: str | None) -> Block:
    fits = (
        columns is not None
        and 0 < len(columns) <= MAX_SELECT_OPTIONS
        and all(0 < len(c) <= MAX_OPTION_VALUE for c in columns)
    )
    if columns is not None and fits:
        return _select(MODAL_TARGET, [_option(c) for c in columns], suggested, "Pick a column")
    element = _text_element(MODAL_TARGET, "the column's name, e.g. churned")
    if suggested:
        element["initial_value"] = suggested
    return element


def _text_element(action_id: str, placeholder: str) -> Block:
    return {"type": "plain_text_input", "action_id": action_id, "placeholder": _plain(placeholder)}


def _input(
    block_id: str, label: str, element: Block, *, optional: bool = True, hint: str = ""
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def parse_train_modal(view_state_values: Mapping[str, Any]) -> dict[str, str]:
    """The modal's raw strings (`view.state.values`) by field name; "" where left empty.

    Parsing them (durations, column lists) is the caller's job, as for a slash command.
    """
    parsed: dict[str, str] = {}
    for field in MODAL_FIELDS:
        state = (view_state_values.get(field) or {}).get(field) or {}
        option = state.get("selected_option") or {}
        value = option.get("value") if option else state.get("value")
        if "selected_options" in state:  # checkboxes
            value = ",".join(str(o.get("value")) for o in state["selected_options"] or [])
        parsed[field] = str(value or "").strip()
    return parsed


def train_modal_context(private_metadata: str) -> dict[str, str]:
    """The channel, message ts and file id the modal was opened for."""
    data = json.loads(private_metadata)
    return {key: str(data[key]) for key in ("channel_id", "message_ts", "file_id")}


# ---- helpers -------------------------------------------------------------------------------


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _select(
    action_id: str, options: list[Block], initial: str | None, placeholder: str | None = None
) -> Block:
    """A static menu, showing the option whose value is `initial` where there is one."""
    menu: Block = {"type": "static_select", "action_id": action_id}
    if placeholder is not None:
        menu["placeholder"] = _plain(placeholder)
    menu["options"] = options
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        menu["initial_option"] = chosen
    return menu


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
