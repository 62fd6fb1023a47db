"""Metric names as people read them: in Slack, in the terminal, on charts and in the report.

The keys are the metric names the job's result carries (`JobResult.metric`,
`holdout_metrics`); a name without a label is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

METRIC_LABELS: Final[Mapping[str, str]] = {
    "roc_auc": "ROC AUC",
    "roc_auc_ovr": "ROC AUC (one-vs-rest)",
    "roc_auc_ovo": "ROC AUC (one-vs-one)",
    "log_loss": "log loss",
    "accuracy": "accuracy",
    "f1": "F1",
    "macro_f1": "macro F1",
    "micro_f1": "micro F1",
    "ap": "average precision",
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "MAE",
    "mse": "MSE",
    "mape": "MAPE",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)
