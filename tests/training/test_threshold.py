"""The decision threshold of two-class models: when it is chosen, by what, and its sentence."""

from __future__ import annotations

import numpy as np

from training.pipeline.threshold import choose_threshold


def _imbalanced(rows: int = 4000, share: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < share).astype(int)
    score = 1 / (1 + np.exp(-(2.5 * y + rng.normal(size=rows) - 3)))  # rare class scores low
    return y, np.column_stack([1 - score, score])


def test_an_imbalanced_target_gets_the_cut_that_maximises_the_rare_class_f1() -> None:
    y, proba = _imbalanced()
    threshold = choose_threshold("roc_auc", ["no", "yes"], y, proba)
    assert threshold is not None
    assert threshold.positive_class == "yes"
    assert threshold.value < 0.5
    assert threshold.criterion == "F1 of yes"
    assert "rarer class" in threshold.reason and "0.50" in threshold.reason
    from sklearn.metrics import f1_score

    at_cut = f1_score(y, proba[:, 1] >= threshold.value)
    assert at_cut > f1_score(y, proba[:, 1] >= 0.5)


def test_a_balanced_target_keeps_the_usual_cut() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    p = 1 / (1 + np.exp(-(y - 0.5) * 2 + rng.normal(size=2000)))
    assert choose_threshold("roc_auc", ["a", "b"], y, np.column_stack([1 - p, p])) is None


def test_a_label_metric_asked_for_is_the_criterion() -> None:
    y, proba = _imbalanced(share=0.1)
    threshold = choose_threshold("accuracy", ["no", "yes"], y, proba)
    assert threshold is not None
    assert threshold.criterion == "accuracy"


def test_more_than_two_classes_have_no_threshold() -> None:
    y = np.repeat([0, 1, 2], 50)
    proba = np.full((150, 3), 1 / 3)
    assert choose_threshold("accuracy", ["a", "b", "c"], y, proba) is None
