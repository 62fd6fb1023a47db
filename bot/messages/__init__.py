"""Every sentence a person reads from the bot, and the Slack messages that carry them.

Pure functions and constants, no Slack client calls. A builder returns a `SlackMessage`:
the `blocks` (plain dicts, ready for `chat.postMessage`, `chat.update` or
`chat.postEphemeral`) and a plain `text` fallback used by notifications and screen readers,
so a caller writes `client.chat_postMessage(channel=c, thread_ts=t, **message)`.

    text       escaping, cutting to a limit, links, numbers, durations
    blocks     Block Kit blocks within Slack's limits; `SlackMessage`
    progress   a job's status message, edited as it waits, runs and ends
    results    the reply when a job ends with models
    failure    the reply when it does not, and why a job wrote no result
    usage      the help
    answers    private answers to a command, a click or a form
    problems   the refusals the job service raises, with what to do

(The file preview and the training form are in `bot.preview_blocks`.) Text a person
provided (file and column names, target, error messages) is escaped for mrkdwn (`&`, `<`,
`>`) before it is put into a message.

This package is on the Lambda's import path: the contract models and the standard library
only (never pandas, plotly or FLAML, nor slack_sdk).
"""

from bot.messages.blocks import MAX_BLOCKS, SlackMessage
from bot.messages.failure import failure_message
from bot.messages.progress import job_status_message, progress_message
from bot.messages.results import results_message, threshold_sentence
from bot.messages.text import escape, format_duration, truncate
from bot.messages.usage import usage_message

__all__ = [
    "MAX_BLOCKS",
    "SlackMessage",
    "escape",
    "failure_message",
    "format_duration",
    "job_status_message",
    "progress_message",
    "results_message",
    "threshold_sentence",
    "truncate",
    "usage_message",
]
