"""Text for Slack's mrkdwn: escaping, cutting to a limit, links, numbers and durations.

(A result's sentences, and the short numbers and metric names in them, are worded once for
Slack and the terminal in `contract.wording`.)
"""

from __future__ import annotations

import math
import re

ELLIPSIS = "…"


def escape(text: object) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str, otherwise: str = "someone") -> str:
    """A mention of a Slack user id (U… or W…); anything else is not written as one."""
    return f"<@{user_id}>" if re.fullmatch(r"[UW][A-Z0-9]{2,20}", user_id) else otherwise


def code(text: object, limit: int = 80) -> str:
    """Inline code: cut before escaping and no backtick inside, so the span always closes."""
    return "`" + escape(truncate(str(text), limit)).replace("`", "'") + "`"


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis when it was cut.

    An escape sequence (`&amp;`, `&lt;`, `&gt;`) is never cut in half.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    amp = cut.rfind("&", max(len(cut) - 4, 0))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def _link_url(url: str) -> str:
    # Inside <url|label>, `<`, `>` and `|` would end the link early; `&` is fine as it is.
    return url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def link(url: str, label: str) -> str:
    return f"<{_link_url(url)}|{escape(label)}>"


def bullets(lines: list[str], limit: int) -> str:
    """Join whole lines within `limit` characters, ending with how many were left out."""
    reserve = len(f"\n…and {len(lines)} more")
    kept: list[str] = []
    used = 0
    for index, raw in enumerate(lines):
        line = truncate(raw, max(limit - reserve, 1))
        room = limit if index == len(lines) - 1 else limit - reserve
        needed = len(line) + (1 if kept else 0)
        if used + needed > room:
            kept.append(f"…and {len(lines) - index} more")
            break
        kept.append(line)
        used += needed
    return "\n".join(kept)


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_score(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.4f}"


def progress_bar(fraction: float, width: int = 20) -> str:
    fraction = min(max(fraction if math.isfinite(fraction) else 0.0, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)
