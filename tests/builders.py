"""Test data the bot's and the training's tests share: a job as the bot records it, the spec it
hands the training job, and the result that comes back. A test overrides only what it is about.

    make_job(target="plan")                           a queued job record (`bot.jobs.Job`)
    make_spec(dataset_uri=..., output_uri=...)        a job spec (`contract.jobs.JobSpec`)
    spec_for(job, dataset_uri=..., output_uri=...)    the spec the bot writes for a job
    make_result(job)                                  a succeeded result: charts, report, model

Small tables to train on are in `tests.training.tables`; Slack's requests, signed as Slack
signs them, come from `bot.console.slack_requests.SlackRequests`.
"""

from __future__ import annotations

from typing import Any

from bot.jobs import Job, new_job_id
from contract.jobs import Artifacts, Chart, JobResult, JobSpec, LeaderboardRow


def make_job(**overrides: Any) -> Job:
    """A queued job with every field a person can choose set, so a store round-trips them all."""
    values: dict[str, Any] = {
        "job_id": new_job_id(),
        "user_id": "U1",
        "channel_id": "C1",
        "thread_ts": "1700000000.000100",
        "file_name": "churn.csv",
        "target": "churned",
        "file_id": "F1",
        "time_budget_s": 30,
        "exclude_columns": ("customer_id",),
        "keep_columns": ("store_id", "refund amount"),
    }
    values.update(overrides)
    return Job(**values)


def make_spec(**overrides: Any) -> JobSpec:
    """A spec for churn.csv, predicting `churned`; where the data is and where the run goes are
    the test's to say (`dataset_uri`, `output_uri`), local paths by default."""
    values: dict[str, Any] = {
        "job_id": "test-job",
        "dataset_uri": "/data/churn.csv",
        "file_name": "churn.csv",
        "target": "churned",
        "output_uri": "/runs/test-job",
    }
    values.update(overrides)
    return JobSpec.model_validate(values)


def spec_for(job: Job, *, dataset_uri: str, output_uri: str, **overrides: Any) -> JobSpec:
    """The spec the bot writes for `job`: its id, file, target and time budget."""
    values: dict[str, Any] = {
        "job_id": job.job_id,
        "dataset_uri": dataset_uri,
        "file_name": job.file_name,
        "target": job.target,
        "output_uri": output_uri,
    }
    if job.time_budget_s is not None:
        values["time_budget_s"] = job.time_budget_s
    values.update(overrides)
    return make_spec(**values)


CHARTS = [
    Chart(name="roc", path="charts/roc.png", title="ROC curve", alt_text="ROC curve, AUC 0.80"),
    Chart(
        name="importance",
        path="charts/importance.png",
        title="Feature importance",
        alt_text="Bar chart: a matters most",
    ),
]


def make_result(job: Job, **overrides: Any) -> JobResult:
    """A succeeded result for `job`: a two-row leaderboard, two charts, a report and a model."""
    values: dict[str, Any] = {
        "job_id": job.job_id,
        "status": "succeeded",
        "file_name": job.file_name,
        "target": job.target,
        "task": "classification",
        "metric": "roc_auc",
        "time_budget_s": 60,
        "rows_total": 100,
        "rows_used": 100,
        "columns_used": ["a"],
        "classes": ["0", "1"],
        "best_estimator": "lgbm",
        "leaderboard": [
            LeaderboardRow(
                rank=1, estimator="lgbm", validation_score=0.81, train_time_s=1.2, trials=7
            ),
            LeaderboardRow(
                rank=2, estimator="rf", validation_score=0.78, train_time_s=2.0, trials=3
            ),
        ],
        "holdout_metrics": {"roc_auc": 0.8},
        "holdout_rows": 20,
        "trials": 10,
        "artifacts": Artifacts(charts=CHARTS, report="report.html", model="model.pkl"),
    }
    values.update(overrides)
    return JobResult(**values)
