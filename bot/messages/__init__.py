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
    parsing    what was wrong with the words after `/automl` (`bot.command_parser`)
    files      why the file could not be found or fetched from Slack (`bot.slack_files`)
    cost       what a job cost on Fargate, in a line (`bot.cost`)

(The file preview and the training form are in `bot.preview_blocks`.) Text a person
provided (file and column names, target, error messages) is escaped for mrkdwn (`&`, `<`,
`>`: `text.escape`, `text.code` for code spans) wherever it enters mrkdwn, the fallback text
included, so it can neither mention nor link. A problem's words (`UserFacingError`) are plain
and escaped where they are shown.

A result's sentences that the terminal shows too are worded in `contract.wording`; this
package gives them Slack's markup. It is on the Lambda's import path: the contract and the
standard library only (never pandas, plotly or FLAML, nor slack_sdk).
"""

from bot.messages.blocks import MAX_BLOCKS, SlackMessage
from bot.messages.failure import failure_message
from bot.messages.progress import job_status_message, progress_message
from bot.messages.results import results_message
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
    "truncate",
    "usage_message",
]
