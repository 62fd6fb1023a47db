"""The help: what the bot understands, sent privately."""

from __future__ import annotations

from bot.messages.blocks import Block, SlackMessage, context, message, section
from bot.messages.text import escape

USAGE = "\n".join(
    [
        "*`/automl train target=COLUMN`*: train on the newest table file shared in this channel;"
        " the replies go into that file's thread.",
        "   Options: `time=90s` or `time=5m`, `metric=NAME`,"
        " `task=classification|regression`, `exclude=a,b`, `keep=a,b`, `file=NAME`.",
        "   `keep=` uses columns the bot would leave out (an identifier, a suspected leak).",
        "*`/automl predict [JOB] [file=NAME]`*: score the newest table shared in this channel"
        " with the model of training job JOB (without JOB, the channel's newest model); a CSV"
        " of predictions arrives in that file's thread. In a thread, `@AutoML predict [JOB]`"
        " scores the thread's newest table (without JOB, with the thread's model).",
        "*`/automl status [JOB]`*: how a job is doing (yours, newest first).",
        "*`/automl list`*: the jobs in this channel.",
        "*`/automl cancel JOB`*: stop a job.",
        "*`/automl cost`*: what this channel's training jobs cost this month (AWS).",
        "*`/automl models`*: the models of this channel you can use, with their scores.",
        "*`@AutoML retrain [JOB]`* in a results thread where you shared a new file: train"
        " again with the same target and settings, compared with the previous model.",
        "*`/automl help`*: this message.",
        "",
        "Slash commands do not work inside threads: there, write"
        " `@AutoML train target=COLUMN`, or use the message shortcut *Train a model* on the"
        " file's message.",
    ]
)


def usage_message(problem: str | None = None) -> SlackMessage:
    """The help, sent privately (ephemeral); `problem` says what was wrong with the request."""
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    blocks.append(section(USAGE))
    blocks.append(
        context(
            "Upload a CSV, TSV, Excel or Parquet file first; the bot previews it in its thread."
        )
    )
    fallback = f"{escape(problem)} " if problem else ""
    fallback += (
        "Usage: /automl train target=COLUMN [time=5m] [metric=NAME] [exclude=a,b] [keep=a,b]"
    )
    return message(fallback, blocks)
