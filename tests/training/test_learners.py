"""Each model family trains on a fold, predicts every class of the task, and honours the
trial's deadline."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from training.pipeline.learners import TRAINERS, FitContext, Fold

pytestmark = pytest.mark.slow  # every test trains models


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    levels = [f"level {i}" for i in range(40)]
    return pd.DataFrame(
        {
            "x0": rng.normal(size=rows),
            "x1": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(size=rows)),
            "city": pd.Categorical(rng.choice(levels, rows), categories=levels),
        }
    )


def _ctx(task: str, n_classes: int, seconds: float = 30.0) -> FitContext:
    return FitContext(task, n_classes, 1, 0, time.monotonic() + seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize("family", sorted(TRAINERS))
def test_a_fold_without_one_class_still_predicts_every_class(family: str) -> None:
    X = _frame(300)
    y = np.where(X["x0"] > 0.5, 2, np.where(X["x0"] < -0.5, 0, 1))
    train_rows = y != 1  # class 1 is missing from this fold's training rows
    train = Fold(X[train_rows], y[train_rows])
    valid = Fold(X[~train_rows].head(30), y[~train_rows][:30])
    fitted = TRAINERS[family]({}, train, valid, _ctx("classification", 3))
    proba = fitted.predict(X.head(20))
    assert proba.shape == (20, 3)
    assert np.allclose(proba[:, 1], 0.0)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("family", sorted(TRAINERS))
def test_regression_learns_the_signal(family: str) -> None:
    X = _frame(600, seed=1)
    y = 3 * X["x0"].to_numpy() + (X["city"].cat.codes.to_numpy() % 3)
    train, valid = Fold(X[:500], y[:500]), Fold(X[500:], y[500:])
    fitted = TRAINERS[family]({}, train, valid, _ctx("regression", 0))
    predicted = fitted.predict(valid.X)
    assert np.corrcoef(predicted, valid.y)[0, 1] > 0.8


def test_tree_models_say_about_how_many_leaves_they_save() -> None:
    import pickle

    X = _frame(600, seed=3)
    y = 3 * X["x0"].to_numpy()
    fold = Fold(X, y)
    ctx = _ctx("regression", 0)
    small = TRAINERS["lgbm"]({"num_leaves": 4, "rounds": 50}, fold, None, ctx)
    large = TRAINERS["lgbm"]({"num_leaves": 31, "rounds": 400}, fold, None, ctx)
    assert small.leaves() == 50 * 4
    assert large.leaves() == 400 * 31
    assert len(pickle.dumps(large)) > 5 * len(pickle.dumps(small))  # what the count stands for
    assert TRAINERS["xgboost"]({"max_depth": 3, "rounds": 20}, fold, None, ctx).leaves() == 160
    forest = TRAINERS["extra_tree"]({"n_estimators": 10}, fold, None, ctx)
    assert 10 < forest.leaves() <= 10 * 600
    assert TRAINERS["linear"]({}, fold, None, ctx).leaves() == 0


@pytest.mark.parametrize("family", ["lgbm", "xgboost"])
def test_boosters_stop_at_the_deadline_with_the_rounds_they_have(family: str) -> None:
    X = _frame(20_000, seed=2)
    y = (X["x0"] + np.random.default_rng(0).normal(size=20_000) > 0).astype(int).to_numpy()
    config = {"learning_rate": 0.001, "eta": 0.001, "num_leaves": 255, "max_depth": 10}
    started = time.monotonic()
    fitted = TRAINERS[family](config, Fold(X, y), None, _ctx("classification", 2, seconds=1.0))
    assert time.monotonic() - started < 4
    assert fitted.rounds is not None and 0 < fitted.rounds < 10_000


def test_hgb_past_its_deadline_stops_after_a_small_first_chunk() -> None:
    """A chunk of iterations can take seconds each on a wide, many-class table: the first is
    small, so a trial that is out of time stops after it."""
    from training.pipeline.learners import HGB_CHUNK, HGB_FIRST_CHUNK

    X = _frame(1000, seed=4)
    y = (X["x0"] + np.random.default_rng(1).normal(size=1000) > 0).astype(int).to_numpy()
    config = {"learning_rate": 0.01, "early_stopping": False}
    fitted = TRAINERS["hgb"](config, Fold(X, y), None, _ctx("classification", 2, seconds=-1.0))
    assert HGB_FIRST_CHUNK < HGB_CHUNK
    assert fitted.model.n_iter_ == HGB_FIRST_CHUNK  # type: ignore[attr-defined]


def test_boosters_stop_early_on_the_validation_rows() -> None:
    X = _frame(2000, seed=3)
    y = (X["x0"] > 0).astype(int).to_numpy()
    fitted = TRAINERS["lgbm"](
        {"learning_rate": 0.3},
        Fold(X[:1500], y[:1500]),
        Fold(X[1500:], y[1500:]),
        _ctx("classification", 2),
    )
    assert fitted.rounds is not None and fitted.rounds < 500


@pytest.mark.parametrize("family", sorted(TRAINERS))
def test_a_refit_configuration_keeps_the_size_found_on_validation(family: str) -> None:
    X = _frame(800, seed=4)
    y = (X["x0"] > 0).astype(int).to_numpy()
    fitted = TRAINERS[family](
        {}, Fold(X[:600], y[:600]), Fold(X[600:], y[600:]), _ctx("classification", 2)
    )
    config = fitted.sized_config({}, 1.25)
    if family in ("lgbm", "xgboost"):
        assert fitted.rounds is not None
        assert config["rounds"] == int(np.ceil(fitted.rounds * 1.25))
    elif family == "hgb":
        assert config["max_iter"] >= 1 and config["early_stopping"] is False
    else:
        assert config == {}
    refit = TRAINERS[family](config, Fold(X, y), None, _ctx("classification", 2))
    assert refit.predict(X.head(3)).shape == (3, 2)


@pytest.mark.parametrize("family", ["extra_tree", "rf"])
def test_forests_keep_their_leaves_under_the_cap(
    family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forest's size (memory, the saved model, the time to save it) grows with its leaves."""
    from training.pipeline import learners

    monkeypatch.setattr(learners, "FOREST_MAX_LEAVES", 6_000)
    X = _frame(2_000, seed=4)
    y = X["x0"].to_numpy() + np.random.default_rng(1).normal(size=2_000)
    fitted = TRAINERS[family]({"n_estimators": 60}, Fold(X, y), None, _ctx("regression", 0))
    trees = fitted.model.estimators_
    assert trees and all(t.tree_.n_leaves <= 6_000 // 60 for t in trees)
    # Unbounded, these trees would have a leaf for almost every row.
    assert np.corrcoef(fitted.predict(X), y)[0, 1] > 0.5
