"""Text people provide (file names, targets, columns, error text) is shown literally in every
message kind: it can neither mention (`<!channel>`, `<@U…>`) nor link, nor break the markup."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from bot.errors import FileFetchError, PreviewFailed
from bot.jobs import Job
from bot.messages import answers, files, parsing, problems
from bot.messages.failure import failure_message
from bot.messages.progress import job_status_message
from bot.messages.results import charts_comment, mentioning, results_message
from bot.messages.usage import usage_message
from bot.preview_blocks import preview_failed_message, preview_message, train_modal
from contract.jobs import (
    ClassMetrics,
    ColumnPreview,
    DatasetPreview,
    DecisionThreshold,
    DroppedColumn,
    ErrorInfo,
    JobResult,
    LeaderboardRow,
    ProgressEvent,
    SuspectedLeak,
)

HOSTILE = "<!channel> <https://evil.example|x> <@U0ALL> & *bold*"
SHOWN = html.escape(HOSTILE, quote=False)  # what the mrkdwn holds: &amp; &lt; &gt;
# The markup the bot itself writes: a mention of whoever asked, its own links, and times
# (`<!date^…>`, bot/messages/times.py).
_OWN_MARKUP = re.compile(
    r"<@U0ASKER>|<https://bot\.example/[^|<>]*\|[^<>]*>"
    r"|<!date\^\d+\^\{date_short_pretty\} \{time\}\|[\d: -]+UTC>"
)


def mrkdwn_texts(message: Any) -> list[str]:
    """Every text Slack reads as mrkdwn: the fallback, sections, fields and context."""
    if isinstance(message, str):
        return [message]
    found = [message["text"]]
    for block in message.get("blocks", []):
        text = block.get("text") or {}
        if text.get("type") == "mrkdwn":
            found.append(text["text"])
        found += [f["text"] for f in block.get("fields", []) if f["type"] == "mrkdwn"]
        found += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def check(message: Any) -> None:
    texts = mrkdwn_texts(message)
    for text in texts:
        bare = _OWN_MARKUP.sub("", text)
        assert "<" not in bare and ">" not in bare, text
        assert not re.search(r"&(?!amp;|lt;|gt;)", bare), text
    assert any(SHOWN in text for text in texts), texts


def job(**overrides: Any) -> Job:
    values: dict[str, Any] = {
        "job_id": "3fa9c1b2",
        "user_id": "U0ASKER",
        "channel_id": "C0GENERAL",
        "thread_ts": "1.0",
        "file_name": HOSTILE,
        "target": HOSTILE,
        "status": "failed",
        "error_message": HOSTILE,
    }
    return Job(**(values | overrides))


def preview() -> DatasetPreview:
    return DatasetPreview(
        file_name=HOSTILE,
        format="csv",
        rows=3,
        columns=[
            ColumnPreview(name=HOSTILE, kind="category", missing=0, distinct=2, examples=[HOSTILE]),
            ColumnPreview(name="n", kind="number", missing=0, distinct=3, examples=["1"]),
        ],
        suggested_target=HOSTILE,
        suggested_task="classification",
        notes=[f"10 rows have no value in “{HOSTILE}”."],
    )


def result(**overrides: Any) -> JobResult:
    values: dict[str, Any] = {
        "job_id": "3fa9c1b2",
        "status": "succeeded",
        "file_name": HOSTILE,
        "target": HOSTILE,
        "task": "classification",
        "metric": "roc_auc",
        "classes": [HOSTILE, "no"],
        "best_estimator": "lgbm",
        "leaderboard": [
            LeaderboardRow(rank=1, estimator="lgbm", validation_score=0.8, train_time_s=1, trials=3)
        ],
        "rows_dropped_missing_target": 2,
        "dropped_columns": [DroppedColumn(name=HOSTILE, reason=f"like “{HOSTILE}”")],
        "suspected_leaks": [SuspectedLeak(column=HOSTILE, metric="roc_auc", score=1, kept=False)],
        "decision_threshold": DecisionThreshold(
            value=0.4, positive_class=HOSTILE, criterion="f1", reason="tuned"
        ),
        "class_metrics": [ClassMetrics(label=HOSTILE, precision=1, recall=1, support=3)],
        "notes": [HOSTILE],
    }
    return JobResult(**(values | overrides))


MESSAGES = {
    "preview": lambda: preview_message(preview(), "F1", default_budget_s=60),
    "preview failed": lambda: preview_failed_message(
        HOSTILE, PreviewFailed(f"Reading “{HOSTILE}” took too long.", HOSTILE)
    ),
    "train form": lambda: train_modal(
        channel_id="C1", message_ts="1.0", file_id="F1", file_name=HOSTILE, default_budget_s=60
    ),
    "progress": lambda: job_status_message(
        "3fa9c1b2",
        HOSTILE,
        ProgressEvent(job_id="3fa9c1b2", stage="search", elapsed_s=1, budget_s=60, trials=2),
        "running",
        user_id="U0ASKER",
    ),
    "results": lambda: mentioning(
        results_message(result(), "https://bot.example/r?a=1&b=2", None), "U0ASKER"
    ),
    "failure": lambda: failure_message(
        result(
            status="failed",
            leaderboard=[],
            error=ErrorInfo(code="bad_input", message=HOSTILE, hint=HOSTILE),
        )
    ),
    "charts": lambda: charts_comment(HOSTILE, "3fa9c1b2"),
    "usage": lambda: usage_message(parsing.unknown_option(HOSTILE, None, ("target",))),
    "problem: file": lambda: answers.problem_text(
        FileFetchError(*files.no_file_named(HOSTILE, 10, [HOSTILE]))
    ),
    "problem: not a table": lambda: answers.problem_text(problems.not_a_table(HOSTILE)),
    "problem: not slack": lambda: answers.problem_text(
        FileFetchError(*files.not_slack_link(HOSTILE, HOSTILE, True))
    ),
    "started": lambda: answers.train_started(job(status="running"), created=True),
    "could not start": lambda: answers.train_started(job(), created=True, problem=HOSTILE),
    "job line": lambda: answers.job_line(job()),
    "cancelled": lambda: answers.cancelled(job(status="cancelled")),
    "fresh links": lambda: answers.fresh_links([(HOSTILE, "https://bot.example/m?x=<1>|2")]),
}


@pytest.mark.parametrize("kind", MESSAGES)
def test_user_text_is_shown_literally(kind: str) -> None:
    message = MESSAGES[kind]()
    if kind == "train form":
        message = {"text": "", "blocks": message["blocks"]}
    check(message)


def test_plain_text_parts_are_left_as_typed() -> None:
    # Headers, menu options and table cells are plain text in Slack: escaping would show `&amp;`.
    message = results_message(result(), None, None)
    assert message["blocks"][0]["text"]["text"].startswith(f"Results: {HOSTILE}")
    table = next(b for b in preview_message(preview(), "F1", default_budget_s=60)["blocks"]
                 if b["type"] == "table")  # fmt: skip
    assert table["rows"][1][0]["text"].startswith("<!channel>")


def test_only_a_real_user_id_becomes_a_mention() -> None:
    refusal = answers.problem_text(problems.not_your_job("3fa9c1b2", "U0OWNER"))
    assert refusal == (
        ":warning: Job `3fa9c1b2` was started by <@U0OWNER>; only they can cancel it."
    )
    forged = answers.problem_text(problems.not_your_job("3fa9c1b2", "U1> <!channel"))
    assert "<" not in forged and "someone else" in forged
    # The words themselves name no one: the terminal and the logs show them as they are.
    assert "<@" not in problems.not_your_job("3fa9c1b2", "U0OWNER").message
