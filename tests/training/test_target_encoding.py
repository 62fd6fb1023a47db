"""Out-of-fold target encoding of many-level categories."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from training.pipeline.learners import FitContext, Fold, train
from training.pipeline.target_encoding import TargetEncoder, high_cardinality_columns


def _reps(rows: int = 6000, reps: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A sales rep (each seen a few times) whose own level sets the deal value."""
    rng = np.random.default_rng(seed)
    names = [f"rep {i}" for i in range(reps)]
    level = dict(zip(names, rng.normal(100, 30, reps), strict=True))
    chosen = rng.choice(names, rows)
    frame = pd.DataFrame(
        {
            "rep": pd.Categorical(chosen, categories=names),
            "units": rng.integers(1, 50, rows).astype(float),
            "region": pd.Categorical(rng.choice(["n", "s"], rows)),
        }
    )
    y = np.array([level[c] for c in chosen]) + rng.normal(scale=5, size=rows)
    return frame, y


def test_only_many_level_categories_are_encoded() -> None:
    frame, _ = _reps()
    assert high_cardinality_columns(frame) == ["rep"]


def test_training_rows_are_encoded_without_their_own_target() -> None:
    """A level seen once gets the overall mean from the other folds, not its own value."""
    frame = pd.DataFrame({"id": pd.Categorical([f"x{i}" for i in range(200)])})
    y = np.arange(200, dtype=float)
    encoded = TargetEncoder.out_of_fold(frame, y, "regression", 0, seed=0)
    own_value_correlation = np.corrcoef(encoded.iloc[:, 0], y)[0, 1]
    assert abs(own_value_correlation) < 0.3
    in_sample = TargetEncoder.fit(frame, y, "regression", 0).transform(frame)
    assert np.corrcoef(in_sample.iloc[:, 0], y)[0, 1] > 0.9  # what would have leaked


def test_unseen_and_missing_levels_get_the_overall_mean() -> None:
    frame, y = _reps(rows=600, reps=100)
    encoder = TargetEncoder.fit(frame, y, "regression", 0)
    new = pd.DataFrame(
        {"rep": pd.Categorical([None, "rep 1"], categories=frame["rep"].cat.categories)}
    )
    values = encoder.transform(new).iloc[:, 0].to_numpy()
    assert abs(values[0] - y.mean()) < 1e-6


@pytest.mark.slow
def test_a_learner_with_target_encoding_finds_the_entity_signal() -> None:
    frame, y = _reps()
    ctx = FitContext("regression", 0, 1, 0, time.monotonic() + 60)
    split = 5000
    fold, valid = Fold(frame[:split], y[:split]), Fold(frame[split:], y[split:])
    encoded = train("extra_tree", {"target_encoding": True}, fold, valid, ctx)
    plain = train("extra_tree", {}, fold, valid, ctx)

    def r2(model) -> float:
        predicted = model.predict(valid.X)
        return 1 - ((valid.y - predicted) ** 2).sum() / ((valid.y - valid.y.mean()) ** 2).sum()

    assert r2(encoded) > 0.6
    assert r2(encoded) > r2(plain) + 0.2
    importances = encoded.importances(list(frame.columns))
    assert importances is not None and max(importances, key=importances.get) == "rep"
