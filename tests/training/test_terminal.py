"""What `automl train` prints at the end: the summary, and the engine's findings if any."""

from __future__ import annotations

from typing import Any

from contract.jobs import (
    Artifacts,
    ClassMetrics,
    DecisionThreshold,
    DroppedColumn,
    JobResult,
    LeaderboardRow,
    SuspectedLeak,
)
from training.outputs.terminal import summary

RUN = "/runs/j1"


def plain_result(**overrides: Any) -> JobResult:
    values: dict[str, Any] = {
        "job_id": "j1",
        "status": "succeeded",
        "target": "churned",
        "task": "classification",
        "metric": "roc_auc",
        "rows_used": 2990,
        "trials": 84,
        "timings_s": {"total": 29.2},
        "leaderboard": [
            LeaderboardRow(
                rank=1, estimator="lgbm", validation_score=0.7836, train_time_s=6.73, trials=54
            ),
            LeaderboardRow(
                rank=2, estimator="rf", validation_score=0.7613, train_time_s=3.465, trials=14
            ),
        ],
        "holdout_metrics": {"roc_auc": 0.7927, "accuracy": 0.75},
        "holdout_rows": 600,
        "dropped_columns": [DroppedColumn(name="customer_id", reason="an identifier")],
        "artifacts": Artifacts(model="model.joblib"),
    }
    values.update(overrides)
    return JobResult(**values)


def with_findings(**overrides: Any) -> JobResult:
    plain = plain_result()
    ranked = [row.model_copy(update={"rank": row.rank + 1}) for row in plain.leaderboard]
    ensemble = LeaderboardRow(
        rank=1,
        estimator="ensemble",
        validation_score=0.8012,
        train_time_s=0.4,
        trials=0,
        weights={"catboost": 0.3, "lgbm": 0.5, "extra_tree": 0.2},
    )
    values: dict[str, Any] = {
        "leaderboard": [ensemble, *ranked],
        "suspected_leaks": [
            SuspectedLeak(column="refund amount", metric="roc_auc", score=0.993, kept=False),
            SuspectedLeak(column="cancel_date", metric="accuracy", score=0.99, kept=True),
        ],
        "decision_threshold": DecisionThreshold(
            value=0.27,
            positive_class="yes",
            criterion="f1",
            reason="chosen on validation rows to maximise F1 of the rarer class.",
        ),
        "class_metrics": [
            ClassMetrics(label="no", precision=0.9112, recall=0.8731, support=480),
            ClassMetrics(label="yes", precision=0.6234, recall=0.7093, support=120),
        ],
    }
    values.update(overrides)
    return plain_result(**values)


def test_a_result_without_findings_prints_as_before() -> None:
    assert summary(plain_result(), RUN) == "\n".join(
        [
            "Done in 29s: classification of “churned” on 2990 rows, 84 trials.",
            "",
            "#  model  validation ROC AUC  train time  trials",
            "1  lgbm   0.7836              6.7s        54    ",
            "2  rf     0.7613              3.5s        14    ",
            "",
            "Holdout (600 rows never seen in training): ROC AUC 0.7927, accuracy 0.7500",
            "",
            "Columns left out:",
            "  customer_id: an identifier",
            "",
            "Model:       /runs/j1/model.joblib",
            "Result:      /runs/j1/result.json",
        ]
    )


def test_suspected_leaks_come_first_with_the_option_to_type() -> None:
    lines = summary(with_findings(), RUN).splitlines()
    assert lines[2:4] == [
        "⚠️ `refund amount` alone predicts the target with ROC AUC 0.993: check it is known"
        ' before the outcome. It was left out; `--keep "refund amount"` uses it.',
        "⚠️ `cancel_date` alone predicts the target with accuracy 0.99: check it is known"
        " before the outcome. It is used; `--exclude cancel_date` leaves it out.",
    ]
    leaderboard = next(i for i, line in enumerate(lines) if line.startswith("#  model"))
    assert leaderboard > 3  # the warnings come before every score


def test_the_ensemble_row_names_its_members_and_weights() -> None:
    lines = summary(with_findings(), RUN).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#  model"))
    assert lines[header + 1].split("  ")[:2] == [
        "1",
        "ensemble (lgbm 0.5, catboost 0.3, extra_tree 0.2)",
    ]
    assert lines[header + 2].startswith("2  lgbm ")


def test_threshold_and_classes_follow_the_holdout_scores() -> None:
    text = summary(with_findings(), RUN)
    holdout = text.index("Holdout (600 rows")
    threshold = text.index(
        "Labels use a threshold of 0.27 on P(yes). Chosen on validation rows to maximise F1"
        " of the rarer class."
    )
    assert holdout < threshold
    assert (
        "Per class on the holdout rows:\n"
        "  class  precision  recall  rows\n"
        "  no          0.91    0.87   480\n"
        "  yes         0.62    0.71   120\n"
    ) in text


def test_many_classes_show_the_ten_largest() -> None:
    metrics = [
        ClassMetrics(label=f"c{i}", precision=0.5, recall=0.5, support=100 + i) for i in range(25)
    ]
    lines = summary(plain_result(class_metrics=metrics), RUN).splitlines()
    title = lines.index("Per class on the holdout rows (the 10 largest of 25 classes):")
    shown = [line.split()[0] for line in lines[title + 2 : title + 12]]
    assert shown == [f"c{i}" for i in range(15, 25)]
    assert lines[title + 12] == ""


def test_a_regression_leak_uses_the_metric_label() -> None:
    leak = SuspectedLeak(column="price_per_m2", metric="r2", score=0.998, kept=False)
    result = plain_result(task="regression", metric="r2", suspected_leaks=[leak])
    assert "`price_per_m2` alone predicts the target with R² 0.998" in summary(result, RUN)
