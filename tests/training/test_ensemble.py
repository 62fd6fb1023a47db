"""Greedy ensemble selection and the honest check that decides whether to use it."""

from __future__ import annotations

import numpy as np

from training.pipeline.ensemble import ensemble_beats_best, greedy_selection
from training.pipeline.metrics import validation_loss


def _mse(y: np.ndarray, p: np.ndarray) -> float:
    return validation_loss("mse", y, p)


def test_two_models_with_independent_errors_are_blended_half_and_half() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    a = y + rng.normal(scale=0.5, size=2000)
    b = y + rng.normal(scale=0.5, size=2000)
    weights, loss = greedy_selection([a, b], y, _mse)
    assert abs(sum(weights) - 1) < 1e-9
    assert 0.35 < weights[0] < 0.65
    assert loss < min(_mse(y, a), _mse(y, b)) * 0.7  # averaging halves independent noise


def test_a_useless_model_gets_no_weight() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=1000)
    good = y + rng.normal(scale=0.3, size=1000)
    noise = rng.normal(scale=5.0, size=1000)
    weights, _ = greedy_selection([noise, good], y, _mse)
    assert weights == [0.0, 1.0]


def test_the_honest_check_prefers_the_single_model_when_blending_does_not_help() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=1000)
    good = y + rng.normal(scale=0.3, size=1000)
    worse = good + rng.normal(scale=1.0, size=1000)  # the same errors, and more
    wins, _, _ = ensemble_beats_best([good, worse], y, _mse, seed=0)
    assert not wins
    independent = y + rng.normal(scale=0.3, size=1000)
    wins, ensemble, single = ensemble_beats_best([good, independent], y, _mse, seed=0)
    assert wins and ensemble < single


def test_selection_works_on_class_probabilities_with_the_search_metric() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=1500)
    score_a = y + rng.normal(scale=0.8, size=1500)
    score_b = y + rng.normal(scale=0.8, size=1500)

    def proba(score: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-(score - 0.5) * 3))
        return np.column_stack([1 - p, p])

    def auc_loss(t: np.ndarray, p: np.ndarray) -> float:
        return validation_loss("roc_auc", t, p)

    weights, loss = greedy_selection([proba(score_a), proba(score_b)], y, auc_loss)
    assert min(weights) > 0.2
    assert loss < min(auc_loss(y, proba(score_a)), auc_loss(y, proba(score_b)))
