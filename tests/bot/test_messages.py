"""Every message the bot builds passes slack_sdk's Block Kit validation and Slack's limits."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block, TableBlock

from bot import messages
from bot.messages import (
    SlackMessage,
    escape,
    failure_message,
    progress_message,
    results_message,
    truncate,
    usage_message,
)
from contract.jobs import (
    ClassMetrics,
    DecisionThreshold,
    DroppedColumn,
    ErrorInfo,
    JobResult,
    LeaderboardRow,
    ProgressEvent,
    SuspectedLeak,
)
from tests.bot.blocks import context_texts, fields, links, section_texts, texts

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 26, 11, 9, 33, tzinfo=UTC)

# ---- validation ------------------------------------------------------------------------------


def check_table_shape(block: dict[str, Any]) -> None:
    """slack_sdk 3.48's TableBlock only checks that `rows` is not empty; the rest of the
    documented shape (docs.slack.dev/reference/block-kit/blocks/table-block) is checked here."""
    assert set(block) <= {"type", "block_id", "rows", "column_settings"}
    rows = block["rows"]
    assert isinstance(rows, list)
    assert 1 <= len(rows) <= 100
    widths = {len(row) for row in rows}
    assert len(widths) == 1, "every row has the same number of cells"
    assert 1 <= widths.pop() <= 20
    for row in rows:
        for cell in row:
            assert cell["type"] in {"raw_text", "rich_text"}
            if cell["type"] == "raw_text":
                assert set(cell) == {"type", "text"}
                assert isinstance(cell["text"], str)
                assert cell["text"]
    settings = block.get("column_settings", [])
    assert len(settings) <= 20
    for setting in settings:
        assert set(setting) <= {"align", "is_wrapped"}
        assert setting.get("align", "left") in {"left", "center", "right"}
        assert isinstance(setting.get("is_wrapped", False), bool)


def validate(message: SlackMessage) -> list[dict[str, Any]]:
    """Parse every block with slack_sdk's models and validate it; check Slack's limits."""
    assert set(message) == {"text", "blocks"}
    assert message["text"].strip()
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    json.dumps(message)  # plain JSON, nothing else
    tables = 0
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, f"slack_sdk does not know this block: {raw}"
        parsed.validate_json()
        assert parsed.to_dict()["type"] == raw["type"]
        if raw["type"] == "table":
            tables += 1
            assert isinstance(parsed, TableBlock)
            check_table_shape(raw)
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= 150
            assert raw["text"]["type"] == "plain_text"
        if raw["type"] == "section":
            if "text" in raw:
                assert len(raw["text"]["text"]) <= 3000
            for field in raw.get("fields", []):
                assert len(field["text"]) <= 2000
    assert tables <= 1, "Slack allows one table a message"
    return blocks


def section_starting(message: SlackMessage, start: str) -> str:
    """The text of the one section that starts with `start`."""
    (found,) = [text for text in section_texts(message["blocks"]) if text.startswith(start)]
    return found


# ---- realistic results -------------------------------------------------------------------------


def classification_result(**overrides: Any) -> JobResult:
    values: dict[str, Any] = {
        "job_id": "20261126-110933-40df",
        "status": "succeeded",
        "file_name": "churn <Q3> & more.csv",
        "target": "churned",
        "task": "classification",
        "metric": "roc_auc",
        "time_budget_s": 30,
        "rows_total": 3000,
        "rows_used": 2990,
        "rows_dropped_missing_target": 10,
        "columns_used": ["tenure_months", "monthly_charges", "support_calls", "plan"],
        "dropped_columns": [
            DroppedColumn(
                name="customer_id",
                reason="a different value in every row, like an identifier: nothing to learn from",
            ),
            DroppedColumn(name="country", reason="the same value in every row"),
        ],
        "classes": ["no", "yes"],
        "best_estimator": "xgboost",
        "leaderboard": [
            LeaderboardRow(
                rank=1,
                estimator="xgboost",
                validation_score=0.7836562210558815,
                train_time_s=6.73,
                trials=54,
                config={"n_estimators": 124, "max_leaves": 4},
            ),
            LeaderboardRow(
                rank=2, estimator="rf", validation_score=0.7613, train_time_s=3.465, trials=14
            ),
            LeaderboardRow(
                rank=3, estimator="lgbm", validation_score=0.7536, train_time_s=12.331, trials=4
            ),
            LeaderboardRow(
                rank=4,
                estimator="extra_tree",
                validation_score=0.7371,
                train_time_s=1.805,
                trials=10,
            ),
            LeaderboardRow(
                rank=5, estimator="lrl1", validation_score=None, train_time_s=None, trials=2
            ),
        ],
        "holdout_metrics": {
            "accuracy": 0.75,
            "macro_f1": 0.7078,
            "f1": 0.5968,
            "log_loss": 0.5108,
            "roc_auc": 0.7927,
            "ap": 0.688,
        },
        "holdout_rows": 600,
        "trials": 84,
        "timings_s": {"load": 0.015, "search": 24.895, "total": 29.178},
        "notes": ["the EDA report was made on a sample of 10,000 rows"],
        "versions": {"flaml": "2.7.0"},
        "started_at": START,
        "finished_at": START + timedelta(seconds=29.2),
    }
    values.update(overrides)
    return JobResult(**values)


def regression_result() -> JobResult:
    return JobResult(
        job_id="reg-1",
        status="succeeded",
        file_name="houses.parquet",
        target="price",
        task="regression",
        metric="r2",
        time_budget_s=60,
        rows_total=20640,
        rows_used=20640,
        columns_used=["rooms", "age", "income"],
        best_estimator="lgbm",
        leaderboard=[
            LeaderboardRow(
                rank=1, estimator="lgbm", validation_score=0.84, train_time_s=20.1, trials=40
            ),
            LeaderboardRow(
                rank=2, estimator="rf", validation_score=0.8, train_time_s=15.0, trials=9
            ),
        ],
        holdout_metrics={"r2": 0.83, "rmse": 0.47, "mae": 0.31},
        holdout_rows=4128,
        trials=49,
        stopped_early=True,
        timings_s={"total": 41.5},
    )


def failed_result() -> JobResult:
    return JobResult(
        job_id="bad-input",
        status="failed",
        file_name="sales.csv",
        target="revenu",
        error=ErrorInfo(
            code="target_not_found",
            message="There is no column named 'revenu' in sales.csv.",
            hint="Columns with a similar name: revenue. Try `target=revenue`.",
        ),
    )


def interrupted_result() -> JobResult:
    return classification_result(
        job_id="int-1",
        status="interrupted",
        leaderboard=classification_result().leaderboard[:2],
        holdout_metrics={"roc_auc": 0.77},
        notes=["the bot restarted while this job ran"],
    )


def huge_result() -> JobResult:
    long = "x" * 400
    return classification_result(
        job_id="huge",
        file_name="f" * 300 + ".csv",
        target="t" * 300,
        dropped_columns=[
            DroppedColumn(name=f"col_{i}_<{long}>&", reason=f"reason {i}: " + "y" * 200)
            for i in range(300)
        ],
        notes=[f"note {i} " + "z" * 500 for i in range(40)],
        classes=[f"class_{i}" for i in range(60)],
        leaderboard=[
            LeaderboardRow(
                rank=i + 1,
                estimator="estimator_" + "e" * 500,
                validation_score=0.5,
                train_time_s=1.0,
                trials=1,
            )
            for i in range(150)
        ],
    )


ENSEMBLE = LeaderboardRow(
    rank=1,
    estimator="ensemble",
    validation_score=0.8012,
    train_time_s=0.4,
    trials=0,
    weights={"catboost": 0.3, "lgbm": 0.5, "extra_tree": 0.2},
)
LEAKS = [
    SuspectedLeak(column="refund_amount", metric="roc_auc", score=0.993, kept=False),
    SuspectedLeak(column="cancel <date>", metric="roc_auc", score=0.97, kept=True),
]
THRESHOLD = DecisionThreshold(
    value=0.27,
    positive_class="yes",
    criterion="f1",
    reason="chosen on validation rows to maximise F1 of the rarer class.",
)
CLASS_METRICS = [
    ClassMetrics(label="no", precision=0.9112, recall=0.8731, support=480),
    ClassMetrics(label="yes & <maybe>", precision=0.6234, recall=0.7093, support=120),
]


def full_result() -> JobResult:
    """A two-class result with every optional finding: leaks, threshold, classes, ensemble."""
    plain = classification_result()
    ranked = [row.model_copy(update={"rank": row.rank + 1}) for row in plain.leaderboard]
    return classification_result(
        job_id="full-1",
        best_estimator="ensemble",
        leaderboard=[ENSEMBLE, *ranked],
        suspected_leaks=LEAKS,
        decision_threshold=THRESHOLD,
        class_metrics=CLASS_METRICS,
    )


ALL_RESULTS = {
    "classification": classification_result,
    "full": full_result,
    "regression": regression_result,
    "failed": failed_result,
    "interrupted": interrupted_result,
    "huge": huge_result,
}

# ---- results ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_RESULTS))
def test_every_result_message_is_valid_block_kit(name: str) -> None:
    result = ALL_RESULTS[name]()
    validate(results_message(result, "https://bot.example/r/abc?exp=1&sig=z", None))
    validate(results_message(result, None, "https://bot.example/m/abc?exp=1&sig=z"))
    validate(failure_message(result))


def test_classification_results_show_the_leaderboard_as_a_table() -> None:
    message = results_message(
        classification_result(),
        report_url="https://bot.example/r/abc?exp=1&sig=z",
        model_url="https://bot.example/m/abc?exp=1&sig=z",
    )
    blocks = validate(message)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "Results: churn <Q3> & more.csv → churned"
    (table,) = [b for b in blocks if b["type"] == "table"]
    rows = [[cell["text"] for cell in row] for row in table["rows"]]
    assert rows[0] == ["#", "Model", "Validation ROC AUC", "Train time", "Trials"]
    assert [r[1] for r in rows[1:]] == ["xgboost", "rf", "lgbm", "extra_tree", "lrl1"]
    assert rows[1] == ["1", "xgboost", "0.7837", "6.7 s", "54"]
    assert rows[5][2:4] == ["—", "—"]
    assert table["column_settings"][2]["align"] == "right"
    held_out = section_starting(message, "*Best model on 600 held-out rows*")
    assert "• accuracy: *0.7500*" in held_out.splitlines()
    left_out = section_starting(message, "*Left out*").splitlines()
    assert "• 10 rows: no value in the target `churned`" in left_out
    assert any(
        line.startswith("• `customer_id`: a different value in every row") for line in left_out
    )
    assert "the EDA report was made on a sample" in section_starting(message, "*Notes*")
    assert links(blocks) == {
        "Open the data report": "https://bot.example/r/abc?exp=1&sig=z",
        "Download the model": "https://bot.example/m/abc?exp=1&sig=z",
    }
    assert fields(blocks)["Duration"] == "29 s (budget 30 s)"
    assert context_texts(blocks)[-1].startswith("Job `20261126-110933-40df`")
    assert "xgboost" in message["text"]


def test_user_text_is_escaped_in_mrkdwn() -> None:
    message = results_message(classification_result(), None, None)
    mrkdwn = [
        b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b
    ]
    assert all("<Q3>" not in t for t in mrkdwn)
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    progress = progress_message("j1", "a<b>.csv", None, "queued")
    assert section_texts(progress["blocks"])[0].startswith(
        ":hourglass_flowing_sand: Training on *a&lt;b&gt;.csv*"
    )
    usage = usage_message("unknown option `<x>`")
    assert section_texts(usage["blocks"])[0] == ":warning: unknown option `&lt;x&gt;`"


def test_regression_results_mark_stopped_early() -> None:
    message = results_message(regression_result(), None, None)
    blocks = validate(message)
    assert fields(blocks)["Duration"].startswith("42 s (stopped early:")
    held_out = section_starting(message, "*Best model on 4,128 held-out rows*").splitlines()
    assert {"• R²: *0.8300*", "• RMSE: *0.4700*"} <= set(held_out)
    assert not [text for text in section_texts(blocks) if text.startswith("*Left out*")]
    assert links(blocks) == {}


def test_interrupted_results_are_marked() -> None:
    message = results_message(interrupted_result(), None, None)
    blocks = validate(message)
    assert section_texts(blocks)[0].startswith(":warning: *Interrupted:*")
    assert fields(blocks)["Duration"] == "29 s (interrupted)"
    assert "interrupted" in message["text"]


def test_failed_result_gets_the_failure_message() -> None:
    message = results_message(failed_result(), None, None)
    assert message == failure_message(failed_result())
    blocks = validate(message)
    assert section_texts(blocks) == [
        ":x: *Training on sales.csv failed.*",
        "*What went wrong:* There is no column named 'revenu' in sales.csv.",
        "*What to do:* Columns with a similar name: revenue. Try `target=revenue`.",
    ]
    assert context_texts(blocks) == ["Job `bad-input` · error `target_not_found`"]
    assert len(blocks) == 4


def test_failure_without_error_info_still_explains() -> None:
    result = JobResult(job_id="x", status="failed")
    message = failure_message(result)
    validate(message)
    assert section_starting(message, "*What went wrong:*").endswith("without saying why.")


def test_huge_result_stays_within_slack_limits() -> None:
    message = results_message(huge_result(), "https://bot.example/r", "https://bot.example/m")
    blocks = validate(message)
    assert len(blocks[0]["text"]["text"]) == 150
    assert blocks[0]["text"]["text"].endswith("…")
    (table,) = [b for b in blocks if b["type"] == "table"]
    assert len(table["rows"]) == 100
    assert "Showing the top 99 of 150." in context_texts(blocks)
    dropped = next(b for b in blocks if "Left out" in b.get("text", {}).get("text", ""))
    text = dropped["text"]["text"]
    assert "*Left out* (300 columns)" in text
    assert text.rstrip().endswith("more")
    assert "<" not in text
    assert ">" not in text
    assert "&lt;" in text
    assert text.count("`") % 2 == 0, "no code span left open"
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert max(len(t) for t in sections) <= 3000
    assert any(len(t) > 2500 for t in sections), "the long lists fill a section"


def sections(message: SlackMessage) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]


def test_suspected_leaks_come_first_with_what_to_do() -> None:
    message = results_message(full_result(), None, None)
    validate(message)
    texts = sections(message)
    leaks = texts[1]  # right after the one-line outcome, before every score
    assert leaks.splitlines() == [
        ":warning: `refund_amount` alone predicts the target with ROC AUC 0.993:"
        " check it is known before the outcome. It was left out; `keep=refund_amount` uses it.",
        ":warning: `cancel &lt;date&gt;` alone predicts the target with ROC AUC 0.97:"
        ' check it is known before the outcome. It is used; `exclude="cancel &lt;date&gt;"`'
        " leaves it out.",
    ]
    blocks = message["blocks"]
    leak_at = next(i for i, b in enumerate(blocks) if b.get("text", {}).get("text") == leaks)
    table_at = next(i for i, b in enumerate(blocks) if b["type"] == "table")
    assert leak_at < table_at


def test_a_leak_of_a_regression_uses_the_metric_label() -> None:
    leak = SuspectedLeak(column="price per m2", metric="r2", score=0.998, kept=False)
    result = regression_result().model_copy(update={"suspected_leaks": [leak]})
    (leak,) = [t for t in sections(results_message(result, None, None)) if "alone" in t]
    assert "`price per m2` alone predicts the target with R² 0.998" in leak
    assert leak.endswith('It was left out; `keep="price per m2"` uses it.')


def test_the_decision_threshold_is_explained() -> None:
    texts = sections(results_message(full_result(), None, None))
    assert (
        ":dart: Labels use a threshold of 0.27 on P(yes). Chosen on validation rows to"
        " maximise F1 of the rarer class."
    ) in texts
    # A reason that states the value already is shown as it is.
    whole = THRESHOLD.model_copy(
        update={"reason": "Labels use a threshold of 0.27 on P(yes), chosen on validation rows."}
    )
    result = full_result().model_copy(update={"decision_threshold": whole})
    assert (
        ":dart: Labels use a threshold of 0.27 on P(yes), chosen on validation rows."
        in sections(results_message(result, None, None))
    )
    # No reason at all: the criterion says why.
    bare = THRESHOLD.model_copy(update={"reason": "", "positive_class": "<y>"})
    result = full_result().model_copy(update={"decision_threshold": bare})
    assert (
        ":dart: Labels use a threshold of 0.27 on P(&lt;y&gt;), chosen on validation rows to"
        " maximise F1." in sections(results_message(result, None, None))
    )


def test_precision_and_recall_per_class() -> None:
    texts = sections(results_message(full_result(), None, None))
    (per_class,) = [t for t in texts if t.startswith("*Per class*")]
    assert "yes &amp; &lt;maybe&gt;" in per_class
    shown = per_class.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    assert shown.splitlines() == [  # columns line up as Slack shows them, escapes undone
        "*Per class* on the held-out rows:",
        "```",
        "class          precision  recall  rows",
        "no                  0.91    0.87   480",
        "yes & <maybe>       0.62    0.71   120",
        "```",
    ]


def test_many_classes_show_the_ten_largest() -> None:
    metrics = [
        ClassMetrics(label=f"c{i}", precision=0.5, recall=0.5, support=100 + i) for i in range(25)
    ]
    result = classification_result(
        classes=[m.label for m in metrics], class_metrics=metrics, holdout_rows=3000
    )
    message = results_message(result, None, None)
    validate(message)
    (per_class,) = [t for t in sections(message) if t.startswith("*Per class*")]
    assert "(the 10 largest of 25 classes)" in per_class
    rows = per_class.splitlines()[3:-1]
    assert [row.split()[0] for row in rows] == [f"c{i}" for i in range(15, 25)]


def test_the_ensemble_row_shows_its_members_and_weights() -> None:
    message = results_message(full_result(), None, None)
    (table,) = [b for b in validate(message) if b["type"] == "table"]
    rows = [[cell["text"] for cell in row] for row in table["rows"]]
    assert rows[1] == [
        "1",
        "ensemble (lgbm 0.5, catboost 0.3, extra_tree 0.2)",
        "0.8012",
        "0.4 s",
        "0",
    ]
    assert [r[1] for r in rows[2:]] == ["xgboost", "rf", "lgbm", "extra_tree", "lrl1"]
    assert section_starting(message, "*Leaderboard*") == (
        "*Leaderboard* (one row per model family and one for their ensemble, best first)"
    )
    assert section_texts(message["blocks"])[0].endswith(
        "Best model: *ensemble* with validation ROC AUC *0.8012*."
    )


def test_results_without_the_new_findings_look_as_before() -> None:
    plain = results_message(classification_result(), None, None)
    for absent in (":warning:", ":dart:", "*Per class*"):
        assert not [text for text in section_texts(plain["blocks"]) if text.startswith(absent)]
    assert not [text for text in texts(plain["blocks"]) if "ensemble" in text]
    assert "*Leaderboard* (one row per model family, best first)" in sections(plain)
    # The findings only add blocks: every block of the plain message is still there, in order.
    full = results_message(
        classification_result(
            suspected_leaks=LEAKS, decision_threshold=THRESHOLD, class_metrics=CLASS_METRICS
        ),
        None,
        None,
    )
    added = [b for b in full["blocks"] if b not in plain["blocks"]]
    assert len(added) == 3
    assert [b for b in full["blocks"] if b not in added] == plain["blocks"]
    assert full["text"] == plain["text"]


def test_many_leaks_stay_within_one_section() -> None:
    leaks = [
        SuspectedLeak(column=f"col_{i}_" + "x" * 70, metric="accuracy", score=0.99, kept=i % 2 == 0)
        for i in range(100)
    ]
    message = results_message(classification_result(suspected_leaks=leaks), None, None)
    validate(message)
    (leak_text,) = [t for t in sections(message) if t.startswith(":warning:")]
    assert len(leak_text) <= 3000
    assert leak_text.endswith("more")
    assert leak_text.count("`") % 2 == 0


def test_truncate_never_splits_an_escape() -> None:
    text = escape("a" * 10 + "&" * 10)
    for limit in range(5, len(text)):
        cut = truncate(text, limit)
        assert len(cut) <= limit
        assert cut.endswith("…")
        body = cut[:-1]
        assert body.count("&") == body.count(";")
    assert truncate("short", 10) == "short"


def test_the_validator_rejects_what_slack_would() -> None:
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(Exception, match="3000"):
        validate({"text": "t", "blocks": [too_long]})
    ragged = {"type": "table", "rows": [[{"type": "raw_text", "text": "a"}], []]}
    with pytest.raises(AssertionError):
        validate({"text": "t", "blocks": [ragged]})
    with pytest.raises(AssertionError):
        validate({"text": "t", "blocks": [{"type": "divider"}] * 51})


# ---- progress -----------------------------------------------------------------------------------


def event(**overrides: Any) -> ProgressEvent:
    values: dict[str, Any] = {
        "job_id": "j1",
        "stage": "search",
        "elapsed_s": 12.4,
        "budget_s": 30,
        "trials": 17,
        "best_estimator": "lgbm",
        "best_score": 0.7712,
        "metric": "roc_auc",
    }
    values.update(overrides)
    return ProgressEvent(**values)


@pytest.mark.parametrize(
    "status", ["queued", "started", "running", "succeeded", "failed", "interrupted", "cancelled"]
)
@pytest.mark.parametrize("with_event", [True, False])
def test_progress_message_every_state(status: str, with_event: bool) -> None:
    message = progress_message("j1", "churn.csv", event() if with_event else None, status)
    blocks = validate(message)
    assert section_texts(blocks)[0].splitlines()[0].endswith(f": *{status}*")
    assert status in message["text"]


def test_progress_shows_elapsed_budget_trials_and_best() -> None:
    message = progress_message("j1", "churn.csv", event(), "running")
    text = message["blocks"][0]["text"]["text"]
    assert "`████████░░░░░░░░░░░░` 12 s of 30 s (41%)" in text
    assert "*Trials:* 17" in text
    assert "*Best so far:* lgbm" in text
    assert "*ROC AUC:* 0.7712" in text
    assert "searching for the best model" in text
    assert "12 s of 30 s, 17 trials" in message["text"]


def test_progress_over_budget_and_no_best_yet() -> None:
    message = progress_message(
        "j1",
        "x.csv",
        event(elapsed_s=95, budget_s=60, best_estimator=None, best_score=None),
        "running",
    )
    validate(message)
    text = message["blocks"][0]["text"]["text"]
    assert "████████████████████" in text
    assert "(100%)" in text
    assert "Best so far" not in text
    assert "1 min 35 s of 1 min 00 s" in text


# ---- usage --------------------------------------------------------------------------------------


def test_usage_message() -> None:
    plain = usage_message(None)
    (usage,) = section_texts(validate(plain))
    assert usage.startswith("*`/automl train target=COLUMN`*")
    assert "`keep=a,b`" in usage
    assert "[keep=a,b]" in plain["text"]
    wrong = usage_message("I don't know the option `colour=red`.")
    blocks = validate(wrong)
    assert "colour=red" in blocks[0]["text"]["text"]
    assert len(blocks) == len(plain["blocks"]) + 1
    validate(usage_message("x" * 5000))


# ---- imports ------------------------------------------------------------------------------------


def test_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, bot.messages\n"
        "heavy = {'pandas', 'plotly', 'flaml', 'numpy', 'sklearn', 'slack_sdk', 'slack_bolt'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert messages.MAX_BLOCKS == 50


@pytest.mark.parametrize(
    ("exit_code", "memory_mb", "expected", "absent"),
    [
        (-11, 8192, "ran out of the memory a job may use (8,192 MB", "killed"),
        (-6, 8192, "SIGABRT", "killed"),
        # SIGKILL is the system's out-of-memory killer or a person, never the job's own cap.
        (-9, 8192, "was killed (SIGKILL)", "8,192 MB"),
        (-11, 0, "exit code -11", "memory"),
        (3, 8192, "exit code 3", "memory"),
    ],
)
def test_why_a_training_process_stopped(
    exit_code: int, memory_mb: int, expected: str, absent: str
) -> None:
    from bot.messages.failure import process_stopped

    text = process_stopped(stopped_by_us=False, exit_code=exit_code, memory_mb=memory_mb)
    assert expected in text and absent not in text
