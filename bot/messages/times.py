"""Times in messages: Slack shows `<!date^…>` in each reader's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime


def slack_time(moment: datetime) -> str:
    """`<!date^EPOCH^{date_short_pretty} {time}|2026-12-03 15:21 UTC>`.

    Slack renders the token in the reader's zone; the UTC text after `|` is what clients
    that cannot render it (notifications, older apps) show instead.
    """
    if moment.tzinfo is None:  # stored times are UTC; a naive one must not read as local
        moment = moment.replace(tzinfo=UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
