"""The threaded reply when a job ends with models: one function per section of it."""

from __future__ import annotations

from bot.messages.blocks import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    MAX_TABLE_ROWS,
    Block,
    SlackMessage,
    context,
    fields_section,
    header,
    message,
    section,
    table,
)
from bot.messages.failure import failure_message
from bot.messages.model_forms import model_buttons
from bot.messages.retraining import comparison_lines
from bot.messages.sharing import can_share, share_button
from bot.messages.text import (
    bullets,
    code,
    escape,
    format_duration,
    format_score,
    link,
    truncate,
)
from contract.jobs import ClassMetrics, JobResult, SuspectedLeak
from contract.wording import (
    classes_shown,
    leak_sentence,
    metric_name,
    model_name,
    threshold_sentence,
)


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
    blocks = [
        header(f"Results: {result.file_name or 'your file'} → {result.target or '?'}"),
        _lead(result),
        # A leak makes every score below too good to be true: say so before them.
        *_leaks(result),
        _facts(result),
        *_leaderboard(result),
        *_holdout(result),
        *_threshold(result),
        *_per_class(result),
        *_explanations(result),
        *_left_out(result),
        *_notes(result),
        *_links(report_url, model_url, report_pending=result.report_pending),
        *_cost(cost),
        *_comparison(result),
        *_model_actions(result),
        *_share_action(result),
        _footer(result),
    ]
    return message(_fallback(result), blocks)


def _best(result: JobResult) -> tuple[str | None, float | None]:
    """The best model's name and validation score, where known."""
    best = result.best_estimator or (
        result.leaderboard[0].estimator if result.leaderboard else None
    )
    score = next((r.validation_score for r in result.leaderboard if r.estimator == best), None)
    return best, score


def _lead(result: JobResult) -> Block:
    """How the job ended, and its best model."""
    if result.status == "interrupted":
        lead = (
            ":warning: *Interrupted:* the search was stopped before its time budget ended. "
            "These are the best models it had found by then."
        )
    elif result.status == "failed":
        lead = ":x: *The job failed after the search.* The models it found are below."
    else:
        lead = ":white_check_mark: *Done.*"
    best, score = _best(result)
    if best:
        lead += f" Best model: *{escape(best)}*"
        if score is not None:
            lead += f" with validation {escape(metric_name(result.metric))} *{format_score(score)}*"
        lead += "."
    return section(lead)


def _leaks(result: JobResult) -> list[Block]:
    if not result.suspected_leaks:
        return []
    leaks = [_leak_line(leak) for leak in result.suspected_leaks]
    return [section(bullets(leaks, MAX_SECTION_TEXT))]


def _facts(result: JobResult) -> Block:
    """Target, task, metric, rows, columns, trials and how long it took, side by side."""
    return fields_section(
        [
            ("Target", f"`{escape(result.target or '?')}`"),
            ("Task", _task_text(result)),
            ("Metric", escape(metric_name(result.metric))),
            ("Rows used", _rows_text(result)),
            ("Columns used", str(len(result.columns_used))),
            ("Trials", str(result.trials)),
            ("Duration", _run_time_text(result)),
        ]
    )


def _task_text(result: JobResult) -> str:
    task: str = result.task or "—"
    if result.task == "classification" and result.classes:
        shown = ", ".join(escape(c) for c in result.classes[:10])
        if len(result.classes) > 10:
            shown += f", …{len(result.classes) - 10} more"
        task += f" ({len(result.classes)} classes: {shown})"
    return task


def _run_time_text(result: JobResult) -> str:
    run_time = format_duration(_duration(result))
    if result.stopped_early:
        budget = format_duration(result.time_budget_s)
        run_time += f" (stopped early: the search converged before its {budget} budget)"
    elif result.status == "interrupted":
        run_time += " (interrupted)"
    elif result.time_budget_s:
        run_time += f" (budget {format_duration(result.time_budget_s)})"
    return run_time


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


def _leaderboard(result: JobResult) -> list[Block]:
    """Its title, the native table, and how many rows did not fit."""
    if not result.leaderboard:
        return []
    columns = ["#", "Model", f"Validation {metric_name(result.metric)}", "Train time", "Trials"]
    rows = [
        [
            str(row.rank),
            model_name(row),
            format_score(row.validation_score),
            format_duration(row.train_time_s),
            str(row.trials),
        ]
        for row in sorted(result.leaderboard, key=lambda r: r.rank)
    ]
    blocks = [
        section(_leaderboard_title(result)),
        table(columns, rows, align=["right", "left", "right", "right", "right"]),
    ]
    if len(result.leaderboard) > MAX_TABLE_ROWS - 1:
        blocks.append(
            context(f"Showing the top {MAX_TABLE_ROWS - 1} of {len(result.leaderboard)}.")
        )
    return blocks


def _leaderboard_title(result: JobResult) -> str:
    if any(row.weights for row in result.leaderboard):
        return "*Leaderboard* (one row per model family and one for their ensemble, best first)"
    return "*Leaderboard* (one row per model family, best first)"


def _holdout(result: JobResult) -> list[Block]:
    """The best model's scores on rows it never saw."""
    if not result.holdout_metrics:
        return []
    held = f" on {result.holdout_rows:,} held-out rows" if result.holdout_rows else ""
    lines = [f"*Best model{held}* (data it never saw while training):"]
    lines += [
        f"• {escape(metric_name(name))}: *{format_score(value)}*"
        for name, value in result.holdout_metrics.items()
    ]
    return [section("\n".join(lines))]


def _threshold(result: JobResult) -> list[Block]:
    if result.decision_threshold is None:
        return []
    return [section(f":dart: {escape(threshold_sentence(result.decision_threshold))}")]


def _per_class(result: JobResult) -> list[Block]:
    if not result.class_metrics:
        return []
    return [section(_class_metrics_text(result.class_metrics))]


def _class_metrics_text(metrics: list[ClassMetrics]) -> str:
    shown = classes_shown(metrics)
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


def _explanations(result: JobResult) -> list[Block]:
    """What drives the best model, in the job's own sentences."""
    explained = result.explanations
    if explained is None:
        return []
    title = "*What drives the predictions*\n"
    lines = [f"• {escape(sentence)}" for sentence in explained.sentences]
    return [section(title + bullets(lines, MAX_SECTION_TEXT - len(title)))]


def _left_out(result: JobResult) -> list[Block]:
    """The columns left out and why, and the rows without a target."""
    # Names are cut before escaping, so a code span is never left open by a cut line.
    lines = [
        f"• `{escape(truncate(d.name, 80))}`: {escape(truncate(d.reason, 300))}"
        for d in result.dropped_columns
    ]
    if result.rows_dropped_missing_target:
        lines.insert(
            0,
            f"• {result.rows_dropped_missing_target:,} rows: no value in the target "
            f"`{escape(result.target or '?')}`",
        )
    if not lines:
        return []
    title = f"*Left out* ({len(result.dropped_columns)} columns):\n"
    return [section(title + bullets(lines, MAX_SECTION_TEXT - len(title)))]


def _notes(result: JobResult) -> list[Block]:
    if not result.notes:
        return []
    title = "*Notes*\n"
    notes = [f"• {escape(n)}" for n in result.notes]
    return [section(title + bullets(notes, MAX_SECTION_TEXT - len(title)))]


def _links(
    report_url: str | None, model_url: str | None, *, report_pending: bool = False
) -> list[Block]:
    links = []
    if report_url:
        links.append(f":bar_chart: {link(report_url, 'Open the data report')}")
    if model_url:
        links.append(f":package: {link(model_url, 'Download the model')}")
    pending = [f":hourglass_flowing_sand: {REPORT_PENDING}"] if report_pending else []
    if not links:
        return [section(pending[0])] if pending else []
    return [section("\n".join(["   ".join(links) + "\n_These links expire._", *pending]))]


# The EDA report of a job whose results went out first (`JobResult.report_pending`).
REPORT_PENDING = "EDA report: being made, the link will follow in this thread."
REPORT_UNFINISHED = (
    "The EDA report could not be finished: the job stopped before it was done. "
    "The results above stand; to get the report, train again."
)


def report_ready_message(report_url: str | None, note: str | None) -> SlackMessage:
    """The threaded reply when a report that followed the results is done (or failed)."""
    if report_url:
        text = f":bar_chart: The EDA report is ready: {link(report_url, 'Open the data report')}"
        lines = [text, *([escape(note)] if note else []), "_This link expires._"]
        return message("The EDA report is ready.", [section("\n".join(lines))])
    said = note or "The EDA report could not be made."
    return message(said, [section(f":warning: {escape(said)}")])


def report_unfinished_message() -> SlackMessage:
    """The threaded reply when a job ended without the report its results promised."""
    return message(REPORT_UNFINISHED, [section(f":warning: {escape(REPORT_UNFINISHED)}")])


def _model_actions(result: JobResult) -> list[Block]:
    """Predict and Retrain buttons, for a job that ended with a saved model."""
    if result.status != "succeeded" or not result.artifacts.model:
        return []
    return [model_buttons(result.job_id)]


def _share_action(result: JobResult) -> list[Block]:
    """The Share in channel button, for results that name a best model."""
    return [share_button(result.job_id)] if can_share(result) else []


def _comparison(result: JobResult) -> list[Block]:
    """A retraining's new model against the previous one, on the same rows."""
    if result.comparison is None:
        return []
    lines = comparison_lines(result.comparison, result.job_id)
    return [section(":arrows_counterclockwise: " + "\n".join(lines))]


def _cost(cost: str | None) -> list[Block]:
    return [context(f":moneybag: {escape(cost)}")] if cost else []


def _footer(result: JobResult) -> Block:
    footer = [f"Job `{escape(result.job_id)}`"]
    if "flaml" in result.versions:
        footer.append(f"FLAML {escape(result.versions['flaml'])}")
    return context(" · ".join(footer))


def _fallback(result: JobResult) -> str:
    """The notification's text: the file, the target, how it ended, the best model."""
    fallback = (
        f"Results for {escape(result.file_name or 'your file')} "
        f"(target {escape(result.target or '?')}): {result.status}"
    )
    best, score = _best(result)
    if best:
        fallback += f", best model {escape(best)}"
        if score is not None:
            fallback += f" ({metric_name(result.metric)} {format_score(score)})"
    return fallback


def _option_code(option: str, value: str) -> str:
    """`keep=x` as a person types it in Slack."""
    return code(f"{option}={value}")


def _leak_line(leak: SuspectedLeak) -> str:
    return f":warning: {leak_sentence(leak, code=code, option=_option_code, text=escape)}"


def charts_comment(file_name: str, job_id: str) -> str:
    """The words above a job's charts in its thread."""
    return f"Charts for *{escape(file_name)}* (job `{job_id}`)"


def mentioning(outcome: SlackMessage, user_id: str) -> SlackMessage:
    """The outcome with a mention of who asked, so it notifies them (a status edit does not)."""
    mention = f"<@{user_id}>"
    blocks = outcome["blocks"]
    if len(blocks) < MAX_BLOCKS:
        blocks = [*blocks, context(f"Asked by {mention}")]
    return {"text": f"{mention} {outcome['text']}", "blocks": blocks}
