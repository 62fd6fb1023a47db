"""Metric names, the default per task, and the holdout scores shown to people.

FLAML minimises a loss; for metrics where higher is better its loss is `1 - score`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contract.tasks import TaskName
from training.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

HIGHER_IS_BETTER = {"r2", "accuracy", "roc_auc", "roc_auc_ovr", "f1", "macro_f1", "micro_f1", "ap"}

BINARY_METRICS = ("roc_auc", "log_loss", "accuracy", "f1", "macro_f1", "ap")
MULTICLASS_METRICS = ("log_loss", "accuracy", "macro_f1", "micro_f1", "roc_auc_ovr")
REGRESSION_METRICS = ("r2", "rmse", "mae", "mse", "mape")

ALIASES = {
    "auc": "roc_auc",
    "rocauc": "roc_auc",
    "logloss": "log_loss",
    "crossentropy": "log_loss",
    "acc": "accuracy",
    "f1macro": "macro_f1",
    "macrof1": "macro_f1",
    "f1micro": "micro_f1",
    "microf1": "micro_f1",
    "averageprecision": "ap",
    "rsquared": "r2",
    "r²": "r2",
}


def allowed_metrics(task: TaskName, n_classes: int) -> tuple[str, ...]:
    if task == "regression":
        return REGRESSION_METRICS
    return BINARY_METRICS if n_classes == 2 else MULTICLASS_METRICS


def choose_metric(requested: str, task: TaskName, n_classes: int) -> str:
    """The metric the search optimises: the person's choice if it fits the task, else default."""
    allowed = allowed_metrics(task, n_classes)
    if requested in ("", "auto"):
        return allowed[0]
    key = requested.strip().lower()
    key = ALIASES.get(key.replace("_", "").replace("-", "").replace(" ", ""), key)
    if key == "roc_auc" and task == "classification" and n_classes > 2:
        key = "roc_auc_ovr"
    if key not in allowed:
        kind = "regression" if task == "regression" else f"{n_classes}-class classification"
        raise InputError(
            "unknown_metric",
            f"The metric “{requested}” does not fit {kind}.",
            f"Use one of: {', '.join(allowed)} (or leave it out for {allowed[0]}).",
        )
    return key


def score_from_loss(metric: str, loss: float) -> float:
    return 1.0 - loss if metric in HIGHER_IS_BETTER else loss


def holdout_scores(
    task: TaskName,
    y_true: pd.Series,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list[str],
) -> dict[str, float]:
    """Scores of the final model on rows it never saw. Classification labels are strings."""
    from sklearn import metrics as m

    if task == "regression":
        mse = float(m.mean_squared_error(y_true, y_pred))
        scores = {
            "r2": float(m.r2_score(y_true, y_pred)),
            "rmse": mse**0.5,
            "mae": float(m.mean_absolute_error(y_true, y_pred)),
            "mse": mse,
        }
        if (y_true != 0).all():
            scores["mape"] = float(m.mean_absolute_percentage_error(y_true, y_pred))
        return scores

    scores = {
        "accuracy": float(m.accuracy_score(y_true, y_pred)),
        "macro_f1": float(m.f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }
    if len(classes) == 2:
        scores["f1"] = float(m.f1_score(y_true, y_pred, pos_label=classes[1], zero_division=0))
    else:
        scores["micro_f1"] = float(m.f1_score(y_true, y_pred, average="micro", zero_division=0))
    if proba is not None:
        scores["log_loss"] = float(m.log_loss(y_true, proba, labels=classes))
        if len(classes) == 2:
            positive = (y_true == classes[1]).to_numpy()
            if 0 < positive.sum() < len(positive):
                scores["roc_auc"] = float(m.roc_auc_score(positive, proba[:, 1]))
                scores["ap"] = float(m.average_precision_score(positive, proba[:, 1]))
        elif y_true.nunique() == len(classes):
            scores["roc_auc_ovr"] = float(
                m.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
            )
    return scores


def validation_loss(metric: str, y: np.ndarray, predicted: np.ndarray) -> float:
    """The loss the search minimises (lower is better) for predictions on validation rows.

    `y`: integer class codes 0..k-1 or regression values; `predicted`: one probability column
    per class, or regression values. Label metrics use the most probable class.
    """
    import numpy as np
    from sklearn import metrics as m

    if predicted.ndim == 1:  # regression
        if metric == "r2":
            return 1.0 - float(m.r2_score(y, predicted))
        if metric == "rmse":
            return float(m.mean_squared_error(y, predicted)) ** 0.5
        if metric == "mse":
            return float(m.mean_squared_error(y, predicted))
        if metric == "mae":
            return float(m.mean_absolute_error(y, predicted))
        if metric == "mape":
            return float(m.mean_absolute_percentage_error(y, predicted))
        raise ValueError(f"no validation loss for {metric}")
    # The search and ensemble selection call this thousands of times on a few hundred rows,
    # where scikit-learn's input checks cost ~1.5 ms a call: log loss and ROC AUC are computed
    # directly here (tests/training/test_metrics.py checks them against scikit-learn).
    if metric == "log_loss":
        proba = np.clip(predicted, 1e-15, 1.0)
        proba = proba / proba.sum(axis=1, keepdims=True)  # float rounding in the libraries
        return float(-np.mean(np.log(proba[np.arange(len(y)), y.astype(int)])))
    if metric == "roc_auc":
        return 1.0 - binary_auc(y == 1, predicted[:, 1]) if _both(y) else 1.0
    if metric == "ap":
        return 1.0 - float(m.average_precision_score(y, predicted[:, 1])) if _both(y) else 1.0
    if metric == "roc_auc_ovr":
        present = np.unique(y)
        if len(present) < 2:
            return 1.0
        # scikit-learn's "ovr" is the unweighted mean of the one-vs-rest AUCs, so is this.
        return 1.0 - _mean_one_vs_rest_auc(y, predicted, present)
    labels = predicted.argmax(axis=1)
    if metric == "accuracy":
        return 1.0 - float(m.accuracy_score(y, labels))
    if metric == "f1":
        return 1.0 - float(m.f1_score(y, labels, pos_label=1, zero_division=0))
    if metric == "macro_f1":
        return 1.0 - float(m.f1_score(y, labels, average="macro", zero_division=0))
    if metric == "micro_f1":
        return 1.0 - float(m.f1_score(y, labels, average="micro", zero_division=0))
    raise ValueError(f"no validation loss for {metric}")


def _both(y: np.ndarray) -> bool:
    import numpy as np

    return len(np.unique(y)) == 2


def _mean_one_vs_rest_auc(y: np.ndarray, predicted: np.ndarray, present: np.ndarray) -> float:
    aucs = [binary_auc(y == c, predicted[:, c]) for c in present]
    return sum(aucs) / len(aucs)


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half), equal to scikit-learn's
    `roc_auc_score`. Needs both classes present."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
