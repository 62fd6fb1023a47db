"""What Slack checks before it does anything: arguments, message content and Block Kit limits.

A failed check raises `SlackError`, which the API answers as `{"ok": false, "error": ...}`
(HTTP 200), the way Slack does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40_000
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_VIEW_TITLE = 24
MAX_INPUT_LABEL = 2000
MAX_FILE_INPUT_FILES = 10


class SlackError(Exception):
    """An API error, answered as ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def require(params: dict[str, Any], *names: str) -> None:
    """`invalid_arguments` for a required parameter that is missing or empty."""
    for name in names:
        if params.get(name) in (None, ""):
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )


def message_content(params: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """The text, blocks and attachments of a message, checked; `no_text` when `required` and
    there is none."""
    text = params.get("text")
    blocks = params.get("blocks")
    attachments = params.get("attachments")
    if required and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if text is not None and len(str(text)) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    content: dict[str, Any] = {}
    if text is not None:
        content["text"] = str(text)
    if blocks not in (None, ""):
        content["blocks"] = validate_blocks(blocks)
    if attachments not in (None, ""):
        content["attachments"] = _json_value(attachments)
    if params.get("metadata"):
        content["metadata"] = _json_value(params["metadata"])
    return content


def validate_view(view: Any, *, surface: str = "modal") -> dict[str, Any]:
    """A view (a dict, or its JSON text) checked as views.open (`surface="modal"`) or
    views.publish (`"home"`) checks it."""
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError as exc:
            raise SlackError("invalid_arguments") from exc
    if not isinstance(view, dict) or view.get("type") != surface:
        raise SlackError("invalid_arguments")
    if view["type"] == "modal" and not 0 < len(text_of(view.get("title"))) <= MAX_VIEW_TITLE:
        raise SlackError(
            "invalid_arguments",
            response_metadata={
                "messages": [
                    f"[ERROR] must be at most {MAX_VIEW_TITLE} characters "
                    "[json-pointer:/view/title/text]"
                ]
            },
        )
    blocks = validate_blocks(view.get("blocks", []), limit=MAX_BLOCKS_VIEW)
    if any(b.get("type") == "input" for b in blocks) and not text_of(view.get("submit")):
        # Slack: `submit` is required when an input block is within the blocks array.
        raise SlackError(
            "invalid_arguments",
            response_metadata={
                "messages": ["[ERROR] must provide a submit property [json-pointer:/view/submit]"]
            },
        )
    return view


def validate_blocks(blocks: Any, *, limit: int = MAX_BLOCKS_MESSAGE) -> list[dict[str, Any]]:
    """Check ``blocks`` (a list, or its JSON text) against Block Kit's limits, as Slack does."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError as exc:
            raise SlackError("invalid_blocks_format") from exc
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise SlackError("invalid_blocks_format")
    if len(blocks) > limit:
        raise blocks_error(f"no more than {limit} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}"
        kind = block.get("type")
        if not isinstance(kind, str) or not kind:
            raise blocks_error(f"missing required field: type {where}]")
        _check_block_id(block, where, seen_ids)
        check = _CHECKS.get(kind)
        if check is not None:
            check(block, where)
    if sum(block.get("type") == "table" for block in blocks) > 1:
        # The table block's usage notes: one table per message.
        raise SlackError("only_one_table_allowed")
    return blocks


def blocks_error(*problems: str) -> SlackError:
    return SlackError(
        "invalid_blocks",
        errors=list(problems),
        response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
    )


def text_of(obj: Any) -> str:
    """The `text` of a text object; "" for anything else."""
    if isinstance(obj, dict):
        value = obj.get("text", "")
        return value if isinstance(value, str) else ""
    return ""


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _check_block_id(block: dict[str, Any], where: str, seen_ids: set[str]) -> None:
    block_id = block.get("block_id")
    if block_id is None:
        return
    if not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID:
        raise blocks_error(f"must be at most {MAX_BLOCK_ID} characters {where}/block_id]")
    if block_id in seen_ids:
        raise blocks_error(f"duplicate block_id {where}/block_id]")
    seen_ids.add(block_id)


def _check_section(block: dict[str, Any], where: str) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        raise blocks_error(f"must provide either text or fields {where}]")
    if text is not None and len(text_of(text)) > MAX_SECTION_TEXT:
        raise blocks_error(
            f"must be less than {MAX_SECTION_TEXT + 1} characters {where}/text/text]"
        )
    if not fields:
        return
    if len(fields) > MAX_SECTION_FIELDS:
        raise blocks_error(f"no more than {MAX_SECTION_FIELDS} items {where}/fields]")
    for j, f in enumerate(fields):
        if len(text_of(f)) > MAX_FIELD_TEXT:
            raise blocks_error(
                f"must be less than {MAX_FIELD_TEXT + 1} characters {where}/fields/{j}/text]"
            )


def _check_header(block: dict[str, Any], where: str) -> None:
    text = block.get("text")
    if not isinstance(text, dict) or text.get("type") != "plain_text":
        raise blocks_error(f"must be a plain_text object {where}/text]")
    if len(text_of(text)) > MAX_HEADER_TEXT:
        raise blocks_error(f"must be less than {MAX_HEADER_TEXT + 1} characters {where}/text/text]")


def _check_image(block: dict[str, Any], where: str) -> None:
    if not block.get("image_url") and not block.get("slack_file"):
        raise blocks_error(f"must provide image_url or slack_file {where}]")
    if not block.get("alt_text"):
        raise blocks_error(f"missing required field: alt_text {where}]")


def _check_elements(most: int) -> Callable[[dict[str, Any], str], None]:
    """Actions and context blocks: 1 to `most` elements."""

    def check(block: dict[str, Any], where: str) -> None:
        elements = block.get("elements") or []
        if not elements or len(elements) > most:
            raise blocks_error(f"must have 1 to {most} items {where}/elements]")

    return check


def _check_input(block: dict[str, Any], where: str) -> None:
    label, element = block.get("label"), block.get("element")
    if not isinstance(label, dict) or label.get("type") != "plain_text":
        raise blocks_error(f"must be a plain_text object {where}/label]")
    if not 0 < len(text_of(label)) <= MAX_INPUT_LABEL:
        raise blocks_error(f"must be at most {MAX_INPUT_LABEL} characters {where}/label/text]")
    if not isinstance(element, dict) or not element.get("type"):
        raise blocks_error(f"missing required field: element {where}]")
    if element["type"] == "file_input":
        most = element.get("max_files", MAX_FILE_INPUT_FILES)
        if not isinstance(most, int) or not 1 <= most <= MAX_FILE_INPUT_FILES:
            raise blocks_error(f"must be between 1 and 10 {where}/element/max_files]")
        types = element.get("filetypes", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise blocks_error(f"must be a list of strings {where}/element/filetypes]")


def _check_table(block: dict[str, Any], where: str) -> None:
    rows = block.get("rows")
    if not isinstance(rows, list) or not rows:
        raise blocks_error(f"missing required field: rows {where}]")
    if len(rows) > MAX_TABLE_ROWS:
        raise blocks_error(f"no more than {MAX_TABLE_ROWS} items allowed {where}/rows]")
    for j, row in enumerate(rows):
        if not isinstance(row, list) or len(row) > MAX_TABLE_CELLS:
            raise blocks_error(f"no more than {MAX_TABLE_CELLS} items allowed {where}/rows/{j}]")
        for k, cell in enumerate(row):
            if not isinstance(cell, dict) or cell.get("type") not in ("raw_text", "rich_text"):
                raise blocks_error(f"invalid cell type {where}/rows/{j}/{k}]")


_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "section": _check_section,
    "header": _check_header,
    "image": _check_image,
    "actions": _check_elements(MAX_ACTIONS_ELEMENTS),
    "context": _check_elements(MAX_CONTEXT_ELEMENTS),
    "table": _check_table,
    "input": _check_input,
}
