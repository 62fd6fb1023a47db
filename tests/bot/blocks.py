"""What the bot showed, block by block: find the message or call of interest, then read the
one block that should say something, instead of searching a dump of everything.

    results = in_thread(fake, channel, thread_ts, header="Results")
    assert fields(results["blocks"])["Duration"] == "29 s (budget 30 s)"
    assert links(results["blocks"])["Download the model"].startswith(bot_url)
    assert "*What to do:* Pick a." in section_texts(failure["blocks"])

Messages are the dicts Slack's stand-in keeps (`fake.thread`, `fake.ephemerals`), the
parameters of a recorded call (`fake.calls(method)[i].params`), or the keyword arguments a
listener passed to `ack` / `respond`: each has `blocks` (maybe) and `text`.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.slack_api import FakeSlack

Block = dict[str, Any]
Message = dict[str, Any]

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


# ---- finding the message ---------------------------------------------------------------------


def sent(
    fake: FakeSlack,
    method: str = "chat.postMessage",
    *,
    channel: str | None = None,
    thread_ts: str | None = None,
) -> list[Message]:
    """The parameters of every successful `method` call (into `channel` / `thread_ts`)."""
    return [
        call.params
        for call in fake.calls(method)
        if call.ok
        and (channel is None or call.params.get("channel") == channel)
        and (thread_ts is None or call.params.get("thread_ts") == thread_ts)
    ]


def in_thread(
    fake: FakeSlack,
    channel: str,
    thread_ts: str,
    *,
    header: str | None = None,
    containing: str | None = None,
) -> Message:
    """The newest reply in the thread whose header starts with `header`, or whose text (the
    fallback, or any block's text) holds `containing`; AssertionError when there is none."""
    replies = fake.thread(channel, thread_ts)[1:]
    for message in reversed(replies):
        blocks = message.get("blocks") or []
        if header is not None and not header_text(blocks).startswith(header):
            continue
        if containing is not None and not any(
            containing in text for text in [message.get("text") or "", *texts(blocks)]
        ):
            continue
        return message
    raise AssertionError(f"no reply in the thread with header={header!r} containing={containing!r}")


def shown(message: Message) -> list[str]:
    """What a message shows: its fallback text, then the text of each of its blocks."""
    return [message.get("text") or "", *texts(message.get("blocks") or [])]


def says(message: Message, start: str) -> bool:
    """Whether one of the message's sections starts with `start`."""
    return any(text.startswith(start) for text in section_texts(message.get("blocks") or []))


# ---- reading its blocks ----------------------------------------------------------------------


def of_type(blocks: list[Block], kind: str) -> list[Block]:
    return [block for block in blocks if block.get("type") == kind]


def header_text(blocks: list[Block]) -> str:
    """The text of the first header block ("" without one)."""
    headers = of_type(blocks, "header")
    return str(headers[0]["text"]["text"]) if headers else ""


def section_texts(blocks: list[Block]) -> list[str]:
    """The mrkdwn of every section that has a text (not only fields), in order."""
    return [block["text"]["text"] for block in of_type(blocks, "section") if "text" in block]


def section_with(blocks: list[Block], words: str) -> str:
    """The text of the one section that holds `words`."""
    found = [text for text in section_texts(blocks) if words in text]
    assert len(found) == 1, f"{len(found)} sections hold {words!r}: {section_texts(blocks)}"
    return found[0]


def fields(blocks: list[Block]) -> dict[str, str]:
    """A fields section's `*Label*\\nvalue` pairs, as {label: value}."""
    pairs: dict[str, str] = {}
    for block in of_type(blocks, "section"):
        for field in block.get("fields", []):
            label, _, value = field["text"].partition("\n")
            pairs[label.strip("*")] = value
    return pairs


def context_texts(blocks: list[Block]) -> list[str]:
    """The text of every context element, in order."""
    return [
        element.get("text", "")
        for block in of_type(blocks, "context")
        for element in block.get("elements", [])
    ]


def element(blocks: list[Block], action_id: str) -> tuple[str, Block]:
    """(block_id, element) of the interactive element with `action_id`."""
    for block in blocks:
        candidates = list(block.get("elements") or [])
        if "accessory" in block:
            candidates.append(block["accessory"])
        for candidate in candidates:
            if candidate.get("action_id") == action_id:
                return block.get("block_id", ""), candidate
    raise AssertionError(f"no element {action_id!r} in the blocks")


def links(blocks: list[Block]) -> dict[str, str]:
    """{label: url} of every mrkdwn link (`<url|label>`) in the sections; each label once."""
    found = [(label, url) for text in section_texts(blocks) for url, label in _LINK.findall(text)]
    labels = [label for label, _ in found]
    assert len(set(labels)) == len(labels), f"a label names two links: {labels}"
    return dict(found)


def texts(blocks: list[Block]) -> list[str]:
    """Every text a person reads in the blocks, block by block: headers, sections and their
    fields, context, table cells and inputs' labels."""
    found: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section") and "text" in block:
            found.append(block["text"]["text"])
        if kind == "section":
            found += [field["text"] for field in block.get("fields", [])]
        if kind == "context":
            found += [element.get("text", "") for element in block.get("elements", [])]
        if kind == "table":
            found += [cell.get("text", "") for row in block.get("rows", []) for cell in row]
        if kind == "input":
            found.append(block["label"]["text"])
    return found
