"""What a person sees in a file's thread, read from the Slack stand-in: for the abuse benchmark.

A job's thread holds its status message ("Training on X: queued", edited in place to running,
then succeeded or failed), then its outcome: the results (a header "Results ...") or a failure
("Training on X failed: what went wrong"), then the charts. A command refused before any job
exists is answered privately (the response_url, or an ephemeral message).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bot.console.slack_standin import SlackStandIn

CHANNEL = "C0GENERAL"
POLL_S = 0.1
QUIET_AFTER_PRIVATE_S = 5.0  # a private refusal and no job after this long: that was all


@dataclass
class Seen:
    """What the person was shown after a moment (epoch `since`)."""

    outcome: str = ""  # the outcome message's text, or the private answer when no job ran
    outcome_at: float | None = None  # epoch seconds the outcome was posted
    results: int = 0  # results messages posted
    charts: int = 0  # messages carrying files (the charts)
    failures: int = 0  # failure messages posted
    status: str = ""  # the status message's text as it ended
    private: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # every text the person can read

    @property
    def traceback(self) -> bool:
        return any("Traceback" in text or 'File "' in text for text in self.shown)


def texts(message: dict[str, Any]) -> list[str]:
    """The fallback text and every text inside the blocks of a message."""
    found = [str(message.get("text") or "")]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                found.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(message.get("blocks") or [])
    return found


def is_results(message: dict[str, Any]) -> bool:
    blocks = message.get("blocks") or []
    header = blocks[0].get("text", {}).get("text", "") if blocks else ""
    return str(header).startswith("Results")


def is_failure(message: dict[str, Any]) -> bool:
    return " failed: " in str(message.get("text", ""))


def is_status(message: dict[str, Any]) -> bool:
    text = str(message.get("text", ""))
    return text.startswith("Training on") and not is_failure(message)


def bot_replies(slack: SlackStandIn, thread_ts: str, since: float) -> list[dict[str, Any]]:
    return [
        m
        for m in slack.thread(CHANNEL, thread_ts)[1:]
        if float(m["ts"]) >= since and m.get("user") == slack.bot_user_id
    ]


def look(slack: SlackStandIn, thread_ts: str, since: float) -> Seen:
    seen = Seen()
    for message in bot_replies(slack, thread_ts, since):
        seen.shown.extend(texts(message))
        if is_status(message) and not seen.status:
            seen.status = str(message.get("text", ""))
        elif is_results(message) or is_failure(message):
            seen.results += is_results(message)
            seen.failures += is_failure(message)
            if seen.outcome_at is None:
                seen.outcome, seen.outcome_at = str(message.get("text", "")), float(message["ts"])
        elif message.get("files"):
            seen.charts += 1
        elif seen.outcome_at is None:  # another answer in the thread (a refusal, say)
            seen.outcome, seen.outcome_at = str(message.get("text", "")), float(message["ts"])
    for call in slack.calls("respond"):
        if call.time >= since and call.params.get("text"):
            seen.private.append(str(call.params["text"]))
    seen.private += [
        str(e.get("text", "")) for e in slack.ephemerals if float(e.get("ts", 0)) >= since
    ]
    seen.shown += seen.private
    return seen


def wait_for_outcome(
    slack: SlackStandIn, thread_ts: str, since: float, timeout_s: float, *, charts: bool = False
) -> Seen:
    """Wait until the thread shows the job's outcome (and its charts, if `charts` and it has
    results), or a private refusal stood alone for a while, or the timeout."""
    deadline = time.monotonic() + timeout_s
    private_since: float | None = None
    seen = look(slack, thread_ts, since)
    while time.monotonic() < deadline:
        seen = look(slack, thread_ts, since)
        if seen.outcome_at is not None and (not charts or not seen.results or seen.charts):
            time.sleep(1.0)  # anything posted twice would show now
            return look(slack, thread_ts, since)
        if seen.private and not seen.status:
            private_since = private_since or time.monotonic()
            if time.monotonic() - private_since > QUIET_AFTER_PRIVATE_S:
                seen.outcome = seen.private[-1]
                return seen
        time.sleep(POLL_S)
    return seen


def wait_for_preview(slack: SlackStandIn, thread_ts: str, since: float, timeout_s: float) -> str:
    """The text of the bot's first reply in the file's thread (the preview), or ""."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        replies = bot_replies(slack, thread_ts, since)
        if replies:
            return " ".join(texts(replies[0])[:1])
        time.sleep(POLL_S)
    return ""
