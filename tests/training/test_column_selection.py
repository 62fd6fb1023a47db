"""A trial on the columns that carry the gain: which columns, the model trained on them, and
the search trying it on a table where most columns are noise."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.pipeline.column_selection import MIN_COLUMNS, informative_columns
from training.pipeline.learners import FitContext, Fitted, Fold, train


class _Gains(Fitted):
    def __init__(self, gains: dict[str, float]) -> None:
        self.gains = gains

    def importances(self, names: list[str]) -> dict[str, float] | None:
        return {n: self.gains.get(n, 0.0) for n in names}


NAMES = [f"c{i}" for i in range(30)]


def test_the_columns_with_at_least_an_even_share_of_the_gain_are_kept_in_table_order() -> None:
    folds = [
        _Gains({**{n: 0.2 for n in NAMES}, "c7": 50.0, "c2": 30.0, "c20": 10.0}),
        _Gains({**{n: 0.3 for n in NAMES}, "c7": 40.0, "c2": 35.0, "c20": 12.0}),
    ]
    assert informative_columns(folds, NAMES) == ["c2", "c7", "c20"]


def test_no_subset_where_most_columns_carry_gain_few_columns_or_no_importances() -> None:
    even = [_Gains({n: 1.0 + (i % 2) * 0.01 for i, n in enumerate(NAMES)})]
    assert informative_columns(even, NAMES) is None  # half the columns with half the gain
    few = NAMES[: MIN_COLUMNS - 1]
    assert informative_columns([_Gains({"c1": 9.0})], few) is None
    assert informative_columns([Fitted()], NAMES) is None
    assert informative_columns([], NAMES) is None


def _noisy_table(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Four columns that drive the target, 36 of noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 40)), columns=[f"x{i:02d}" for i in range(40)])
    y = (
        3 * np.sin(1.5 * X["x00"])
        + 1.2 * X["x01"] ** 2
        + 2 * (X["x02"] > 0.5)
        + X["x03"]
        + rng.normal(0, 1, rows)
    )
    return X, y.to_numpy()


@pytest.mark.slow
def test_a_model_on_some_columns_predicts_whole_rows_and_gives_the_rest_no_importance() -> None:
    X, y = _noisy_table(600)
    ctx = FitContext("regression", 0, 1, 0, time.monotonic() + 30)
    kept = ["x00", "x01", "x02", "x03"]
    model = train("lgbm", {"learning_rate": 0.1, "columns": kept}, Fold(X, y), None, ctx)
    shuffled = X.copy()
    shuffled[[c for c in X.columns if c not in kept]] = 0.0  # the other columns do not count
    assert np.allclose(model.predict(X), model.predict(shuffled))
    importances = model.importances(list(X.columns))
    assert importances is not None and set(importances) == set(X.columns)
    assert all(importances[c] == 0.0 for c in X.columns if c not in kept)
    assert importances["x00"] > 0
    refit = model.sized_config({"learning_rate": 0.1, "columns": kept}, 1.25)
    assert refit["columns"] == kept and refit["rounds"] >= 1


@pytest.mark.slow
def test_the_search_tries_the_informative_columns_and_keeps_them_where_they_validate_better(
    tmp_path: Path,
) -> None:
    from training.pipeline.search import ConvergencePolicy, Search

    X, y = _noisy_table(1200)
    log = tmp_path / "log.jsonl"
    search = Search(
        task="regression",
        metric="r2",
        budget_s=20,
        n_jobs=1,
        log_path=log,
        policy=ConvergencePolicy(enabled=False),
    )
    outcome = search.run(X, pd.Series(y))
    trials = [json.loads(line) for line in log.read_text().splitlines()]
    assert trials[0]["learner"] == "lgbm" and "columns" not in trials[0]["config"]
    subset = trials[1]
    assert subset["learner"] == "lgbm"
    assert {"x00", "x01", "x02", "x03"} <= set(subset["config"]["columns"]) < set(X.columns)
    # On this table the subset validates better than the same configuration on all columns,
    # so the rest of the portfolio learns from those columns too.
    assert subset["validation_loss"] < trials[0]["validation_loss"]
    assert trials[2]["learner"] == "hgb"
    assert trials[2]["config"]["columns"] == subset["config"]["columns"]
    assert outcome.predictor is not None
    assert outcome.predictor.predict_raw(X).shape == (len(X),)
