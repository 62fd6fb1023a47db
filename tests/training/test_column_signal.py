"""Evidence for identifier-looking columns and leaks: one column against the target."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.pipeline.column_signal import column_signal, suspected_leaks
from training.pipeline.target import prepare_target


def _binary_target(y: np.ndarray):
    frame = pd.DataFrame({"y": np.where(y == 1, "yes", "no")})
    return prepare_target(frame, "y", "auto")


def test_an_id_whose_ranges_encode_a_group_has_signal_and_a_random_id_has_none() -> None:
    rng = np.random.default_rng(0)
    rows = 3000
    account = rng.choice(np.arange(100_000, 200_000), size=rows, replace=False)
    region = account // 10_000  # ten ranges of account numbers, one per region
    rate = np.linspace(0.05, 0.9, 10)[region - 10]
    y = (rng.random(rows) < rate).astype(int)
    target = _binary_target(y)
    grouped = column_signal(pd.Series(account), target)
    assert grouped.metric == "roc_auc" and grouped.has_signal and grouped.score > 0.75
    noise = pd.Series(rng.choice(np.arange(10**6), size=rows, replace=False))
    assert not column_signal(noise, target).has_signal


def test_a_column_that_gives_the_answer_away_is_flagged_and_an_honest_one_is_not() -> None:
    rng = np.random.default_rng(1)
    rows = 2000
    y = rng.integers(0, 2, rows)
    frame = pd.DataFrame(
        {
            "refund_issued": np.where(y == 1, "refund", "none"),  # known only afterwards
            "tenure": rng.normal(size=rows) + 0.5 * y,
            "spend": rng.normal(size=rows),
        }
    )
    leaks = suspected_leaks(frame, _binary_target(y), keep=set())
    assert [leak.column for leak in leaks] == ["refund_issued"]
    assert leaks[0].metric == "roc_auc" and leaks[0].score > 0.99


def test_a_regression_leak_is_found_by_its_r2() -> None:
    rng = np.random.default_rng(2)
    price = rng.gamma(3, 100, size=1500)
    frame = pd.DataFrame(
        {"price_with_tax": price * 1.2, "size": price / 10 + rng.normal(scale=20, size=1500)}
    )
    target = prepare_target(pd.DataFrame({"price": price}), "price", "regression")
    leaks = suspected_leaks(frame, target, keep=set())
    assert [(leak.column, leak.metric) for leak in leaks] == [("price_with_tax", "r2")]
