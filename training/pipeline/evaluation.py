"""How good the final model is on rows it never saw, and which inputs it leans on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.jobs import ClassMetrics
from training.pipeline.metrics import holdout_scores

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from training.pipeline.model import TrainedModel

HOLDOUT_SHARE = 0.2
MAX_HOLDOUT_ROWS = 50_000  # plenty for a stable score; the rest is better spent on training
TOP_FEATURES = 20


@dataclass
class Holdout:
    y_true: pd.Series
    y_pred: np.ndarray
    proba: np.ndarray | None
    scores: dict[str, float]


def split_holdout(y: pd.Series, *, stratify: bool, seed: int) -> tuple[pd.Index, pd.Index]:
    """Row labels for training and for the honest test, split before any search."""
    from sklearn.model_selection import train_test_split

    # Integer codes: stratifying on a million strings is several times slower.
    codes = y.astype("category").cat.codes.to_numpy() if stratify else None
    n_classes = int(codes.max()) + 1 if codes is not None else 0
    size = min(max(round(HOLDOUT_SHARE * len(y)), n_classes), MAX_HOLDOUT_ROWS)
    train, test = train_test_split(y.index, test_size=size, random_state=seed, stratify=codes)
    return train, test


def evaluate(model: TrainedModel, frame: pd.DataFrame, y_true: pd.Series) -> Holdout:
    proba = None
    if model.task == "classification":  # one pass through the members: labels come from it
        proba = model.predict_proba(frame)
        predictions = model.labels_from(proba)
    else:
        predictions = model.predict(frame)
    scores = holdout_scores(model.task, y_true, predictions, proba, model.classes)
    return Holdout(y_true, predictions, proba, scores)


def class_metrics(y_true: pd.Series, y_pred: np.ndarray, classes: list[str]) -> list[ClassMetrics]:
    """Precision and recall of each class on the holdout rows."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, _, support = precision_recall_fscore_support(
        y_true.astype(str), [str(v) for v in y_pred], labels=classes, zero_division=0
    )
    return [
        ClassMetrics(label=c, precision=float(p), recall=float(r), support=int(n))
        for c, p, r, n in zip(classes, precision, recall, support, strict=True)
    ]


def feature_importance(
    model: TrainedModel, sample: pd.DataFrame, y_true: pd.Series | None = None
) -> list[tuple[str, float]]:
    """The members' own importances (split gain or impurity), weighted like the members,
    largest first. A model without any (linear, HistGradientBoosting) is measured by
    permutation on the holdout rows instead, where that is cheap."""
    import math

    features = model.features(sample)
    names = list(features.columns)
    values = model.predictor.importances(names)
    if not any(v > 0 for v in values.values()) and y_true is not None:
        values = _permutation_importance(model, features, y_true)
    total = sum(v for v in values.values() if math.isfinite(v) and v > 0)
    if total <= 0:
        return []
    ranked = sorted(((n, v / total) for n, v in values.items() if v > 0), key=lambda p: -p[1])
    return ranked[:TOP_FEATURES]


PERMUTATION_MAX_FEATURES = 40
PERMUTATION_MAX_ROWS = 1_000


def _permutation_importance(
    model: TrainedModel, features: pd.DataFrame, y_true: pd.Series
) -> dict[str, float]:
    """How much the holdout score drops when one feature's values are shuffled."""
    import numpy as np
    import pandas as pd

    from training.pipeline.metrics import validation_loss

    if features.shape[1] > PERMUTATION_MAX_FEATURES:
        return {}
    rows = min(len(features), PERMUTATION_MAX_ROWS)
    features, y_true = features.iloc[:rows], y_true.iloc[:rows]
    if model.task == "classification":
        y = np.searchsorted(np.asarray(model.classes), y_true.astype(str).to_numpy())
        metric = "log_loss"
    else:
        y, metric = y_true.to_numpy(float), "mse"

    rng = np.random.default_rng(0)
    copies = [features]
    for name in features.columns:
        shuffled = features.copy()
        # Shuffled as a Series, so a category column stays a category column.
        shuffled[name] = features[name].iloc[rng.permutation(rows)].set_axis(features.index)
        copies.append(shuffled)
    # One prediction over all the copies: per-call overhead (a pipeline, five fold models)
    # is most of the cost at a few hundred rows.
    stacked = pd.concat(copies, ignore_index=True)
    raw = np.asarray(model.predictor.predict_raw(stacked), dtype=float)
    if model.task == "classification":
        raw = np.clip(raw, 1e-9, None)
        raw = raw / raw.sum(axis=1, keepdims=True)
    losses = [
        validation_loss(metric, y, raw[i * rows : (i + 1) * rows]) for i in range(len(copies))
    ]
    base = losses[0]
    return {
        name: max(0.0, lost - base) for name, lost in zip(features.columns, losses[1:], strict=True)
    }
