"""The model families the search trains, each behind one small interface.

`fit(config, train, valid, ctx)` trains one model on one fold and returns a `Fitted` that
predicts raw scores: class probabilities (one column per class, all classes of the task even
when a fold lacked some) or regression values. The boosters stop early on the fold's
validation rows and at the trial's deadline, so every family is tried at a sensible size
instead of from a tiny first configuration.

Inputs are what `FeaturePlan.transform` makes: float columns and pandas categoricals whose
categories are pinned by the plan (so codes mean the same thing in every fold and file).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract.tasks import TaskName

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Categorical columns with more levels than this are given to histogram models as ordered
# codes instead of categories (sklearn's HGB accepts at most 255 bins a feature).
HGB_MAX_CATEGORIES = 250
# HGB grows in chunks of iterations between deadline checks: a small first chunk measures
# an iteration's cost (10 trees a round on a 10-class table of 784 columns: seconds each on a
# busy machine), then chunks that fit the time left, at most HGB_CHUNK.
HGB_FIRST_CHUNK = 5
HGB_CHUNK = 25
LINEAR_MAX_CATEGORIES = 50
FOREST_CHUNK = 50  # large forests grow in chunks so a deadline can stop them between chunks
FOREST_CHUNK_CELLS = 50_000  # below this many cells a forest grows in one go
FOREST_FIRST_CHUNK = 10
FOREST_MIN_TREES = 60
FOREST_BAG_SHARE = 0.4  # of the trees, for each of the five averaged fold models
FOREST_MAX_ROWS = 100_000  # forests on more rows than this learn from a sample of them
# Leaves across all the trees of a final model (every fold's forest): a full-depth forest on
# 12,000 rows was 1 GB in memory and took 18 s to save. About 100 bytes a leaf saved.
FOREST_MAX_LEAVES = 1_000_000
MAX_BOOSTING_ROUNDS = 10_000
PARALLEL_MIN_CELLS = 1_000_000


@dataclass(frozen=True)
class FitContext:
    task: TaskName
    n_classes: int  # 0 for regression
    n_jobs: int
    seed: int
    deadline: float  # time.monotonic() after which training stops with what it has
    stop: threading.Event | None = None  # set when the whole search is asked to stop
    folds: int = 1  # how many fold models will be averaged

    def expired(self) -> bool:
        return time.monotonic() > self.deadline or (self.stop is not None and self.stop.is_set())


@dataclass
class Fold:
    X: pd.DataFrame
    y: np.ndarray  # classification: integer class codes 0..k-1; regression: floats


class Fitted:
    """One trained model of one fold."""

    rounds: int | None = None  # boosters: the rounds kept after early stopping

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def importances(self, names: list[str]) -> dict[str, float] | None:
        return None

    def leaves(self) -> int:
        """About how many tree leaves the model holds (at most): what saving it costs."""
        return 0

    def sized_config(self, config: dict[str, Any], scale: float) -> dict[str, Any]:
        """The configuration that trains this model's size again, without a validation set,
        on `scale` times as many rows (boosters: the rounds early stopping kept, scaled)."""
        if self.rounds is None:
            return dict(config)
        return {**config, "rounds": max(1, math.ceil(self.rounds * scale))}


# ---- class bookkeeping -------------------------------------------------------------------------


def _present_classes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The classes a fold holds, and its labels renumbered 0..m-1 (XGBoost insists)."""
    import numpy as np

    present, local = np.unique(y, return_inverse=True)
    return present, local


def _full_proba(proba: np.ndarray, present: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities for the classes a fold saw, spread into one column per task class."""
    import numpy as np

    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:  # a binary booster gives P(class 1) only
        proba = np.column_stack([1.0 - proba, proba])
    if len(present) == n_classes:
        return proba
    full = np.zeros((proba.shape[0], n_classes))
    full[:, present] = proba
    return full


def _patience(learning_rate: float) -> int:
    """Rounds without improvement before stopping: slow learners need longer to show it."""
    return int(max(15, min(100, 2.5 / max(learning_rate, 1e-3))))


def booster_threads(X: pd.DataFrame, n_jobs: int) -> int:
    """Threads for one fit: on small tables a second thread costs more in synchronisation
    than it saves (and the EDA report is using the other core)."""
    return n_jobs if X.shape[0] * max(X.shape[1], 1) >= PARALLEL_MIN_CELLS else 1


# ---- the boosters' labels ----------------------------------------------------------------------


@dataclass
class _BoosterLabels:
    """A fold's labels as the boosters want them: classes renumbered 0..m-1 over the classes
    the fold holds, and validation rows only of those classes (for early stopping)."""

    y: np.ndarray
    present: np.ndarray | None  # None for regression
    valid: Fold | None  # relabelled the same way; None without usable validation rows

    @property
    def classes(self) -> np.ndarray:
        return self.present if self.present is not None else _no_classes()

    def objective(self, binary: str, multiclass: str) -> dict[str, Any]:
        """The booster's parameters for these classes (its names for the two objectives);
        none for regression."""
        if self.present is None:
            return {}
        if len(self.present) > 2:
            return {"objective": multiclass, "num_class": len(self.present)}
        return {"objective": binary}

    @classmethod
    def of(cls, train: Fold, valid: Fold | None, ctx: FitContext) -> _BoosterLabels:
        present, y = (None, train.y)
        if ctx.task == "classification":
            present, y = _present_classes(train.y)
            if valid is not None:
                valid = _only_classes(valid, present)
                valid = Fold(valid.X, _relabel(valid.y, present))
        if valid is not None and not len(valid.y):
            valid = None
        return cls(y, present, valid)


class _BoosterFitted(Fitted):
    """A booster's model: predictions from the rounds early stopping kept, probabilities over
    every class of the task (the fold may have lacked some)."""

    def __init__(self, booster: Any, present: np.ndarray, ctx: FitContext) -> None:
        self.booster = booster
        self.present = present
        self.task = ctx.task
        self.n_classes = ctx.n_classes
        self.rounds = self._rounds_kept(booster)

    @staticmethod
    def _rounds_kept(booster: Any) -> int:
        raise NotImplementedError

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's own predictions: values, or probabilities of the fold's classes."""
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raw = self._raw(X)
        if self.task == "regression":
            return raw
        return _full_proba(raw, self.present, self.n_classes)


# ---- LightGBM ----------------------------------------------------------------------------------


class _LightGBMFitted(_BoosterFitted):
    @staticmethod
    def _rounds_kept(booster: Any) -> int:
        return booster.best_iteration or booster.current_iteration()

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(X, num_iteration=self.rounds)

    def importances(self, names: list[str]) -> dict[str, float] | None:
        gains = self.booster.feature_importance(importance_type="gain")
        return dict(zip(names, (float(g) for g in gains), strict=False))

    def leaves(self) -> int:
        return int(self.booster.num_trees()) * int(self.booster.params.get("num_leaves", 31))


def fit_lightgbm(
    config: dict[str, Any], train: Fold, valid: Fold | None, ctx: FitContext
) -> Fitted:
    import lightgbm as lgb

    params, rounds = _lightgbm_params(config, train, ctx)
    labels = _BoosterLabels.of(train, valid, ctx)
    params.update(labels.objective("binary", "multiclass"))
    dtrain = lgb.Dataset(train.X, label=labels.y, free_raw_data=True)
    callbacks: list[Callable[..., None]] = [_lightgbm_deadline(ctx)]
    valid_sets = []
    if labels.valid is not None:
        valid_sets = [lgb.Dataset(labels.valid.X, label=labels.valid.y, reference=dtrain)]
        callbacks.append(
            lgb.early_stopping(
                _patience(params["learning_rate"]), first_metric_only=True, verbose=False
            )
        )
    booster = lgb.train(
        params, dtrain, num_boost_round=rounds, valid_sets=valid_sets, callbacks=callbacks
    )
    return _LightGBMFitted(booster, labels.classes, ctx)


def _lightgbm_params(config: dict[str, Any], train: Fold, ctx: FitContext) -> tuple[dict, int]:
    params: dict[str, Any] = {
        "objective": "regression",
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "verbosity": -1,
        "num_threads": booster_threads(train.X, ctx.n_jobs),
        "seed": ctx.seed,
        "deterministic": True,
        # Many-level categories: LightGBM's defaults group levels seen under 100 times.
        "min_data_per_group": 20,
        "max_cat_threshold": 64,
    }
    params.update({k: v for k, v in config.items() if k != "rounds"})
    if params.get("bagging_fraction", 1.0) < 1.0:
        params.setdefault("bagging_freq", 1)
    # Leaves that cannot be filled on a small table only cost time.
    params["min_data_in_leaf"] = int(min(params["min_data_in_leaf"], max(2, len(train.y) // 10)))
    params["num_leaves"] = int(params["num_leaves"])
    return params, int(config.get("rounds", MAX_BOOSTING_ROUNDS))


def _lightgbm_deadline(ctx: FitContext) -> Callable[..., None]:
    import lightgbm as lgb

    def stop_at_deadline(env: Any) -> None:
        if ctx.expired():
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

    stop_at_deadline.order = 40  # type: ignore[attr-defined]  # after early stopping's check
    return stop_at_deadline


# ---- XGBoost -----------------------------------------------------------------------------------


class _XGBoostFitted(_BoosterFitted):
    @staticmethod
    def _rounds_kept(booster: Any) -> int:
        best = getattr(booster, "best_iteration", None)
        return (best + 1) if best is not None else booster.num_boosted_rounds()

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        import xgboost as xgb

        matrix = xgb.DMatrix(X, enable_categorical=True)
        return self.booster.predict(matrix, iteration_range=(0, self.rounds))

    max_leaves_per_tree = 64

    def importances(self, names: list[str]) -> dict[str, float] | None:
        scores = self.booster.get_score(importance_type="total_gain")
        return {name: float(scores.get(name, 0.0)) for name in names}

    def leaves(self) -> int:
        trees_per_round = len(self.present) if len(self.present) > 2 else 1
        return self.booster.num_boosted_rounds() * trees_per_round * self.max_leaves_per_tree


def fit_xgboost(config: dict[str, Any], train: Fold, valid: Fold | None, ctx: FitContext) -> Fitted:
    import xgboost as xgb

    params: dict[str, Any] = {
        "objective": "reg:squarederror",
        "eta": 0.1,
        "max_depth": 6,
        "tree_method": "hist",
        "nthread": booster_threads(train.X, ctx.n_jobs),
        "seed": ctx.seed,
        "verbosity": 0,
        "max_cat_to_onehot": 4,
    }
    params.update({k: v for k, v in config.items() if k != "rounds"})
    labels = _BoosterLabels.of(train, valid, ctx)
    params.update(labels.objective("binary:logistic", "multi:softprob"))
    dtrain = xgb.DMatrix(train.X, label=labels.y, enable_categorical=True)
    evals = []
    if labels.valid is not None:
        matrix = xgb.DMatrix(labels.valid.X, label=labels.valid.y, enable_categorical=True)
        evals = [(matrix, "valid")]
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=int(config.get("rounds", MAX_BOOSTING_ROUNDS)),
        evals=evals,
        early_stopping_rounds=_patience(params["eta"]) if evals else None,
        callbacks=[_xgboost_deadline(ctx)],
        verbose_eval=False,
    )
    fitted = _XGBoostFitted(booster, labels.classes, ctx)
    fitted.max_leaves_per_tree = 2 ** min(int(params["max_depth"]), 10)
    return fitted


def _xgboost_deadline(ctx: FitContext) -> Any:
    """A callback that stops boosting at the deadline (XGBoost asks after every round)."""
    import xgboost as xgb

    class StopAtDeadline(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return ctx.expired()

    return StopAtDeadline()


# ---- scikit-learn families ---------------------------------------------------------------------


def _category_codes(X: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as their codes (missing -> NaN): what sklearn's trees can split on.

    The plan orders categories by frequency, so small codes are the common levels."""
    import numpy as np

    out = X.copy()
    for col in _categorical_columns(X):
        codes = X[col].cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        out[col] = codes
    return out


def _categorical_dtype() -> type:
    import pandas as pd

    return pd.CategoricalDtype


def _categorical_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if isinstance(X[c].dtype, _categorical_dtype())]


class _SklearnFitted(Fitted):
    def __init__(self, model: Any, present: np.ndarray, ctx: FitContext, prepare: Callable) -> None:
        self.model = model
        self.present = present
        self.task = ctx.task
        self.n_classes = ctx.n_classes
        self.prepare = prepare

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        prepared = self.prepare(X)
        if self.task == "regression":
            return self.model.predict(prepared)
        return _full_proba(self.model.predict_proba(prepared), self.present, self.n_classes)

    def sized_config(self, config: dict[str, Any], scale: float) -> dict[str, Any]:
        if not type(self.model).__name__.startswith("HistGradientBoosting"):
            return dict(config)
        iterations = int(self.model.n_iter_)
        return {
            **config,
            "max_iter": max(1, math.ceil(iterations * scale)),
            "early_stopping": False,
        }

    def importances(self, names: list[str]) -> dict[str, float] | None:
        values = getattr(self.model, "feature_importances_", None)
        if values is None:
            return None
        return dict(zip(names, (float(v) for v in values), strict=False))

    def leaves(self) -> int:
        trees = getattr(self.model, "estimators_", None)  # forests
        if trees is None:
            return 0
        return sum(int(tree.tree_.n_leaves) for tree in trees if hasattr(tree, "tree_"))


def fit_random_forest(
    config: dict[str, Any], train: Fold, valid: Fold | None, ctx: FitContext
) -> Fitted:
    return _fit_forest("rf", config, train, ctx)


def fit_extra_trees(
    config: dict[str, Any], train: Fold, valid: Fold | None, ctx: FitContext
) -> Fitted:
    return _fit_forest("extra_tree", config, train, ctx)


def _fit_forest(kind: str, config: dict[str, Any], train: Fold, ctx: FitContext) -> Fitted:
    """Random forest or extra trees, grown in chunks until the trees or the time run out."""
    from sklearn import ensemble

    classify = ctx.task == "classification"
    if kind == "rf":
        cls = ensemble.RandomForestClassifier if classify else ensemble.RandomForestRegressor
    else:
        cls = ensemble.ExtraTreesClassifier if classify else ensemble.ExtraTreesRegressor
    target_trees = int(config.get("n_estimators", 300))
    present, y = _present_classes(train.y) if classify else (_no_classes(), train.y)
    model = cls(
        n_estimators=0,
        max_features=config.get("max_features", "sqrt" if classify else 1.0),
        min_samples_leaf=int(config.get("min_samples_leaf", 1)),
        n_jobs=booster_threads(train.X, ctx.n_jobs),
        random_state=ctx.seed,
        warm_start=True,
    )
    X = _category_codes(train.X)
    if len(y) > FOREST_MAX_ROWS:
        import numpy as np

        rows = np.random.default_rng(ctx.seed).choice(len(y), FOREST_MAX_ROWS, replace=False)
        X, y = X.iloc[rows], y[rows]
    if ctx.folds > 1:  # the fold models are averaged: together they make a larger forest
        target_trees = max(FOREST_MIN_TREES, round(target_trees * FOREST_BAG_SHARE))
    leaves = FOREST_MAX_LEAVES // (target_trees * max(ctx.folds, 1))
    if leaves < len(y):  # small tables never reach the cap
        model.set_params(max_leaf_nodes=max(leaves, 2))
    # A first small chunk times one tree; later chunks take what the deadline leaves room for.
    chunk = target_trees if X.size < FOREST_CHUNK_CELLS else FOREST_FIRST_CHUNK
    while model.n_estimators < target_trees:
        started = time.monotonic()
        grown = model.n_estimators
        model.n_estimators = min(target_trees, grown + chunk)
        model.fit(X, y)
        per_tree = (time.monotonic() - started) / max(1, model.n_estimators - grown)
        room = (ctx.deadline - time.monotonic()) / max(per_tree, 1e-6)
        if ctx.expired() or room < 1:
            break
        chunk = int(max(1, min(FOREST_CHUNK, room)))
    return _SklearnFitted(model, present, ctx, _category_codes)


class _HGBPrepare:
    """Categoricals as codes; those with few enough levels are declared categorical to HGB."""

    def __init__(self, X: pd.DataFrame) -> None:
        self.categorical = [
            c for c in _categorical_columns(X) if len(X[c].cat.categories) <= HGB_MAX_CATEGORIES
        ]

    def __call__(self, X: pd.DataFrame) -> pd.DataFrame:
        out = _category_codes(X)
        for col in self.categorical:  # HGB wants categories as small non-negative integers
            out[col] = out[col].where(out[col] < HGB_MAX_CATEGORIES)
        return out


def fit_hgb(config: dict[str, Any], train: Fold, valid: Fold | None, ctx: FitContext) -> Fitted:
    from sklearn import ensemble

    classify = ctx.task == "classification"
    cls = (
        ensemble.HistGradientBoostingClassifier
        if classify
        else ensemble.HistGradientBoostingRegressor
    )
    prepare = _HGBPrepare(train.X)
    present, y = _present_classes(train.y) if classify else (_no_classes(), train.y)
    X = prepare(train.X)
    settings = dict(config)
    fit_kwargs: dict[str, Any] = {}
    if valid is not None and classify:
        valid = _only_classes(valid, present)
    if valid is not None and len(valid.y) >= 10:  # early stopping on the fold's own validation
        valid_y = _relabel(valid.y, present) if classify else valid.y
        fit_kwargs = {"X_val": prepare(valid.X), "y_val": valid_y}
        settings.setdefault("early_stopping", True)
    max_iter = int(settings.pop("max_iter", 100))
    model = cls(
        categorical_features=[X.columns.get_loc(c) for c in prepare.categorical] or None,
        random_state=ctx.seed,
        warm_start=True,
        max_iter=0,
        **settings,
    )
    from threadpoolctl import threadpool_limits

    # HGB has no callback: it grows in chunks of iterations so the deadline can stop it.
    with threadpool_limits(booster_threads(train.X, ctx.n_jobs), user_api="openmp"):
        chunk = HGB_FIRST_CHUNK
        while model.max_iter < max_iter:
            started, before = time.monotonic(), model.max_iter
            model.max_iter = min(max_iter, model.max_iter + chunk)
            model.fit(X, y, **fit_kwargs)
            if model.n_iter_ < model.max_iter or ctx.expired():
                break  # early stopping ended it, or the time did
            per_iteration = (time.monotonic() - started) / max(model.max_iter - before, 1)
            left = ctx.deadline - time.monotonic()
            chunk = max(1, min(HGB_CHUNK, int(left / max(per_iteration, 1e-6))))
    return _SklearnFitted(model, present, ctx, prepare)


class _LinearPrepare:
    """Numbers imputed and scaled, categories one-hot (rare levels pooled): a fitted transform."""

    def __init__(self, X: pd.DataFrame) -> None:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        categorical = _categorical_columns(X)
        numeric = [c for c in X.columns if c not in categorical]
        parts: list[tuple[str, Any, list[str]]] = []
        if numeric:
            parts.append(
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(
                            strategy="median", add_indicator=True, keep_empty_features=True
                        ),
                        StandardScaler(),
                    ),
                    numeric,
                )
            )
        if categorical:
            parts.append(
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(
                            strategy="constant", fill_value=-1.0, keep_empty_features=True
                        ),
                        OneHotEncoder(
                            handle_unknown="infrequent_if_exist",
                            max_categories=LINEAR_MAX_CATEGORIES,
                            min_frequency=2,
                        ),
                    ),
                    categorical,
                )
            )
        self.transform = ColumnTransformer(parts, sparse_threshold=0.3)
        self.transform.fit(_category_codes(X))

    def __call__(self, X: pd.DataFrame) -> Any:
        return self.transform.transform(_category_codes(X))


def fit_linear(config: dict[str, Any], train: Fold, valid: Fold | None, ctx: FitContext) -> Fitted:
    import warnings

    from sklearn.linear_model import LogisticRegression, Ridge

    prepare = _LinearPrepare(train.X)
    X = prepare(train.X)
    if ctx.task == "classification":
        present, y = _present_classes(train.y)
        model: Any = LogisticRegression(C=float(config.get("C", 1.0)), max_iter=300)
    else:
        present, y = _no_classes(), train.y
        model = Ridge(alpha=float(config.get("alpha", 1.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: the model is still usable
        model.fit(X, y)
    return _SklearnFitted(model, present, ctx, prepare)


def fit_knn(config: dict[str, Any], train: Fold, valid: Fold | None, ctx: FitContext) -> Fitted:
    """Nearest neighbours on scaled features: a different kind of error from the trees',
    which is what an ensemble needs (dense numeric tables such as images or sensor rows)."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    prepare = _LinearPrepare(train.X)
    X = prepare(train.X)
    k = int(min(config.get("n_neighbors", 10), max(1, len(train.y) - 1)))
    settings = {"n_neighbors": k, "weights": config.get("weights", "distance"), "n_jobs": 1}
    if ctx.task == "classification":
        present, y = _present_classes(train.y)
        model: Any = KNeighborsClassifier(**settings)
    else:
        present, y = _no_classes(), train.y
        model = KNeighborsRegressor(**settings)
    model.fit(X, y)
    return _SklearnFitted(model, present, ctx, prepare)


# ---- small helpers -----------------------------------------------------------------------------


def _no_classes() -> np.ndarray:
    import numpy as np

    return np.arange(0)


def _relabel(y: np.ndarray, present: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.searchsorted(present, y)


def _only_classes(fold: Fold, present: np.ndarray) -> Fold:
    """The validation rows whose class the training part saw (early stopping needs them)."""
    import numpy as np

    keep = np.isin(fold.y, present)
    if keep.all():
        return fold
    return Fold(fold.X.loc[keep], fold.y[keep])


Trainer = Callable[[dict[str, Any], Fold, "Fold | None", FitContext], Fitted]


def train(
    family: str, config: dict[str, Any], train_fold: Fold, valid: Fold | None, ctx: FitContext
) -> Fitted:
    """Train one family; `columns: [...]` in the config trains on those columns only (see
    column_selection.py), `target_encoding: True` adds out-of-fold target means of the
    many-level categories as features first."""
    if "columns" in config:
        columns = list(config["columns"])
        settings = {k: v for k, v in config.items() if k != "columns"}
        train_fold = Fold(train_fold.X[columns], train_fold.y)
        if valid is not None:
            valid = Fold(valid.X[columns], valid.y)
        return _SubsetFitted(columns, train(family, settings, train_fold, valid, ctx))
    trainer = TRAINERS[family]
    if not config.get("target_encoding"):
        return trainer(config, train_fold, valid, ctx)
    from training.pipeline.target_encoding import TargetEncoder

    settings = {k: v for k, v in config.items() if k != "target_encoding"}
    encoder = TargetEncoder.fit(train_fold.X, train_fold.y, ctx.task, ctx.n_classes)
    if not encoder.columns:
        return trainer(settings, train_fold, valid, ctx)
    encoded_train = TargetEncoder.out_of_fold(
        train_fold.X, train_fold.y, ctx.task, ctx.n_classes, ctx.seed
    )
    train_fold = Fold(train_fold.X.join(encoded_train), train_fold.y)
    if valid is not None:
        valid = Fold(valid.X.join(encoder.transform(valid.X)), valid.y)
    return _EncodedFitted(encoder, trainer(settings, train_fold, valid, ctx))


class _EncodedFitted(Fitted):
    """A model trained with target-encoded columns: new rows are encoded the same way."""

    def __init__(self, encoder: Any, inner: Fitted) -> None:
        self.encoder = encoder
        self.inner = inner
        self.rounds = inner.rounds

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.inner.predict(X.join(self.encoder.transform(X)))

    def importances(self, names: list[str]) -> dict[str, float] | None:
        values = self.inner.importances([*names, *self.encoder.names()])
        if values is None:
            return None
        # An encoded column's importance is its category's.
        per_output = max(1, self.encoder.n_outputs)
        for i, name in enumerate(self.encoder.names()):
            column = self.encoder.columns[i // per_output]
            values[column] = values.get(column, 0.0) + values.pop(name, 0.0)
        return values

    def sized_config(self, config: dict[str, Any], scale: float) -> dict[str, Any]:
        return self.inner.sized_config(config, scale)

    def leaves(self) -> int:
        return self.inner.leaves()


class _SubsetFitted(Fitted):
    """A model trained on some of the columns: new rows are cut to them the same way."""

    def __init__(self, columns: list[str], inner: Fitted) -> None:
        self.columns = columns
        self.inner = inner
        self.rounds = inner.rounds

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.inner.predict(X[self.columns])

    def importances(self, names: list[str]) -> dict[str, float] | None:
        values = self.inner.importances(self.columns)
        if values is None:
            return None
        return {name: values.get(name, 0.0) for name in names}

    def sized_config(self, config: dict[str, Any], scale: float) -> dict[str, Any]:
        return self.inner.sized_config(config, scale)

    def leaves(self) -> int:
        return self.inner.leaves()


TRAINERS: dict[str, Trainer] = {
    "lgbm": fit_lightgbm,
    "xgboost": fit_xgboost,
    "hgb": fit_hgb,
    "extra_tree": fit_extra_trees,
    "rf": fit_random_forest,
    "linear": fit_linear,
    "knn": fit_knn,
}
