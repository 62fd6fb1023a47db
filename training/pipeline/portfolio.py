"""Where the search starts and where it may go: known-good configurations, then search spaces.

The portfolio is ordered so that a good model exists within the first seconds (a LightGBM
with early stopping and a default HistGradientBoosting are strong on most tables), then the
other families at sensible sizes, then variants that suit particular tables: many-level
categories, small noisy tables, wide tables. After the portfolio, FLAML's CFO searches
around the best configurations of the families that are winning (see `search.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Start:
    family: str
    config: dict[str, Any] = field(default_factory=dict)


PORTFOLIO: tuple[Start, ...] = (
    Start("lgbm", {"learning_rate": 0.1, "num_leaves": 31, "feature_fraction": 0.9}),
    # Tried only where a category has many levels (see target_encoding.py).
    Start(
        "lgbm",
        {"learning_rate": 0.1, "num_leaves": 31, "feature_fraction": 0.9, "target_encoding": True},
    ),
    Start("hgb", {}),  # scikit-learn's defaults, early-stopped on the fold's validation rows
    Start("extra_tree", {"n_estimators": 300}),
    Start("xgboost", {"eta": 0.1, "max_depth": 6, "subsample": 0.8, "colsample_bytree": 0.8}),
    Start("linear", {}),
    Start("knn", {"n_neighbors": 10, "weights": "distance"}),
    Start(
        "lgbm",
        {
            "learning_rate": 0.05,
            "num_leaves": 127,
            "min_data_in_leaf": 5,
            "feature_fraction": 0.7,
            "bagging_fraction": 0.8,
            "lambda_l2": 1.0,
        },
    ),
    Start("rf", {"n_estimators": 300}),
    Start(
        "lgbm",  # small, regularised trees: small or noisy tables
        {
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_data_in_leaf": 10,
            "feature_fraction": 0.5,
            "lambda_l2": 5.0,
            "extra_trees": True,
        },
    ),
    Start(
        "xgboost",
        {
            "eta": 0.05,
            "max_depth": 8,
            "min_child_weight": 2.0,
            "subsample": 0.8,
            "colsample_bytree": 0.6,
        },
    ),
    Start(
        "lgbm",  # many-level categories: let rare levels form their own groups
        {
            "learning_rate": 0.05,
            "num_leaves": 63,
            "min_data_in_leaf": 3,
            "cat_smooth": 1.0,
            "cat_l2": 1.0,
            "min_data_per_group": 3,
            "max_cat_threshold": 128,
            "feature_fraction": 0.8,
        },
    ),
    Start("extra_tree", {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 2}),
    Start("extra_tree", {"n_estimators": 300, "target_encoding": True}),
    Start("xgboost", {"eta": 0.1, "max_depth": 6, "subsample": 0.8, "target_encoding": True}),
    Start(
        "hgb",
        {"learning_rate": 0.05, "max_iter": 1000, "max_leaf_nodes": 63, "l2_regularization": 1.0},
    ),
    Start("linear", {"C": 0.1, "alpha": 10.0}),
)


def search_space(family: str, columns: int = 0) -> dict[str, Any] | None:
    """FLAML tune's space for a family, or None where the portfolio is all it gets. On a wide
    table the column share of boosted trees reaches down to where the portfolio starts."""
    from flaml import tune

    least_share = min(0.3, column_share(columns)) if columns >= WIDE_COLUMNS else 0.3
    if family == "lgbm":
        return {
            "learning_rate": tune.loguniform(0.01, 0.3),
            "num_leaves": tune.lograndint(4, 256),
            "min_data_in_leaf": tune.lograndint(2, 100),
            "feature_fraction": tune.uniform(least_share, 1.0),
            "bagging_fraction": tune.uniform(0.5, 1.0),
            "lambda_l2": tune.loguniform(1e-3, 30.0),
            "cat_smooth": tune.loguniform(1.0, 50.0),
        }
    if family == "xgboost":
        return {
            "eta": tune.loguniform(0.01, 0.3),
            "max_depth": tune.randint(2, 11),
            "min_child_weight": tune.loguniform(0.5, 50.0),
            "subsample": tune.uniform(0.5, 1.0),
            "colsample_bytree": tune.uniform(least_share, 1.0),
            "lambda": tune.loguniform(1e-3, 30.0),
        }
    if family in ("extra_tree", "rf"):
        return {
            "n_estimators": tune.choice([300]),
            "max_features": tune.uniform(0.05, 1.0),
            "min_samples_leaf": tune.lograndint(1, 32),
        }
    return None


# Where CFO starts when a family has no evaluated point in its space yet (cheap corners).
LOW_COST: dict[str, dict[str, Any]] = {
    "lgbm": {"num_leaves": 4, "min_data_in_leaf": 20},
    "xgboost": {"max_depth": 2},
    "extra_tree": {"min_samples_leaf": 32},
    "rf": {"min_samples_leaf": 32},
}


WIDE_COLUMNS = 200


def column_share(columns: int) -> float:
    """The share of a wide table's columns each boosted tree looks at: about 80 columns, at
    least a tenth, at most half. On 784 pixel columns (5,000 rows, 10 classes) LightGBM with
    a tenth trained in 4 s to 0.94 accuracy, with half in 11 s to 0.92."""
    return max(0.1, min(0.5, 80 / max(columns, 1)))


def for_table(family: str, config: dict[str, Any], columns: int) -> dict[str, Any]:
    """A portfolio configuration adjusted to the table's shape: on hundreds of columns each
    tree looks at a share of them and histograms are coarser, so a trial costs a fraction."""
    if columns < WIDE_COLUMNS:
        return config
    share = column_share(columns)
    if family == "lgbm":
        return {
            **config,
            "feature_fraction": min(config.get("feature_fraction", 1.0), share),
            "max_bin": 63,
        }
    if family == "xgboost":
        return {
            **config,
            "colsample_bytree": min(config.get("colsample_bytree", 1.0), share),
            "max_bin": 64,
        }
    if family == "hgb":
        return {**config, "max_features": 0.5, "max_bins": 63}
    return config
