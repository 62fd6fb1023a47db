"""Block Kit blocks within Slack's limits, and the `SlackMessage` every builder returns.

At most 50 blocks a message, 3,000 characters of section text, 150 characters of header
text, 10 section fields, and a table of at most 100 rows of 20 cells: respected here, not
left to the API to reject.
"""

from __future__ import annotations

from typing import Any, TypedDict

from bot.messages.text import truncate

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000
MAX_TABLE_ROWS = 100  # the header row included
MAX_TABLE_CELL = 200  # our own cap, so one odd estimator name cannot stretch the table

Block = dict[str, Any]


class SlackMessage(TypedDict):
    """Keyword arguments for `chat_postMessage` / `chat_update` / `chat_postEphemeral`."""

    text: str
    blocks: list[Block]


def header(text: str) -> Block:
    """A header block; its text is plain_text, shown as is (no mrkdwn, so no escaping)."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_TEXT), "emoji": True},
    }


def section(mrkdwn: str) -> Block:
    """A section of mrkdwn text; the caller escapes what a person wrote."""
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(mrkdwn, MAX_SECTION_TEXT)},
    }


def fields_section(pairs: list[tuple[str, str]]) -> Block:
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{label}*\n{value}", MAX_FIELD_TEXT)}
        for label, value in pairs[:10]
    ]
    return {"type": "section", "fields": fields}


def context(*mrkdwn: str) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": truncate(text, MAX_CONTEXT_TEXT)} for text in mrkdwn[:10]
        ],
    }


def divider() -> Block:
    return {"type": "divider"}


def _cell(value: object) -> dict[str, str]:
    # raw_text is shown literally: no mrkdwn escaping, only a length cap.
    return {"type": "raw_text", "text": truncate(str(value), MAX_TABLE_CELL)}


def table(columns: list[str], rows: list[list[str]], align: list[str] | None = None) -> Block:
    """A native Block Kit table: the first row is the header, at most 100 rows of 20 cells."""
    body = rows[: MAX_TABLE_ROWS - 1]
    block: Block = {
        "type": "table",
        "rows": [[_cell(c) for c in columns[:20]]] + [[_cell(c) for c in r[:20]] for r in body],
    }
    if align:
        block["column_settings"] = [{"align": a, "is_wrapped": False} for a in align[:20]]
    return block


def message(text: str, blocks: list[Block]) -> SlackMessage:
    """A message of `blocks` (cut to Slack's 50) with `text` as its notification fallback."""
    if len(blocks) > MAX_BLOCKS:
        blocks = [
            *blocks[: MAX_BLOCKS - 1],
            context("_Some details were left out: message too long._"),
        ]
    return {"text": truncate(text, MAX_FALLBACK_TEXT), "blocks": blocks}
