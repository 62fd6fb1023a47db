"""Slack Block Kit messages the bot posts: pure functions, no Slack client calls.

Every builder returns a `SlackMessage`: the `blocks` (plain dicts, ready for `chat.postMessage`,
`chat.update` or `chat.postEphemeral`) and a plain `text` fallback used by notifications and
screen readers, so a caller writes `client.chat_postMessage(channel=c, thread_ts=t, **message)`.

This module is on the Lambda's import path: it imports the contract models and the standard
library only (never pandas, plotly or FLAML).

Slack's limits are respected here, not left to the API to reject: at most 50 blocks a message,
3,000 characters of section text, 150 characters of header text, 10 section fields, and a table
of at most 100 rows of 20 cells. Text a person provided (file and column names, target, error
messages) is escaped for mrkdwn (`&`, `<`, `>`) before it is put into a message.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

from training.contracts import (
    ClassMetrics,
    DecisionThreshold,
    JobResult,
    LeaderboardRow,
    ProgressEvent,
    SuspectedLeak,
)

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000
MAX_TABLE_ROWS = 100  # the header row included
MAX_TABLE_CELL = 200  # our own cap, so one odd estimator name cannot stretch the table
MAX_CLASS_ROWS = 10  # per-class precision and recall: the most frequent classes only
ELLIPSIS = "…"

Block = dict[str, Any]


class SlackMessage(TypedDict):
    """Keyword arguments for `chat_postMessage` / `chat_update` / `chat_postEphemeral`."""

    text: str
    blocks: list[Block]


# ---- text helpers --------------------------------------------------------------------------


def escape(text: object) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


_METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "roc_auc_ovr": "ROC AUC (one vs rest)",
    "roc_auc_ovo": "ROC AUC (one vs one)",
    "ap": "average precision",
    "accuracy": "accuracy",
    "f1": "F1",
    "macro_f1": "macro F1",
    "micro_f1": "micro F1",
    "log_loss": "log loss",
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "MAE",
    "mse": "MSE",
    "mape": "MAPE",
}


def format_short(value: float) -> str:
    """A weight, threshold or single-column score in few digits: 0.5, 0.27, 0.993."""
    if not math.isfinite(value):
        return "—"
    return f"{value:.3g}"


def metric_name(metric: str | None) -> str:
    if not metric:
        return "score"
    return _METRIC_NAMES.get(metric, metric)


def progress_bar(fraction: float, width: int = 20) -> str:
    fraction = min(max(fraction if math.isfinite(fraction) else 0.0, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def _bullets(lines: list[str], limit: int) -> str:
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


# ---- block helpers -------------------------------------------------------------------------


def header(text: str) -> Block:
    """A header block; its text is plain_text, shown as is (no mrkdwn, so no escaping)."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_TEXT), "emoji": True},
    }


def section(mrkdwn: str) -> Block:
    """A section of mrkdwn text; the caller escapes what a person wrote."""
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(mrkdwn, MAX_SECTION_TEXT)},
    }


def fields_section(pairs: list[tuple[str, str]]) -> Block:
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{label}*\n{value}", MAX_FIELD_TEXT)}
        for label, value in pairs[:10]
    ]
    return {"type": "section", "fields": fields}


def context(*mrkdwn: str) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": truncate(text, MAX_CONTEXT_TEXT)} for text in mrkdwn[:10]
        ],
    }


def divider() -> Block:
    return {"type": "divider"}


def _cell(value: object) -> dict[str, str]:
    # raw_text is shown literally: no mrkdwn escaping, only a length cap.
    return {"type": "raw_text", "text": truncate(str(value), MAX_TABLE_CELL)}


def table(columns: list[str], rows: list[list[str]], align: list[str] | None = None) -> Block:
    """A native Block Kit table: the first row is the header, at most 100 rows of 20 cells."""
    body = rows[: MAX_TABLE_ROWS - 1]
    block: Block = {
        "type": "table",
        "rows": [[_cell(c) for c in columns[:20]]] + [[_cell(c) for c in r[:20]] for r in body],
    }
    if align:
        block["column_settings"] = [{"align": a, "is_wrapped": False} for a in align[:20]]
    return block


def _message(text: str, blocks: list[Block]) -> SlackMessage:
    if len(blocks) > MAX_BLOCKS:
        blocks = [
            *blocks[: MAX_BLOCKS - 1],
            context("_Some details were left out: message too long._"),
        ]
    return {"text": truncate(text, MAX_FALLBACK_TEXT), "blocks": blocks}


# ---- progress ------------------------------------------------------------------------------

_STATUS_EMOJI = {
    "queued": ":hourglass_flowing_sand:",
    "waiting": ":hourglass_flowing_sand:",
    "started": ":gear:",
    "running": ":gear:",
    "succeeded": ":white_check_mark:",
    "finished": ":white_check_mark:",
    "failed": ":x:",
    "interrupted": ":warning:",
    "cancelled": ":no_entry_sign:",
    "canceled": ":no_entry_sign:",
}

_STAGE_WORDS = {
    "load": "reading the file",
    "prepare": "preparing the data",
    "search": "searching for the best model",
    "evaluate": "testing the best model on held-out rows",
    "charts": "drawing charts",
    "report": "writing the data report",
    "save": "saving the model",
}


def progress_message(
    job_id: str, file_name: str, event: ProgressEvent | None, status_word: str
) -> SlackMessage:
    """The one status message of a job, updated in place with `chat.update`.

    `status_word` is the job's state in a word (queued, started, running, succeeded, failed,
    interrupted, cancelled); `event` the latest progress event, if any.
    """
    status = status_word.strip().lower() or "running"
    emoji = _STATUS_EMOJI.get(status, ":gear:")
    name = escape(file_name) or "your file"
    title = f"{emoji} Training on *{name}*: *{escape(status)}*"
    lines = [title]
    fallback = f"Training on {file_name}: {status}"

    if event is not None:
        budget = event.budget_s
        elapsed = event.elapsed_s
        fraction = elapsed / budget if budget > 0 else 0.0
        stage = _STAGE_WORDS.get(event.stage, event.stage)
        if status in {"started", "running"}:
            lines.append(f"_{escape(stage)}_")
        lines.append(
            f"`{progress_bar(fraction)}` {format_duration(elapsed)} of {format_duration(budget)}"
            f" ({min(fraction, 1.0):.0%})"
        )
        details = [f"*Trials:* {event.trials}"]
        if event.best_estimator:
            details.append(f"*Best so far:* {escape(event.best_estimator)}")
        if event.best_score is not None:
            details.append(
                f"*{escape(metric_name(event.metric))}:* {format_score(event.best_score)}"
            )
        lines.append("   ".join(details))
        fallback += (
            f" ({format_duration(elapsed)} of {format_duration(budget)}, {event.trials} trials)"
        )
    elif status == "queued":
        lines.append("Waiting for a free worker; it starts as soon as one is available.")

    blocks = [section("\n".join(lines)), context(f"Job `{escape(job_id)}`")]
    return _message(fallback, blocks)


# ---- results -------------------------------------------------------------------------------


def _duration(result: JobResult) -> float | None:
    total = result.timings_s.get("total")
    if total is not None:
        return total
    if result.started_at and result.finished_at:
        return (result.finished_at - result.started_at).total_seconds()
    return None


def _rows_text(result: JobResult) -> str:
    if result.rows_used is None:
        return "—"
    text = f"{result.rows_used:,}"
    if result.rows_total is not None and result.rows_total != result.rows_used:
        text += f" of {result.rows_total:,}"
    return text


def _model_cell(row: LeaderboardRow) -> str:
    """The estimator's name; an ensemble's with its members, heaviest first."""
    if not row.weights:
        return row.estimator
    members = sorted(row.weights.items(), key=lambda item: -item[1])
    return f"{row.estimator} ({', '.join(f'{m} {format_short(w)}' for m, w in members)})"


def _leaderboard_table(result: JobResult) -> Block | None:
    if not result.leaderboard:
        return None
    columns = ["#", "Model", f"Validation {metric_name(result.metric)}", "Train time", "Trials"]
    rows = [
        [
            str(row.rank),
            _model_cell(row),
            format_score(row.validation_score),
            format_duration(row.train_time_s),
            str(row.trials),
        ]
        for row in sorted(result.leaderboard, key=lambda r: r.rank)
    ]
    return table(columns, rows, align=["right", "left", "right", "right", "right"])


def results_message(
    result: JobResult,
    report_url: str | None = None,
    model_url: str | None = None,
    *,
    cost: str | None = None,
) -> SlackMessage:
    """The threaded reply when a job ends with models: leaderboard, holdout, what was dropped.

    Also used for an interrupted job that still has a leaderboard; a failed job with nothing to
    show gets `failure_message`.
    """
    if result.status == "failed" and not result.leaderboard:
        return failure_message(result, cost=cost)

    file_name = result.file_name or "your file"
    target = result.target or "?"
    metric = metric_name(result.metric)
    blocks: list[Block] = [header(f"Results: {file_name} → {target}")]

    best = result.best_estimator or (
        result.leaderboard[0].estimator if result.leaderboard else None
    )
    best_score = next((r.validation_score for r in result.leaderboard if r.estimator == best), None)
    if result.status == "interrupted":
        lead = (
            ":warning: *Interrupted:* the search was stopped before its time budget ended. "
            "These are the best models it had found by then."
        )
    elif result.status == "failed":
        lead = ":x: *The job failed after the search.* The models it found are below."
    else:
        lead = ":white_check_mark: *Done.*"
    if best:
        lead += f" Best model: *{escape(best)}*"
        if best_score is not None:
            lead += f" with validation {escape(metric)} *{format_score(best_score)}*"
        lead += "."
    blocks.append(section(lead))
    # A leak makes every score above too good to be true: say so before them.
    if result.suspected_leaks:
        leaks = [_leak_line(leak) for leak in result.suspected_leaks]
        blocks.append(section(_bullets(leaks, MAX_SECTION_TEXT)))

    duration = _duration(result)
    run_time = format_duration(duration)
    if result.stopped_early:
        budget = format_duration(result.time_budget_s)
        run_time += f" (stopped early: the search converged before its {budget} budget)"
    elif result.status == "interrupted":
        run_time += " (interrupted)"
    elif result.time_budget_s:
        run_time += f" (budget {format_duration(result.time_budget_s)})"
    task: str = result.task or "—"
    if result.task == "classification" and result.classes:
        shown = ", ".join(escape(c) for c in result.classes[:10])
        if len(result.classes) > 10:
            shown += f", …{len(result.classes) - 10} more"
        task += f" ({len(result.classes)} classes: {shown})"
    blocks.append(
        fields_section(
            [
                ("Target", f"`{escape(target)}`"),
                ("Task", task),
                ("Metric", escape(metric)),
                ("Rows used", _rows_text(result)),
                ("Columns used", str(len(result.columns_used))),
                ("Trials", str(result.trials)),
                ("Duration", run_time),
            ]
        )
    )

    leaderboard = _leaderboard_table(result)
    if leaderboard is not None:
        blocks.append(section(_leaderboard_title(result)))
        blocks.append(leaderboard)
        if len(result.leaderboard) > MAX_TABLE_ROWS - 1:
            blocks.append(
                context(f"Showing the top {MAX_TABLE_ROWS - 1} of {len(result.leaderboard)}.")
            )

    if result.holdout_metrics:
        held = f" on {result.holdout_rows:,} held-out rows" if result.holdout_rows else ""
        lines = [f"*Best model{held}* (data it never saw while training):"]
        lines += [
            f"• {escape(metric_name(name))}: *{format_score(value)}*"
            for name, value in result.holdout_metrics.items()
        ]
        blocks.append(section("\n".join(lines)))
    if result.decision_threshold is not None:
        blocks.append(section(f":dart: {escape(threshold_sentence(result.decision_threshold))}"))
    if result.class_metrics:
        blocks.append(section(_class_metrics_text(result.class_metrics)))

    # Names are cut before escaping, so a code span is never left open by a cut line.
    dropped_lines = [
        f"• `{escape(truncate(d.name, 80))}`: {escape(truncate(d.reason, 300))}"
        for d in result.dropped_columns
    ]
    if result.rows_dropped_missing_target:
        dropped_lines.insert(
            0,
            f"• {result.rows_dropped_missing_target:,} rows: no value in the target "
            f"`{escape(target)}`",
        )
    if dropped_lines:
        title = f"*Left out* ({len(result.dropped_columns)} columns):\n"
        blocks.append(section(title + _bullets(dropped_lines, MAX_SECTION_TEXT - len(title))))

    if result.notes:
        title = "*Notes*\n"
        notes = [f"• {escape(n)}" for n in result.notes]
        blocks.append(section(title + _bullets(notes, MAX_SECTION_TEXT - len(title))))

    links = []
    if report_url:
        links.append(f":bar_chart: {link(report_url, 'Open the data report')}")
    if model_url:
        links.append(f":package: {link(model_url, 'Download the model')}")
    if links:
        blocks.append(section("   ".join(links) + "\n_These links expire._"))

    if cost:
        blocks.append(context(f":moneybag: {escape(cost)}"))
    footer = [f"Job `{escape(result.job_id)}`"]
    if "flaml" in result.versions:
        footer.append(f"FLAML {escape(result.versions['flaml'])}")
    blocks.append(context(" · ".join(footer)))

    fallback = f"Results for {file_name} (target {target}): {result.status}"
    if best:
        fallback += f", best model {best}"
        if best_score is not None:
            fallback += f" ({metric} {format_score(best_score)})"
    return _message(fallback, blocks)


def _leaderboard_title(result: JobResult) -> str:
    if any(row.weights for row in result.leaderboard):
        return "*Leaderboard* (one row per model family and one for their ensemble, best first)"
    return "*Leaderboard* (one row per model family, best first)"


def _code(name: str) -> str:
    # Cut before escaping, and no backtick inside, so the code span is never left open.
    return "`" + escape(truncate(name, 80)).replace("`", "'") + "`"


def _option_code(option: str, column: str) -> str:
    """`keep=x` as a person would type it: quoted when the name has spaces or commas."""
    value = f'"{column}"' if any(c.isspace() or c in ',"' for c in column) else column
    return _code(f"{option}={value}")


def _leak_line(leak: SuspectedLeak) -> str:
    score = f"{metric_name(leak.metric)} {format_short(leak.score)}"
    line = (
        f":warning: {_code(leak.column)} alone predicts the target with {escape(score)}:"
        " check it is known before the outcome."
    )
    if leak.kept:
        return f"{line} It is used; {_option_code('exclude', leak.column)} leaves it out."
    return f"{line} It was left out; {_option_code('keep', leak.column)} uses it."


def threshold_sentence(threshold: DecisionThreshold) -> str:
    """How labels come from probabilities, in a sentence (not escaped)."""
    value = format_short(threshold.value)
    rule = f"Labels use a threshold of {value} on P({threshold.positive_class})"
    reason = threshold.reason.strip()
    if not reason:
        criterion = metric_name(threshold.criterion)
        return f"{rule}, chosen on validation rows to maximise {criterion}."
    if value in reason:  # the engine's sentence gives the value already
        return reason
    return f"{rule}. {reason[0].upper()}{reason[1:]}"


def _classes_shown(metrics: list[ClassMetrics]) -> list[ClassMetrics]:
    """At most MAX_CLASS_ROWS classes: the ones with the most held-out rows, in their order."""
    if len(metrics) <= MAX_CLASS_ROWS:
        return metrics
    biggest = sorted(range(len(metrics)), key=lambda i: -metrics[i].support)[:MAX_CLASS_ROWS]
    return [metrics[i] for i in sorted(biggest)]


def _class_metrics_text(metrics: list[ClassMetrics]) -> str:
    shown = _classes_shown(metrics)
    title = "*Per class* on the held-out rows"
    if len(shown) < len(metrics):
        title += f" (the {len(shown)} largest of {len(metrics)} classes)"
    # Padded before escaping, so `&` in a label does not shift the columns.
    labels = [truncate(m.label, 30).replace("`", "'") for m in shown]
    width = max(len("class"), *(len(label) for label in labels))
    rows = max(len("rows"), *(len(f"{m.support:,}") for m in shown))
    lines = [f"{'class':<{width}}  precision  recall  {'rows':>{rows}}"]
    lines += [
        f"{label:<{width}}  {m.precision:>9.2f}  {m.recall:>6.2f}  {m.support:>{rows},}"
        for label, m in zip(labels, shown, strict=True)
    ]
    table_text = escape("\n".join(lines))
    return f"{title}:\n```\n{table_text}\n```"


# ---- failure -------------------------------------------------------------------------------


def failure_message(result: JobResult, *, cost: str | None = None) -> SlackMessage:
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
        hint = "Try again; if it fails the same way, tell whoever runs this bot."
        code = "unknown"

    blocks = [
        section(f":x: *Training on {escape(file_name)} failed.*"),
        section(f"*What went wrong:* {escape(what)}"),
    ]
    if hint:
        blocks.append(section(f"*What to do:* {escape(hint)}"))
    if cost:
        blocks.append(context(f":moneybag: {escape(cost)}"))
    blocks.append(context(f"Job `{escape(result.job_id)}` · error `{escape(code)}`"))
    return _message(f"Training on {file_name} failed: {what}", blocks)


# ---- usage ---------------------------------------------------------------------------------

USAGE = "\n".join(
    [
        "*`/automl train target=COLUMN`*: train on the newest table file shared in this channel;"
        " the replies go into that file's thread.",
        "   Options: `time=90s` or `time=5m`, `metric=NAME`,"
        " `task=classification|regression`, `exclude=a,b`, `keep=a,b`, `file=NAME`.",
        "   `keep=` uses columns the bot would leave out (an identifier, a suspected leak).",
        "*`/automl status [JOB]`*: how a job is doing (yours, newest first).",
        "*`/automl list`*: the jobs in this channel.",
        "*`/automl cancel JOB`*: stop a job.",
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
    fallback = f"{problem} " if problem else ""
    fallback += (
        "Usage: /automl train target=COLUMN [time=5m] [metric=NAME] [exclude=a,b] [keep=a,b]"
    )
    return _message(fallback, blocks)
