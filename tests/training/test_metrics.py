import numpy as np
import pandas as pd
import pytest

from training.errors import InputError
from training.pipeline.metrics import choose_metric, holdout_scores, score_from_loss


@pytest.mark.parametrize(
    ("task", "classes", "metric"),
    [("classification", 2, "roc_auc"), ("classification", 3, "log_loss"), ("regression", 0, "r2")],
)
def test_default_metric_per_task(task: str, classes: int, metric: str) -> None:
    assert choose_metric("auto", task, classes) == metric


def test_metric_aliases_and_multiclass_auc() -> None:
    assert choose_metric("AUC", "classification", 2) == "roc_auc"
    assert choose_metric("auc", "classification", 4) == "roc_auc_ovr"
    assert choose_metric("f1-macro", "classification", 4) == "macro_f1"


def test_metric_that_does_not_fit_the_task() -> None:
    with pytest.raises(InputError) as caught:
        choose_metric("rmse", "classification", 2)
    assert caught.value.code == "unknown_metric"
    assert "roc_auc" in caught.value.hint


def test_scores_from_flaml_losses() -> None:
    assert score_from_loss("roc_auc", 0.1) == pytest.approx(0.9)
    assert score_from_loss("log_loss", 0.3) == pytest.approx(0.3)


def test_holdout_scores_binary_and_regression() -> None:
    y = pd.Series(["no", "yes", "yes", "no"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.6, 0.4]])
    scores = holdout_scores(
        "classification", y, np.array(["no", "yes", "yes", "no"]), proba, ["no", "yes"]
    )
    assert scores["accuracy"] == 1.0
    assert scores["roc_auc"] == 1.0
    reg = holdout_scores(
        "regression", pd.Series([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]), None, []
    )
    assert reg["mae"] == pytest.approx(1 / 3)
    assert set(reg) >= {"r2", "rmse", "mae"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_losses_equal_scikit_learn(seed: int) -> None:
    """The search computes AUC and log loss itself for speed: they must be scikit-learn's."""
    from sklearn import metrics as m

    from training.pipeline.metrics import validation_loss

    rng = np.random.default_rng(seed)
    y2 = rng.integers(0, 2, 300)
    # Rounded scores: many ties, which the rank statistic must count half like scikit-learn.
    p1 = np.round(rng.random(300), 1)
    binary = np.column_stack([1 - p1, p1])
    assert validation_loss("roc_auc", y2, binary) == pytest.approx(
        1 - m.roc_auc_score(y2, p1), abs=1e-12
    )
    y3 = rng.integers(0, 3, 300)
    raw = np.round(rng.random((300, 3)), 2) + 0.01
    proba = raw / raw.sum(axis=1, keepdims=True)
    assert validation_loss("roc_auc_ovr", y3, proba) == pytest.approx(
        1 - m.roc_auc_score(y3, proba, multi_class="ovr"), abs=1e-12
    )
    assert validation_loss("log_loss", y3, proba) == pytest.approx(
        m.log_loss(y3, proba, labels=[0, 1, 2]), abs=1e-12
    )


# ---- metrics computed by hand for speed, checked against scikit-learn -------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_auc_equals_scikit_learn(seed: int) -> None:
    from sklearn.metrics import roc_auc_score

    from training.pipeline.metrics import binary_auc

    rng = np.random.default_rng(seed)
    positive = rng.random(500) < 0.3
    score = np.round(rng.random(500) + 0.3 * positive, 1)  # ties, which count half
    assert binary_auc(positive, score) == pytest.approx(roc_auc_score(positive, score), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_column_signal_r_squared_equals_scikit_learn(seed: int) -> None:
    from sklearn.metrics import r2_score

    from training.pipeline.column_signal import r_squared

    rng = np.random.default_rng(seed)
    y = rng.normal(size=300)
    predicted = y + rng.normal(scale=0.7, size=300)
    assert r_squared(y, predicted) == pytest.approx(r2_score(y, predicted), abs=1e-12)


def test_confusion_counts_equal_scikit_learn() -> None:
    from sklearn.metrics import confusion_matrix

    from training.outputs.charts.figures import OTHER_LABEL, confusion_counts

    rng = np.random.default_rng(0)
    labels = ["a", "b", "c", "d"]
    truth = pd.Series(rng.choice(labels, 1_000))
    pred = pd.Series(np.where(rng.random(1_000) < 0.6, truth, rng.choice(labels, 1_000)))
    counts, shown = confusion_counts(truth, pred, labels)
    assert shown == labels
    assert (counts == confusion_matrix(truth, pred, labels=labels)).all()
    # Classes left out of the chart are pooled into one row and column, the rest unchanged.
    counts, shown = confusion_counts(truth, pred, ["b", "c"])
    assert shown == ["b", "c", OTHER_LABEL]
    pooled = np.where(truth.isin(["b", "c"]), truth, OTHER_LABEL)
    pooled_pred = np.where(pred.isin(["b", "c"]), pred, OTHER_LABEL)
    assert (counts == confusion_matrix(pooled, pooled_pred, labels=shown)).all()
