"""The portfolio's configurations fitted to a table's shape."""

from __future__ import annotations

import pytest

from training.pipeline.portfolio import PORTFOLIO, column_share, for_table, search_space


def test_narrow_tables_keep_the_portfolio_as_it_is() -> None:
    for start in PORTFOLIO:
        assert for_table(start.family, start.config, 80) == start.config


@pytest.mark.parametrize(("columns", "share"), [(200, 0.4), (400, 0.2), (784, 0.1), (5000, 0.1)])
def test_boosted_trees_on_wide_tables_look_at_about_80_columns_each(
    columns: int, share: float
) -> None:
    assert column_share(columns) == pytest.approx(share, abs=0.005)
    for start in PORTFOLIO:
        config = for_table(start.family, start.config, columns)
        if start.family == "lgbm":
            assert config["feature_fraction"] <= share + 0.005
        if start.family == "xgboost":
            assert config["colsample_bytree"] <= share + 0.005


def test_the_search_space_of_a_wide_table_holds_its_portfolio_starts() -> None:
    space = search_space("lgbm", 784)
    assert space is not None
    assert space["feature_fraction"].lower <= for_table("lgbm", {}, 784)["feature_fraction"]
    narrow = search_space("lgbm", 30)
    assert narrow is not None
    assert narrow["feature_fraction"].lower == pytest.approx(0.3)
