from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from training.evaluation import feature_importance, split_holdout


def _model(importances=None, coef=None):
    frame = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]})
    estimator = SimpleNamespace(feature_importances_=importances, model=SimpleNamespace(coef_=coef))
    return SimpleNamespace(features=lambda sample: frame, estimator=estimator)


def test_importance_is_normalised_and_ranked() -> None:
    ranked = feature_importance(_model(importances=[1.0, 3.0, 0.0]), pd.DataFrame())
    assert [name for name, _ in ranked] == ["b", "a", "c"]
    assert sum(v for _, v in ranked) == pytest.approx(1.0)


def test_linear_model_coefficients_per_class_count_by_size() -> None:
    # FLAML reports a linear model's coefficients as one row per class.
    ranked = feature_importance(_model(importances=np.array([[0.5, -2.0, 0.0]])), pd.DataFrame())
    assert ranked[0][0] == "b"
    ranked = feature_importance(_model(coef=np.array([[1.0, -1.0, 4.0]])), pd.DataFrame())
    assert ranked[0][0] == "c"


def test_holdout_is_stratified_and_capped() -> None:
    y = pd.Series(["a"] * 900 + ["b"] * 100)
    train, test = split_holdout(y, stratify=True, seed=0)
    assert len(test) == 200
    assert (y[test] == "b").sum() == 20
    assert not set(train) & set(test)
