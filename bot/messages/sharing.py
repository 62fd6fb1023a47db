"""Sharing a job's results in the channel: the button under them and the one-line summary.

The summary is a reply in the file's thread sent to the channel too (`reply_broadcast`):
Slack shows it in the channel with a link to the thread, and in the thread with the rest,
with no permalink to look up and no extra scope.
"""

from __future__ import annotations

from typing import Any

from bot.messages.blocks import Block, SlackMessage, message, section
from bot.messages.text import code, escape, format_score, mention, truncate
from contract.jobs import JobResult
from contract.wording import metric_name

SHARE_BUTTON_ACTION = "share_results_in_channel"

ONLY_THE_OWNER = (
    "Only {owner} can share these results in the channel: they asked for them. "
    "Ask them to press *Share in channel*."
)
NOTHING_TO_SHARE = (
    "Job `{job_id}` has no results to share: only a job that found models can be shared."
)
ALREADY_SHARED = "Job `{job_id}` is shared in the channel already: its summary is there."
SHARED = "Shared a summary of job `{job_id}` in the channel."
COULD_NOT_SHARE = (
    "I could not post the summary of job `{job_id}` in the channel. Try again in a minute."
)


def share_button(job_id: str) -> Block:
    """The button under the results: post their one-line summary in the channel."""
    button: dict[str, Any] = {
        "type": "button",
        "action_id": SHARE_BUTTON_ACTION,
        "text": {"type": "plain_text", "text": "Share in channel", "emoji": True},
        "value": job_id,
    }
    return {"type": "actions", "block_id": f"share:{job_id}", "elements": [button]}


def can_share(result: JobResult) -> bool:
    """A result with a leaderboard: there is a best model to name."""
    return bool(result.leaderboard)


def channel_summary(result: JobResult, owner_id: str) -> SlackMessage:
    """One line: who trained what, the best model and its score; the thread has the rest."""
    top = result.leaderboard[0] if result.leaderboard else None
    best = result.best_estimator or (top.estimator if top else "?")
    score = next(
        (row.validation_score for row in result.leaderboard if row.estimator == best),
        top.validation_score if top else None,
    )
    text = (
        f":trophy: {mention(owner_id)} trained a model to predict {code(result.target or '?')} "
        f"from *{escape(truncate(result.file_name or 'a file', 60))}*: best *{escape(best)}*, "
        f"validation {escape(metric_name(result.metric))} *{format_score(score)}* "
        f"(job `{escape(result.job_id)}`). Leaderboard, charts and model in the thread."
    )
    return message(text, [section(text)])
