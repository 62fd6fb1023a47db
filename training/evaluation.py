"""How good the final model is on rows it never saw, and which inputs it leans on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from training.metrics import holdout_scores

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from training.model import TrainedModel

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
    predictions = model.predict(frame)
    proba = model.predict_proba(frame) if model.task == "classification" else None
    scores = holdout_scores(model.task, y_true, predictions, proba, model.classes)
    return Holdout(y_true, predictions, proba, scores)


def feature_importance(model: TrainedModel, sample: pd.DataFrame) -> list[tuple[str, float]]:
    """The model's own importances (split gain, impurity or |coefficient|), largest first."""
    import numpy as np

    names = list(model.features(sample.head(5)).columns)
    raw = getattr(model.estimator, "feature_importances_", None)
    if raw is None:
        coef = getattr(getattr(model.estimator, "model", None), "coef_", None)
        if coef is None:
            return []
        raw = np.abs(np.atleast_2d(coef)).mean(axis=0)
    values = np.asarray(raw, dtype=float)
    if values.ndim == 2:  # a linear model's coefficients: one row per class
        values = np.abs(values).mean(axis=0)
    if len(values) != len(names) or not np.isfinite(values).all() or values.sum() <= 0:
        return []
    values = values / values.sum()
    ranked = sorted(zip(names, values.tolist(), strict=True), key=lambda p: -p[1])
    return ranked[:TOP_FEATURES]
