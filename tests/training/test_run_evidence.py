"""Whole jobs on generated tables: identifiers used by evidence, keep=, leaks flagged, the
decision threshold of an imbalanced target, many-level categories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract.run_folder import MODEL_FILE
from training.pipeline.model import TrainedModel
from training.run import RunOptions, run_job

OPTIONS = RunOptions(charts=False, report=False, handle_signals=False)


def _accounts(path: Path, rows: int = 1500, seed: int = 0) -> Path:
    """An account number whose ranges encode a region with its own churn rate, a random
    record id with no signal, and one honest feature."""
    rng = np.random.default_rng(seed)
    account = rng.choice(np.arange(100_000, 200_000), size=rows, replace=False)
    region_rate = np.linspace(0.05, 0.95, 10)[account // 10_000 - 10]
    usage = rng.normal(size=rows)
    churned = rng.random(rows) < np.clip(region_rate + 0.05 * usage, 0, 1)
    pd.DataFrame(
        {
            "account_id": account,
            "record_id": rng.choice(np.arange(10**7), size=rows, replace=False),
            "usage": usage,
            "churned": np.where(churned, "yes", "no"),
        }
    ).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_an_identifier_with_signal_is_used_and_one_without_is_left_out(
    tmp_path: Path, make_spec
) -> None:
    # 20 s: the signal needs a few trials, also on a loaded machine.
    spec = make_spec(_accounts(tmp_path / "accounts.csv"), "churned", time_budget_s=20)
    result = run_job(spec, OPTIONS)
    assert result.status == "succeeded", result.error
    assert "account_id" in result.columns_used
    dropped = {d.name: d.reason for d in result.dropped_columns}
    assert "record_id" in dropped and "no signal" in dropped["record_id"]
    assert any("account_id" in note and "predicts the target" in note for note in result.notes)
    assert result.holdout_metrics["roc_auc"] > 0.8


@pytest.mark.slow
def test_keep_uses_a_column_the_engine_would_leave_out(tmp_path: Path, make_spec) -> None:
    spec = make_spec(
        _accounts(tmp_path / "accounts.csv"), "churned", time_budget_s=6, keep_columns=["record_id"]
    )
    result = run_job(spec, OPTIONS)
    assert result.status == "succeeded", result.error
    assert "record_id" in result.columns_used
    assert all(d.name != "record_id" for d in result.dropped_columns)


@pytest.mark.slow
def test_keep_and_exclude_on_the_same_column_is_refused(tmp_path: Path, make_spec) -> None:
    spec = make_spec(
        _accounts(tmp_path / "accounts.csv"),
        "churned",
        time_budget_s=6,
        keep_columns=["usage"],
        exclude_columns=["usage"],
    )
    result = run_job(spec, OPTIONS)
    assert result.status == "failed"
    assert result.error is not None and result.error.code == "keep_and_exclude"


@pytest.mark.slow
def test_a_column_that_gives_the_answer_away_is_flagged(tmp_path: Path, make_spec) -> None:
    rng = np.random.default_rng(1)
    rows = 800
    churned = rng.random(rows) < 0.3
    frame = pd.DataFrame(
        {
            "tenure": rng.normal(size=rows) + churned,
            "cancellation_fee": np.where(churned, rng.uniform(50, 90, rows), 0.0),
            "churned": np.where(churned, "yes", "no"),
        }
    )
    frame.to_csv(tmp_path / "leak.csv", index=False)
    result = run_job(make_spec(tmp_path / "leak.csv", "churned", time_budget_s=6), OPTIONS)
    assert result.status == "succeeded", result.error
    assert [(leak.column, leak.kept) for leak in result.suspected_leaks] == [
        ("cancellation_fee", True)
    ]
    assert result.suspected_leaks[0].score > 0.99


@pytest.mark.slow
def test_an_imbalanced_target_uses_a_threshold_everywhere(tmp_path: Path, make_spec) -> None:
    rng = np.random.default_rng(2)
    rows = 3000
    x = rng.normal(size=(rows, 4))
    fraud = rng.random(rows) < 1 / (1 + np.exp(-(2.2 * x[:, 0] + x[:, 1] - 4.5)))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["fraud"] = np.where(fraud, "fraud", "ok")
    frame.to_csv(tmp_path / "fraud.csv", index=False)
    spec = make_spec(tmp_path / "fraud.csv", "fraud", time_budget_s=10)
    result = run_job(spec, OPTIONS)
    assert result.status == "succeeded", result.error
    threshold = result.decision_threshold
    assert threshold is not None and threshold.positive_class == "fraud"
    assert threshold.value < 0.5 and "rarer class" in threshold.reason
    assert {m.label for m in result.class_metrics} == {"fraud", "ok"}
    model = TrainedModel.load(
        Path(spec.output_uri) / MODEL_FILE, sha256=result.artifacts.model_sha256
    )
    proba = model.predict_proba(frame)
    fraud_column = model.classes.index("fraud")
    expected = np.where(proba[:, fraud_column] >= threshold.value, "fraud", "ok")
    assert (model.predict(frame) == expected).all()
    table = model.predictions_table(frame)
    assert (table["predicted_fraud"].to_numpy() == expected).all()


def test_a_category_with_thousands_of_repeated_levels_keeps_them() -> None:
    from training.pipeline.features import plan_features
    from training.pipeline.target import prepare_target

    rng = np.random.default_rng(3)
    stores = [f"Store {i:04d}" for i in range(1500)]
    names = rng.choice(stores, size=9000)
    frame = pd.DataFrame({"store": names, "once": [f"x{i}" for i in range(9000)]})
    frame.loc[:10, "once"] = "common"
    target = prepare_target(pd.DataFrame({"y": rng.normal(size=9000)}), "y", "regression")
    plan = plan_features(frame, target)
    assert len(plan.categories["store"]) > 1400  # every level seen at least twice
    assert "once" not in plan.categories  # a new text in nearly every row is left out
    transformed = plan.transform(pd.DataFrame({"store": ["Store 0001", "never seen"]}))
    assert transformed["store"].iloc[0] == "Store 0001"
    assert transformed["store"].iloc[1] == "(other)"  # unseen levels share one level
