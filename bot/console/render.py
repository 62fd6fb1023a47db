"""Slack messages as terminal text: what a thread would show, readably, without Slack."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

_EMOJI = {
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":gear:": "⚙️ ",
    ":hourglass_flowing_sand:": "⏳",
    ":warning:": "⚠️ ",
    ":no_entry_sign:": "🚫",
    ":bar_chart:": "📊",
    ":package:": "📦",
    ":mag:": "🔎",
    ":point_up:": "☝️ ",
    ":bulb:": "💡",
    ":dart:": "🎯",
    ":clipboard:": "📋",
    ":moneybag:": "💰",
}
# `<!date^…|fallback>` and the other special tokens: a terminal shows what Slack shows a
# client that cannot format them, the fallback text.
_SPECIAL = re.compile(r"<![^<>|]*\|([^<>]+)>")
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^<>|]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")

LinkRewriter = Callable[[str], str]


def mrkdwn(text: str, rewrite_link: LinkRewriter | None = None) -> str:
    """Slack's mrkdwn to plain text: links show their target, entities are unescaped."""

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        target = rewrite_link(url) if rewrite_link else url
        return f"{label} ({target})"

    text = _SPECIAL.sub(lambda m: m.group(1), text)
    text = _LINK.sub(link, text)
    text = _BARE_LINK.sub(lambda m: rewrite_link(m.group(1)) if rewrite_link else m.group(1), text)
    text = _MENTION.sub(lambda m: f"@{m.group(1)}", text)
    for code, symbol in _EMOJI.items():
        text = text.replace(code, symbol)
    return html.unescape(text)


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return str(obj or "")


def _table(block: dict[str, Any]) -> list[str]:
    rows = [[_text(cell) for cell in row] for row in block.get("rows", [])]
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(rows[0]))]
    aligns = [s.get("align", "left") for s in block.get("column_settings", [])]
    lines = []
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            width = widths[i] if i < len(widths) else len(cell)
            right = i < len(aligns) and aligns[i] == "right"
            cells.append(cell.rjust(width) if right else cell.ljust(width))
        lines.append("  " + "  ".join(cells).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("─" * w for w in widths))
    return lines


def _element(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[ {_text(element.get('text'))} ]"
    if kind in ("static_select", "external_select"):
        chosen = (element.get("initial_option") or {}).get("text")
        placeholder = _text(element.get("placeholder"))
        return f"[ {_text(chosen) if chosen else placeholder} ▾ ]"
    return f"[{kind}]"


def render_blocks(blocks: list[dict[str, Any]], rewrite_link: LinkRewriter | None = None) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {_text(block.get('text'))} ==")
        elif kind == "section":
            if block.get("text"):
                lines.append(mrkdwn(_text(block["text"]), rewrite_link))
            for field in block.get("fields") or []:
                lines.append("  " + mrkdwn(_text(field), rewrite_link).replace("\n", " "))
            if block.get("accessory"):
                lines.append("  " + _element(block["accessory"]))
        elif kind == "context":
            parts = [mrkdwn(_text(e), rewrite_link) for e in block.get("elements", [])]
            lines.append("  " + " · ".join(p for p in parts if p))
        elif kind == "divider":
            lines.append("  ────────")
        elif kind == "table":
            lines.extend(_table(block))
        elif kind == "actions":
            lines.append("  " + "  ".join(_element(e) for e in block.get("elements", [])))
        elif kind == "image":
            lines.append(f"  [image: {block.get('alt_text', '')}]")
    return "\n".join(lines)


def render_message(message: dict[str, Any], rewrite_link: LinkRewriter | None = None) -> str:
    """A message's blocks if it has any, else its text; files listed by title."""
    blocks = message.get("blocks") or []
    body = render_blocks(blocks, rewrite_link) if blocks else mrkdwn(message.get("text", ""))
    for file in message.get("files") or []:
        title = file.get("title") or file.get("name")
        body += f"\n  [file: {title}]"
    return body.strip("\n")
