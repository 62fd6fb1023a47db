"""A job that failed: its message, and the sentences that say why when it wrote no result."""

from __future__ import annotations

import re

from bot.messages.blocks import SlackMessage, context, message, section
from bot.messages.text import escape, truncate
from contract.jobs import JobResult

NO_RESULT_MESSAGE = "The job stopped before it could write its results."
NO_RESULT_HINT = "Try again; if it fails the same way, tell whoever runs this bot."

# What the local launcher saw of a job that wrote no result.
RESTARTED_WHILE_RUNNING = (
    "The bot was restarted while this job was running and the job did not finish."
)
RESTARTED_BEFORE_STORED = (
    "The bot was restarted before this job's file was stored. Start the job again."
)
COULD_NOT_START = "The training process could not be started. The bot's log says why."
DISK_FULL = (
    "The disk where the bot keeps its runs is full, so the job could not save its results. "
    "Ask whoever runs the bot to free some space (old runs in its data folder can go), then "
    "start the job again."
)

# What AWS Batch said of a job that wrote no result, by the kind of reason it gave.
AWS_REASONS = {
    "timeout": "The job ran past its time limit on AWS and was stopped.",
    "spot": "AWS reclaimed the Spot capacity the job ran on, on every attempt.",
    "capacity": "AWS had no capacity to start the job in time.",
    "misconfiguration": (
        "AWS could not start the job: the deployment's compute settings cannot run it."
    ),
    "container": "AWS could not start the training container.",
    "memory": "The training ran out of memory.",
    "stopped": "The job was stopped on AWS before it finished.",
}
AWS_NO_RESULT = "The job ended on AWS without writing its results."


def aws_exit_code(code: int) -> str:
    return f"The training process stopped with exit code {code} before writing its results."


def failure_message(
    result: JobResult, *, cost: str | None = None, doing: str = "Training on"
) -> SlackMessage:
    """What went wrong and what to do, in words; never a traceback."""
    file_name = result.file_name or "your file"
    error = result.error
    if error is not None:
        what = error.message.strip() or "The job stopped with an error."
        hint = error.hint.strip()
        code = error.code
    elif result.status == "interrupted":
        what = "The job was interrupted before it found any model."
        hint = "Start it again; if this keeps happening, try a shorter time budget."
        code = "interrupted"
    else:
        what = "The job stopped without saying why."
        hint = NO_RESULT_HINT
        code = "unknown"

    blocks = [
        section(f":x: *{doing} {escape(file_name)} failed.*"),
        section(f"*What went wrong:* {escape(what)}"),
    ]
    if hint:
        blocks.append(section(f"*What to do:* {escape(hint)}"))
    if cost:
        blocks.append(context(f":moneybag: {escape(cost)}"))
    blocks.append(context(f"Job `{escape(result.job_id)}` · error `{escape(code)}`"))
    return message(f"{doing} {escape(file_name)} failed: {escape(what)}", blocks)


def stopped_at_time_limit(time_budget_s: int) -> str:
    """A local job that ran well past its budget without results (stuck reading, say)."""
    return (
        f"The job ran well past its time budget ({time_budget_s} s) without finishing, so it "
        "was stopped at its time limit. A very large file can take longer to read than the "
        "budget: give it more time (for example time=5m) or share a smaller file."
    )


# Signals a process that ran out of memory under its cap (RLIMIT_DATA) ends with: a failed
# allocation in C code ends in SIGSEGV, SIGBUS or SIGABRT. SIGKILL is not the cap's: it comes
# from the system's out-of-memory killer or from a person.
_OUT_OF_MEMORY_SIGNALS = {6: "SIGABRT", 7: "SIGBUS", 11: "SIGSEGV"}
_SIGKILL = 9


def process_stopped(*, stopped_by_us: bool, exit_code: int | None, memory_mb: int = 0) -> str:
    """Why a training process that wrote no result ended, as far as its launcher saw."""
    if stopped_by_us:
        return "The training process was stopped before it wrote its results."
    signal_name = _OUT_OF_MEMORY_SIGNALS.get(-exit_code) if exit_code is not None else None
    if signal_name and memory_mb > 0:
        return (
            f"The training process was ended by {signal_name} before writing its results: most "
            f"likely it ran out of the memory a job may use ({memory_mb:,} MB, "
            "AUTOML_JOB_MEMORY_MB). Share a smaller file (fewer rows or columns), or ask "
            "whoever runs the bot to raise that limit."
        )
    if exit_code == -_SIGKILL:
        return (
            "The training process was killed (SIGKILL) before writing its results: the "
            "system does this when the machine runs out of memory, or someone stopped it. "
            "Try a smaller file, or ask whoever runs the bot."
        )
    if exit_code is not None:
        return (
            f"The training process stopped unexpectedly (exit code {exit_code}) "
            "before writing its results."
        )
    return "The training process stopped unexpectedly before writing its results."


def no_result_sentence(detail: str, log_tail: str) -> str:
    """What a person is told about a job that wrote no result: what the launcher saw, and
    the readable last words of its log."""
    sentence = detail.strip() or NO_RESULT_MESSAGE
    last_words = log_excerpt(log_tail)
    if last_words:
        sentence += f" The last lines of its log: “{last_words}”"
    return sentence


_TRACEBACK_LINE = re.compile(r'^\s*(Traceback \(most recent call last\)|File "|\^+$|~+$)')


def log_excerpt(log_tail: str, *, lines: int = 3, limit: int = 300) -> str:
    """The last few lines of a job's log that a person can read: no traceback frames or
    source lines (those stay in the operator's log), joined on one line and cut short."""
    kept: list[str] = []
    skip_source = False
    for line in log_tail.splitlines():
        if _TRACEBACK_LINE.match(line):
            skip_source = line.lstrip().startswith("File ")  # the next line is its source
            continue
        if skip_source:
            skip_source = False
            continue
        if line.strip():
            kept.append(line.strip())
    return truncate(" / ".join(kept[-lines:]), limit)
