from types import SimpleNamespace

import pandas as pd
import pytest

from training.pipeline.evaluation import feature_importance, split_holdout


def _model(importances: dict[str, float]):
    frame = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]})
    predictor = SimpleNamespace(importances=lambda names: importances)
    return SimpleNamespace(features=lambda sample: frame, predictor=predictor)


def test_importance_is_normalised_and_ranked() -> None:
    ranked = feature_importance(_model({"a": 1.0, "b": 3.0, "c": 0.0}), pd.DataFrame())
    assert [name for name, _ in ranked] == ["b", "a"]  # no importance, no bar
    assert sum(v for _, v in ranked) == pytest.approx(1.0)


def test_no_importances_give_no_chart() -> None:
    assert feature_importance(_model({}), pd.DataFrame()) == []


def test_an_ensemble_weighs_its_members_importances() -> None:
    from training.pipeline.ensemble import BlendedPredictor, Member

    class Fixed:
        def __init__(self, values: dict[str, float]) -> None:
            self.values = values

        def importances(self, names: list[str]) -> dict[str, float]:
            return self.values

    predictor = BlendedPredictor(
        [
            Member("lgbm", "lgbm", 0.75, [Fixed({"a": 10.0, "b": 0.0})]),
            Member("rf", "rf", 0.25, [Fixed({"a": 0.0, "b": 1.0})]),
        ]
    )
    assert predictor.importances(["a", "b"]) == pytest.approx({"a": 0.75, "b": 0.25})


def test_holdout_is_stratified_and_capped() -> None:
    y = pd.Series(["a"] * 900 + ["b"] * 100)
    train, test = split_holdout(y, stratify=True, seed=0)
    assert len(test) == 200
    assert (y[test] == "b").sum() == 20
    assert not set(train) & set(test)


@pytest.mark.slow  # trains a model
def test_a_model_without_importances_is_measured_by_permutation() -> None:
    import time

    import numpy as np

    from training.pipeline.ensemble import BlendedPredictor, Member
    from training.pipeline.features import FeaturePlan
    from training.pipeline.learners import FitContext, Fold, fit_hgb
    from training.pipeline.model import TrainedModel

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=600), "noise": rng.normal(size=600)})
    y = (frame["signal"] > 0).astype(int).to_numpy()
    ctx = FitContext("classification", 2, 1, 0, time.monotonic() + 30)
    fitted = fit_hgb({}, Fold(frame, y), None, ctx)
    model = TrainedModel(
        task="classification",
        target="y",
        estimator_name="hgb",
        plan=FeaturePlan(numeric=["signal", "noise"]),
        predictor=BlendedPredictor([Member("hgb", "hgb", 1.0, [fitted])]),
        classes=["0", "1"],
    )
    truth = pd.Series(y.astype(str))
    ranked = feature_importance(model, frame, truth)
    assert ranked[0][0] == "signal" and ranked[0][1] > 0.8


@pytest.mark.slow  # trains a model
def test_permutation_keeps_a_category_column_a_category() -> None:
    """Shuffling a category column as a plain array made HGB compare strings with numbers."""
    import time

    import numpy as np

    from training.pipeline.ensemble import BlendedPredictor, Member
    from training.pipeline.features import FeaturePlan
    from training.pipeline.learners import FitContext, Fold, fit_hgb
    from training.pipeline.model import TrainedModel

    rng = np.random.default_rng(1)
    levels = ["north", "south", "east"]
    region = rng.choice(levels, 600)
    frame = pd.DataFrame(
        {
            "region": pd.Categorical(region, categories=[*levels, "(other)"]),
            "noise": rng.normal(size=600),
        }
    )
    y = (region == "north").astype(int)
    ctx = FitContext("classification", 2, 1, 0, time.monotonic() + 30)
    fitted = fit_hgb({}, Fold(frame, y), None, ctx)
    model = TrainedModel(
        task="classification",
        target="y",
        estimator_name="hgb",
        plan=FeaturePlan(numeric=["noise"], categories={"region": levels}),
        predictor=BlendedPredictor([Member("hgb", "hgb", 1.0, [fitted])]),
        classes=["0", "1"],
    )
    raw = pd.DataFrame({"region": region, "noise": frame["noise"]})
    ranked = feature_importance(model, raw, pd.Series(y.astype(str)))
    assert ranked[0][0] == "region"
