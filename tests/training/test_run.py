"""Real training on small tables: the run folder, the contract and the saved model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest

from contract.jobs import JobResult, parse_event
from contract.run_folder import EXPLANATION_CHART, MODEL_FILE
from tests.training import tables
from training.pipeline.model import TrainedModel
from training.run import RunOptions, run_job


def _events(run_dir: Path) -> list:
    return [parse_event(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_binary_run_writes_the_whole_run_folder(tmp_path: Path, make_spec) -> None:
    data = tables.breast_cancer(tmp_path / "cancer.csv", rows=300)
    # 20 s, not less: every family must get its turn also on a shared, loaded CI machine.
    spec = make_spec(data, "diagnosis", time_budget_s=20)
    result = run_job(spec, RunOptions(report=False, handle_signals=False))
    run_dir = Path(spec.output_uri)

    assert result.status == "succeeded", result.error
    assert result.task == "classification"
    assert result.metric == "roc_auc"
    assert result.classes == ["benign", "malignant"]
    assert result.holdout_metrics["roc_auc"] > 0.9
    assert {"accuracy", "macro_f1", "log_loss"} <= set(result.holdout_metrics)
    assert result.holdout_rows == 60
    assert result.leaderboard[0].rank == 1
    assert result.leaderboard[0].estimator == result.best_estimator
    assert {r.estimator for r in result.leaderboard} - {"ensemble"} == {
        "lgbm",
        "xgboost",
        "hgb",
        "rf",
        "extra_tree",
        "linear",
        "knn",
    }
    assert result.timings_s["total"] <= spec.time_budget_s + 5

    for name in ("spec.json", "result.json", "leaderboard.csv", MODEL_FILE, "events.jsonl"):
        assert (run_dir / name).is_file(), name
    assert JobResult.model_validate_json((run_dir / "result.json").read_text()) == result
    names = {c.name for c in result.artifacts.charts}
    if names:  # charts need a browser; without one the run says why
        # With an explanation, its importance chart (with directions) stands for permutation
        # importance.
        importance = EXPLANATION_CHART if result.explanations else "feature_importance"
        expected = {"leaderboard", "score_history", importance, "confusion_matrix", "roc_curve"}
        assert expected <= names
        for chart in result.artifacts.charts:
            assert (run_dir / chart.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert chart.alt_text
    else:
        assert any("chart" in note.lower() for note in result.notes)

    events = _events(run_dir)
    assert events[0].type == "started"
    assert events[-1].type == "finished" and events[-1].status == "succeeded"
    assert any(e.type == "progress" and e.stage == "search" for e in events)


@pytest.mark.slow
def test_regression_with_messy_columns(tmp_path: Path, make_spec) -> None:
    data = tables.messy_regression(tmp_path / "listings.csv")
    spec = make_spec(data, "price", time_budget_s=10)
    result = run_job(spec, RunOptions(report=False, charts=False, handle_signals=False))

    assert result.status == "succeeded", result.error
    assert result.task == "regression" and result.metric == "r2"
    dropped = {d.name: d.reason for d in result.dropped_columns}
    assert "identifier" in dropped["listing_id"]
    assert "copy of the target" in dropped["deposit"]
    assert "listed_on" in result.columns_used
    assert result.holdout_metrics["r2"] > 0.8
    assert {"rmse", "mae"} <= set(result.holdout_metrics)


@pytest.mark.slow
def test_saved_model_predicts_from_raw_columns(tmp_path: Path, make_spec) -> None:
    data = tables.iris(tmp_path / "iris.csv")
    spec = make_spec(data, "species", time_budget_s=8, exclude_columns=["sepal width (cm)"])
    result = run_job(spec, RunOptions(report=False, charts=False, handle_signals=False))
    assert result.status == "succeeded", result.error
    assert result.metric == "log_loss"
    assert {d.name: d.reason for d in result.dropped_columns} == {
        "sepal width (cm)": "excluded on request"
    }

    digest = result.artifacts.model_sha256
    assert digest is not None  # the job records it; the bot or the CLI signs it
    model = TrainedModel.load(Path(spec.output_uri, MODEL_FILE), sha256=digest)
    new = pd.read_csv(data).drop(columns=["species"]).sample(20, random_state=1)
    table = model.predictions_table(new)
    assert list(table.columns) == [
        "predicted_species",
        "probability_setosa",
        "probability_versicolor",
        "probability_virginica",
    ]
    assert set(table["predicted_species"]) <= {"setosa", "versicolor", "virginica"}
    assert table.filter(like="probability_").sum(axis=1).round(6).eq(1).all()


@pytest.mark.slow
def test_progress_events_come_at_least_every_ten_seconds(tmp_path: Path, make_spec) -> None:
    data = tables.breast_cancer(tmp_path / "cancer.csv")
    spec = make_spec(data, "diagnosis", time_budget_s=25)
    options = RunOptions(report=False, charts=False, handle_signals=False)
    # Never stop early here: the point is the cadence over a long search.
    from training.pipeline.search import ConvergencePolicy

    options.convergence = ConvergencePolicy(enabled=False)
    run_job(spec, options)
    events = _events(Path(spec.output_uri))
    times = [e.at for e in events]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert max(gaps) <= 10.5
    assert json.loads(Path(spec.output_uri, "result.json").read_text())["status"] == "succeeded"
