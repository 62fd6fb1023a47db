"""Why the model predicts what it does: each input column's contribution to each prediction.

Contributions are per column of the file (a date's parts and a category's target-encoded
extras are summed back into their column) and on the scale of what the model outputs:

- regression: the predicted value;
- two classes: the probability of the positive class;
- more classes: the probability of the class predicted for that row.

For a row they add up, with its base value, to that output. How each member gets them:

- LightGBM and XGBoost: their own TreeSHAP (`pred_contrib`), exact. For classes it is on the
  log-odds scale; it is carried to the probability scale through the link's slope and the
  small rest shared in proportion, so signs and proportions stay. Where their trees are so
  large and deep that TreeSHAP would cost more than ablation (timed first), ablation.
- linear models: each column's own part of the margin against its background values
  (below), which is exact (the contribution is w·(x − mean background)).
- the rest (forests, HistGradientBoosting, k-NN): ablation (the output minus its mean when
  the column takes its background values), on the member's first fold model, an
  approximation; what the columns' effects do not add up to (interactions, the other fold
  models) is shared in proportion to them.

How many rows and background values fit in the time given is measured on a few rows first.

The background is a few values of each column spread evenly over its sorted training values
(missing ones included in their share), saved with the model, so new rows are explained
against the training data without keeping any training row. An ensemble's contributions are
the weighted sum of its members'; a member's the mean of its fold models'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from training.pipeline.ensemble import BlendedPredictor, Member
    from training.pipeline.features import FeaturePlan
    from training.pipeline.model import TrainedModel

BACKGROUND_VALUES = 16  # saved per feature column
BACKGROUND_SAMPLE_ROWS = 100_000
ABLATION_VALUES = 8  # used per column when time allows
MIN_ABLATION_VALUES = 2
SAMPLE_ROWS = 2_000  # rows explained for the global picture
PROBE_ROWS = 200  # rows timed to choose how many can be explained in time
SLOWER_AT_SCALE = 1.2  # stacked copies cost more per row than the probe's rows (k-NN)
ENOUGH_ROWS = 500  # for the global picture, before more background values
MIN_ROWS = 50
CHUNK_ROWS = 5_000  # rows explained at once: ablation stacks a copy per background value
# A sample is explained in this many parts, so that a cost estimate gone wrong (a busy
# machine, k-NN on hundreds of columns) costs rows, not the job's time: it stops after the
# part that passes its time.
SAMPLE_PARTS = 8
MAX_STACKED_ROWS = 400_000  # rows predicted in one ablation call
MEAN_OUTPUT_ROWS = 2_000

Method = Literal["tree_shap", "linear", "ablation"]


class ExplanationSkipped(Exception):
    """No explanation could be made in the time given; the message says why, for a person."""


@dataclass
class Background:
    """Per feature column, values spread over its training values; per member, its mean
    output on training rows (the base of what ablation cannot split)."""

    values: dict[str, list[Any]]
    categories: dict[str, list[str]]  # categorical feature columns -> their categories
    mean_outputs: dict[str, list[float]] = field(default_factory=dict)  # member label -> means

    @classmethod
    def from_training(cls, features: pd.DataFrame, predictor: BlendedPredictor) -> Background:
        import numpy as np
        import pandas as pd

        values: dict[str, list[Any]] = {}
        categories: dict[str, list[str]] = {}
        if len(features) > BACKGROUND_SAMPLE_ROWS:  # sorting a million rows a column is slow
            features = features.sample(BACKGROUND_SAMPLE_ROWS, random_state=0)
        n = len(features)
        positions = ((np.arange(BACKGROUND_VALUES) + 0.5) * n / BACKGROUND_VALUES).astype(int)
        for name in features.columns:
            column = features[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                categories[str(name)] = [str(c) for c in column.cat.categories]
                codes = np.sort(column.cat.codes.to_numpy().astype(np.int64) % (1 << 62))
                # Missing (-1) sorts last after the modulo: it takes its share of the values.
                cats = column.cat.categories
                chosen = codes[positions.clip(0, n - 1)] if n else np.array([], dtype=np.int64)
                values[str(name)] = [str(cats[c]) if c < len(cats) else None for c in chosen]
            else:
                ordered = np.sort(column.to_numpy(dtype=float))  # NaN sorts last
                chosen = ordered[positions.clip(0, n - 1)] if n else np.array([])
                values[str(name)] = [float(v) for v in chosen]
        background = cls(values, categories)
        sample = features.sample(min(n, MEAN_OUTPUT_ROWS), random_state=0) if n else features
        for member in predictor.members:
            mean = np.asarray(member.predict(sample), dtype=float).reshape(len(sample), -1)
            background.mean_outputs[member.label] = [float(v) for v in mean.mean(axis=0)]
        return background

    def column(self, name: str, count: int, rows: int) -> pd.Series:
        """`count` of the column's background values, each repeated `rows` times."""
        import numpy as np
        import pandas as pd

        saved = self.values[name]
        picks = [saved[i] for i in _spread(len(saved), count)]
        repeated = np.repeat(np.asarray(picks, dtype=object), rows)
        if name in self.categories:
            return pd.Series(pd.Categorical(repeated, categories=self.categories[name]))
        return pd.Series(repeated.astype(float))


@dataclass
class Contributions:
    """What each input column added to each explained row's output."""

    columns: list[str]  # the file's columns the model uses
    values: np.ndarray  # (rows, columns)
    base: np.ndarray  # (rows,): the output before any column is known
    output: np.ndarray  # (rows,): what the model outputs for the row (values + base)
    explained: list[str]  # per row: the class whose probability is explained ("" for values)
    methods: list[str]  # how the members' parts were had, strongest weight first


# ---- the entry point ------------------------------------------------------------------------


def explain(
    model: TrainedModel,
    frame: pd.DataFrame,
    *,
    count: int = ABLATION_VALUES,
    ablate: frozenset[str] = frozenset(),
    chunk_rows: int = CHUNK_ROWS,
    deadline: float | None = None,
) -> Contributions:
    """Contributions for every row of `frame` (raw columns), ablating against `count`
    background values of each column; members labelled in `ablate` are ablated even where
    a tree path exists (large trees: TreeSHAP is then the slower). Needs the saved
    background. Past `deadline` (time.monotonic()) no further chunk of `chunk_rows` is
    begun: the first rows of `frame` are explained, at least one chunk."""
    import numpy as np

    background = model.background
    if background is None:
        raise ExplanationSkipped(
            "This model was saved by an older version, before explanations: train it again "
            "to get the reasons behind each prediction."
        )
    features = model.features(frame)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    methods: list[str] = []
    for start in range(0, len(features), chunk_rows):
        if parts and deadline is not None and time.monotonic() > deadline:
            break
        chunk = features.iloc[start : start + chunk_rows]
        values, base, methods = _feature_contributions(
            model.predictor, chunk, background, count, ablate
        )
        parts.append((values, base))
    outputs = max(len(model.classes), 1)
    values = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 0, outputs))
    base = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, outputs))
    chosen, explained = _explained_outputs(model, values.sum(axis=1) + base)
    rows = np.arange(len(values))
    per_feature = values[rows, :, chosen] if values.size else np.zeros((len(values), 0))
    columns, per_column = _by_column(model.plan, list(features.columns), per_feature)
    base_row = base[rows, chosen]
    return Contributions(
        columns=columns,
        values=per_column,
        base=base_row,
        output=per_column.sum(axis=1) + base_row,
        explained=explained,
        methods=methods,
    )


def explain_sample(
    model: TrainedModel, frame: pd.DataFrame, *, seconds: float, seed: int = 0
) -> tuple[Contributions, pd.DataFrame]:
    """A sample of at most SAMPLE_ROWS rows explained in about `seconds`: fewer rows, and
    fewer background values, where the members without a tree path are slow."""
    if model.background is None:
        raise ExplanationSkipped("This model has no background to explain it against.")
    started = time.monotonic()
    probe = frame.sample(min(len(frame), PROBE_ROWS), random_state=seed)
    cost = _Cost.measure(model, model.features(probe), model.background)
    left = 0.8 * (seconds - (time.monotonic() - started))
    # Enough rows for a fair picture first; then as many background values as still fit.
    for count in (ABLATION_VALUES, ABLATION_VALUES // 2, MIN_ABLATION_VALUES):
        rows = min(len(frame), SAMPLE_ROWS, cost.affordable_rows(left, count))
        if rows >= min(ENOUGH_ROWS, len(frame)) or (
            count == MIN_ABLATION_VALUES and rows >= min(MIN_ROWS, len(frame)) and rows > 0
        ):
            sample = frame.sample(rows, random_state=seed)
            explained = explain(
                model,
                sample,
                count=count,
                ablate=cost.ablate,
                chunk_rows=max(MIN_ROWS, -(-rows // SAMPLE_PARTS)),
                deadline=started + seconds,
            )
            return explained, sample.iloc[: len(explained.values)]
    raise ExplanationSkipped(
        "The explanations were skipped: the time budget was used up by the search. "
        "Give the job more time to get them."
    )


def explain_rows(model: TrainedModel, frame: pd.DataFrame, *, seconds: float) -> Contributions:
    """Every row of `frame` explained, with as many background values as fit in about
    `seconds`; `ExplanationSkipped`, saying how long it would take, when even the fewest do
    not (k-NN members on large files)."""
    if model.background is None:
        raise ExplanationSkipped(
            "This model was saved by an older version, before explanations: train it again "
            "to get the reasons behind each prediction."
        )
    probe = frame.sample(min(len(frame), PROBE_ROWS), random_state=0)
    cost = _Cost.measure(model, model.features(probe), model.background)
    for count in (ABLATION_VALUES, ABLATION_VALUES // 2, MIN_ABLATION_VALUES):
        if cost.seconds(len(frame), count) <= seconds:
            return explain(model, frame, count=count, ablate=cost.ablate)
    minutes = cost.seconds(len(frame), MIN_ABLATION_VALUES) / 60
    raise ExplanationSkipped(
        f"The reasons were left out: working them out for {len(frame):,} rows would take "
        f"about {minutes:,.0f} minute(s) with this model (its slower members have no fast "
        "way to be explained). Score fewer rows at a time to get them."
    )


@dataclass
class _Cost:
    """Seconds to explain: each ablated member's call overhead, per row and background
    value, and per row for the tree paths."""

    overhead: float = 0.0
    per_row_value: float = 0.0  # ablation: predicting one row's swapped copies of every feature
    per_row: float = 0.0  # tree paths and linear parts
    ablate: frozenset[str] = frozenset()  # boosters cheaper to ablate than to TreeSHAP

    @classmethod
    def measure(cls, model: TrainedModel, probe: pd.DataFrame, background: Background) -> _Cost:
        """Timed on `probe`; boosters whose TreeSHAP would cost more than ablating them
        (large, deep trees) are put in `ablate`."""
        cost = cls()
        if len(probe) < 2:
            return cost
        columns = probe.shape[1]
        small = probe.head(max(1, len(probe) // 20))
        ablate = set()
        for member in model.predictor.members:
            paths = [_path_of(m, background) for m in member.models]
            linear = any(isinstance(p, _LinearPath) for p in paths)
            # Linear members: every fold model, each row once per column (exact). The others:
            # their first fold model, each row once per column and background value.
            predict = member.predict if linear else member.models[0].predict
            few, many = _timed(predict, small), _timed(predict, probe)
            # Cautious: timings on a shared machine are noisy, and k-NN's cost per row grows
            # with the rows asked at once.
            marginal = (many - few) / max(len(probe) - len(small), 1)
            per_row = SLOWER_AT_SCALE * max(marginal, 0.3 * many / len(probe))
            if linear:
                cost.overhead += 2 * few
                cost.per_row += columns * per_row
                continue
            first = paths[0]
            if first is not None and all(p is not None for p in paths):
                # TreeSHAP of one fold model on a few rows, for all of them.
                tree_per_row = _timed(first, small) / len(small) * len(paths)
                if tree_per_row <= ABLATION_VALUES * columns * per_row:
                    cost.per_row += tree_per_row
                    continue
                ablate.add(member.label)
            cost.overhead += 2 * few  # the output, then the swapped copies
            cost.per_row_value += columns * per_row
        cost.ablate = frozenset(ablate)
        return cost

    def seconds(self, rows: int, count: int) -> float:
        return self.overhead + rows * (self.per_row + count * self.per_row_value)

    def affordable_rows(self, seconds: float, count: int) -> int:
        per_row = self.per_row + count * self.per_row_value
        left = seconds - self.overhead
        if left <= 0:
            return 0
        return int(left / per_row) if per_row > 0 else SAMPLE_ROWS


def _timed(work: Callable[[pd.DataFrame], object], rows: pd.DataFrame) -> float:
    started = time.monotonic()
    work(rows)
    return time.monotonic() - started


# Up to this many explained cells (rows x columns) take a fraction of a second even by
# ablation; a small job's search should not give up a whole second for them.
SMALL_EXPLANATION_CELLS = 20_000


def explanation_reserve_s(time_budget_s: float, rows: int, columns: int) -> float:
    """Time kept back from the search to explain the model on `rows` holdout rows (at most
    `SAMPLE_ROWS` are explained) of `columns` columns: a tenth of the budget, at least one
    second and at most twenty (explaining 2,000 rows of a booster takes well under one); on a
    small table a twentieth, at least half a second."""
    if min(rows, SAMPLE_ROWS) * columns <= SMALL_EXPLANATION_CELLS:
        return min(20.0, max(0.5, 0.05 * time_budget_s))
    return min(20.0, max(1.0, 0.1 * time_budget_s))


# ---- members and fold models ----------------------------------------------------------------


def _feature_contributions(
    predictor: BlendedPredictor,
    X: pd.DataFrame,
    background: Background,
    count: int,
    ablate: frozenset[str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(rows, features, outputs) and (rows, outputs): the weighted sum over members."""
    total, base = None, None
    methods = []
    for member in predictor.members:
        values, member_base, method = _member_contributions(
            member, X, background, count, member.label in ablate
        )
        methods.append(f"{member.label}: {method}")
        total = member.weight * values if total is None else total + member.weight * values
        base = member.weight * member_base if base is None else base + member.weight * member_base
    assert total is not None
    assert base is not None
    return total, base, methods


def _member_contributions(
    member: Member, X: pd.DataFrame, background: Background, count: int, ablate: bool
) -> tuple[np.ndarray, np.ndarray, Method]:
    import numpy as np

    paths = [_path_of(model, background, count) for model in member.models]
    if all(path is not None for path in paths) and not ablate:
        parts = [path(X) for path in paths if path is not None]
        values = np.mean([p[0] for p in parts], axis=0)
        base = np.mean([p[1] for p in parts], axis=0)
        linear = any(isinstance(p, _LinearPath) for p in paths)
        return values, base, "linear" if linear else "tree_shap"
    # No exact path: ablation of its first fold model (the others are alike, and it is an
    # approximation anyway: five times cheaper), scaled to what the whole member outputs.
    mean = np.asarray(background.mean_outputs.get(member.label, []), dtype=float)
    values, _ = _ablation(member.models[0].predict, X, background, count)
    out = np.asarray(member.predict(X), dtype=float).reshape(len(X), -1)
    if mean.size != out.shape[1]:
        mean = out.mean(axis=0)
    base = np.broadcast_to(mean, out.shape).copy()
    return _share_the_rest(values, out - base), base, "ablation"


Path = Callable[["pd.DataFrame"], "tuple[np.ndarray, np.ndarray]"]


def _path_of(model: Any, background: Background, count: int = ABLATION_VALUES) -> Path | None:
    """The exact way to explain one fold model, or None when it has none."""
    from training.pipeline.learners import (
        _BoosterFitted,
        _EncodedFitted,
        _LightGBMFitted,
        _SklearnFitted,
        _SubsetFitted,
        _XGBoostFitted,
    )

    if isinstance(model, _SubsetFitted):
        inner = _path_of(model.inner, background, count)
        return None if inner is None else _SubsetPath(model.columns, inner)
    if isinstance(model, _EncodedFitted):
        inner = _path_of(model.inner, background, count)
        if inner is None or isinstance(model.inner, _SklearnFitted):
            return None  # a linear model's ablation would miss the encoded columns
        return _EncodedPath(model, inner)
    if isinstance(model, _LightGBMFitted | _XGBoostFitted):
        return _BoosterPath(model)
    if isinstance(model, _SklearnFitted) and hasattr(model.model, "coef_"):
        return _LinearPath(model, background, count)
    assert not isinstance(model, _BoosterFitted)
    return None


class _BoosterPath:
    """TreeSHAP from the booster itself."""

    def __init__(self, fitted: Any) -> None:
        self.fitted = fitted

    def __call__(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        from training.pipeline.learners import _LightGBMFitted

        fitted = self.fitted
        n, F = X.shape
        if isinstance(fitted, _LightGBMFitted):
            raw = fitted.booster.predict(X, num_iteration=fitted.rounds, pred_contrib=True)
            raw = np.asarray(raw, dtype=float).reshape(n, -1, F + 1).transpose(0, 2, 1)
        else:
            import xgboost as xgb

            matrix = xgb.DMatrix(X, enable_categorical=True)
            raw = fitted.booster.predict(
                matrix, pred_contribs=True, iteration_range=(0, fitted.rounds)
            )
            raw = np.asarray(raw, dtype=float)
            raw = raw.reshape(n, F + 1, 1) if raw.ndim == 2 else raw.transpose(0, 2, 1)
        # raw: (rows, features + bias, margins)
        values, base = raw[:, :F, :], raw[:, F, :]
        if fitted.task == "regression":
            return values, base
        return _to_probability(values, base, fitted.present, fitted.n_classes)


class _EncodedPath:
    """A model with target-encoded extras: they are explained, then given to their column."""

    def __init__(self, fitted: Any, inner: Path) -> None:
        self.fitted = fitted
        self.inner = inner

    def __call__(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        encoder = self.fitted.encoder
        joined = X.join(encoder.transform(X))
        values, base = self.inner(joined)
        names = list(joined.columns)
        out = values[:, : X.shape[1], :].copy()
        per_output = max(1, encoder.n_outputs)
        for i, name in enumerate(encoder.names()):
            source = list(X.columns).index(encoder.columns[i // per_output])
            out[:, source, :] += values[:, names.index(name), :]
        return out, base


class _SubsetPath:
    """A model of some of the columns: the others contribute nothing."""

    def __init__(self, columns: list[str], inner: Path) -> None:
        self.columns = columns
        self.inner = inner

    def __call__(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        values, base = self.inner(X[self.columns])
        out = np.zeros((len(X), X.shape[1], values.shape[2]))
        out[:, [X.columns.get_loc(c) for c in self.columns], :] = values
        return out, base


class _LinearPath:
    """A linear model: each column's part of its margin, against the column's background;
    exact. Classes then go to probabilities."""

    def __init__(self, fitted: Any, background: Background, count: int) -> None:
        self.fitted = fitted
        self.background = background
        self.count = count

    def __call__(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        fitted, background = self.fitted, self.background
        if fitted.task == "regression":
            values, out = _linear_parts(fitted.predict, X, background, self.count)
            return values, out - values.sum(axis=1)

        def margin(rows: pd.DataFrame) -> np.ndarray:
            score = fitted.model.decision_function(fitted.prepare(rows))
            return np.asarray(score, dtype=float).reshape(len(rows), -1)

        values, out = _linear_parts(margin, X, background, self.count)
        return _to_probability(values, out - values.sum(axis=1), fitted.present, fitted.n_classes)


def _linear_parts(
    predict: Callable[[pd.DataFrame], np.ndarray],
    X: pd.DataFrame,
    background: Background,
    count: int,
) -> tuple[np.ndarray, np.ndarray]:
    """What ablation gives for a model additive in its columns (each column's own part of
    the output minus that part's mean over the background), at a fraction of the cost: the
    part of column j is read off one reference row with only column j changed, so each row
    is predicted once per column instead of once per column and background value."""
    import numpy as np

    n, F = X.shape
    out = np.asarray(predict(X), dtype=float).reshape(n, -1)
    values = np.zeros((n, F, out.shape[1]))
    names = [str(c) for c in X.columns]
    per_group = max(1, MAX_STACKED_ROWS // (n + count))
    reference = X.iloc[:1]  # any row: its own parts cancel out
    for first in range(0, F, per_group):
        group = names[first : first + per_group]
        copies = _one_column_copies(X, reference, group, background, count)
        predicted = np.asarray(predict(copies), dtype=float).reshape(len(group), n + count, -1)
        for g in range(len(group)):
            own, background_parts = predicted[g, :n], predicted[g, n:]
            values[:, first + g, :] = own - background_parts.mean(axis=0)
    return values, out


def _one_column_copies(
    X: pd.DataFrame, reference: pd.DataFrame, group: list[str], background: Background, count: int
) -> pd.DataFrame:
    """For each feature of `group`: the reference row repeated, that feature taking the rows'
    own values (len(X) rows) then `count` background values."""
    import numpy as np
    import pandas as pd

    n = len(X)
    block = n + count
    data: dict[str, Any] = {}
    for name in X.columns:
        column = X[name]
        categorical = isinstance(column.dtype, pd.CategoricalDtype)
        own = column.cat.codes.to_numpy() if categorical else column.to_numpy(dtype=float)
        ref = reference[name]
        fill = ref.cat.codes.to_numpy()[0] if categorical else ref.to_numpy(dtype=float)[0]
        stacked = np.full(len(group) * block, fill, dtype=own.dtype)
        if str(name) in group:
            g = group.index(str(name))
            swapped = background.column(str(name), count, 1)
            values = swapped.cat.codes.to_numpy() if categorical else swapped.to_numpy(dtype=float)
            stacked[g * block : g * block + n] = own
            stacked[g * block + n : (g + 1) * block] = values
        if categorical:
            data[name] = pd.Categorical.from_codes(stacked, categories=column.cat.categories)
        else:
            data[name] = stacked
    return pd.DataFrame(data)


# ---- ablation -------------------------------------------------------------------------------


def _ablation(
    predict: Callable[[pd.DataFrame], np.ndarray],
    X: pd.DataFrame,
    background: Background,
    count: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, features, outputs): the output minus its mean when the feature takes `count`
    of its background values instead; and (rows, outputs): the output itself.

    The swapped copies of all features go to the model in as few calls as memory allows:
    a call's own overhead (threads, checks) is most of the cost on small samples."""
    import numpy as np

    n, F = X.shape
    out = np.asarray(predict(X), dtype=float).reshape(n, -1)
    values = np.zeros((n, F, out.shape[1]))
    per_group = max(1, MAX_STACKED_ROWS // max(n * count, 1))
    names = [str(c) for c in X.columns]
    for first in range(0, F, per_group):
        group = names[first : first + per_group]
        swapped = _swapped_copies(X, group, background, count)
        predicted = np.asarray(predict(swapped), dtype=float)
        predicted = predicted.reshape(len(group), count, n, -1).mean(axis=1)
        for g in range(len(group)):
            values[:, first + g, :] = out - predicted[g]
    return values, out


def _swapped_copies(
    X: pd.DataFrame, group: list[str], background: Background, count: int
) -> pd.DataFrame:
    """For each feature of `group` and each of `count` background values, a copy of X with
    that feature set to that value, stacked: (len(group) * count * rows) rows."""
    import numpy as np
    import pandas as pd

    n = len(X)
    size = n * count
    rows = np.tile(np.arange(n), len(group) * count)
    data: dict[str, Any] = {}
    for name in X.columns:
        column = X[name]
        categorical = isinstance(column.dtype, pd.CategoricalDtype)
        own = column.cat.codes.to_numpy() if categorical else column.to_numpy(dtype=float)
        stacked = own[rows]
        if str(name) in group:
            g = group.index(str(name))
            swapped = background.column(str(name), count, n)
            part = swapped.cat.codes.to_numpy() if categorical else swapped.to_numpy(dtype=float)
            stacked[g * size : (g + 1) * size] = part
        if categorical:
            data[name] = pd.Categorical.from_codes(stacked, categories=column.cat.categories)
        else:
            data[name] = stacked
    return pd.DataFrame(data)


def _share_the_rest(values: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Contributions that add up to `change` (rows, outputs): what they miss (interactions)
    is shared in proportion to their size, equally where all are zero."""
    import numpy as np

    rest = change - values.sum(axis=1)
    size = np.abs(values)
    total = size.sum(axis=1, keepdims=True)
    F = max(values.shape[1], 1)
    share = np.where(total > 0, size / np.where(total > 0, total, 1.0), 1.0 / F)
    return values + share * rest[:, None, :]


# ---- from margins to probabilities ----------------------------------------------------------


def _to_probability(
    values: np.ndarray, base: np.ndarray, present: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Margin contributions (rows, features, margins) and base (rows, margins) -> the same on
    the probability scale of every class of the task, adding up exactly.

    Two classes: one margin, the log-odds of the second; each contribution is scaled by the
    ratio of the probability change to the log-odds change (the sigmoid is monotone, so
    signs stay). More classes: through the softmax's slope at the midpoint, the rest shared
    in proportion."""
    import numpy as np
    from scipy.special import expit, softmax

    margin = base + values.sum(axis=1)
    n, F, m = values.shape
    if m == 1 and len(present) == 2:
        p, p0 = expit(margin[:, 0]), expit(base[:, 0])
        change = margin[:, 0] - base[:, 0]
        slope = np.where(
            np.abs(change) > 1e-12, (p - p0) / np.where(change == 0, 1.0, change), p * (1 - p)
        )
        second = values[:, :, 0] * slope[:, None]
        local = np.stack([-second, second], axis=2)
        local_base = np.column_stack([1 - p0, p0])
    elif m == len(present) and m > 1:
        p, p0 = softmax(margin, axis=1), softmax(base, axis=1)
        mid = (p + p0) / 2
        # d p_k / d m_j = p_k (delta_kj - p_j)
        jacobian = mid[:, :, None] * (np.eye(m)[None, :, :] - mid[:, None, :])
        local = np.einsum("nkj,nfj->nfk", jacobian, values)
        local = _share_the_rest(local, p - p0)
        local_base = p0
    else:  # a fold with a single class: it always says that class
        local = np.zeros((n, F, max(len(present), 1)))
        local_base = np.ones((n, max(len(present), 1)))
    full = np.zeros((n, F, n_classes))
    full_base = np.zeros((n, n_classes))
    columns = present if len(present) else np.arange(local.shape[2])
    full[:, :, columns] = local
    full_base[:, columns] = local_base
    return full, full_base


# ---- which output, which column -------------------------------------------------------------


def _explained_outputs(model: TrainedModel, outputs: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per row, the output column explained and its class: the positive class of two, the
    predicted class of more, the value for regression."""
    import numpy as np

    n = len(outputs)
    if model.task == "regression":
        return np.zeros(n, dtype=int), [""] * n
    classes = list(model.classes)
    if len(classes) == 2:
        positive = positive_class(model)
        chosen = np.full(n, classes.index(positive))
    else:
        chosen = outputs.argmax(axis=1) if n else np.zeros(0, dtype=int)
    return chosen, [classes[i] for i in chosen]


def positive_class(model: TrainedModel) -> str:
    """The class whose probability a two-class model is explained by."""
    if model.threshold is not None:
        return model.threshold.positive_class
    return model.classes[-1]


def feature_sources(plan: FeaturePlan) -> dict[str, str]:
    """Each model feature's name -> the file's column it is made from."""
    from training.pipeline.features import safe_feature_name

    sources = {
        safe_feature_name(col): col
        for col in [*plan.numeric, *plan.text_numbers, *plan.booleans, *plan.categories]
    }
    for col, parts in plan.date_parts.items():
        sources.update({safe_feature_name(f"{col}.{part}"): col for part in parts})
    return sources


def _by_column(
    plan: FeaturePlan, features: list[str], values: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Feature contributions (rows, features) summed into the file's columns."""
    import numpy as np

    sources = feature_sources(plan)
    columns = [c for c in plan.input_columns if c in set(sources.values())]
    out = np.zeros((values.shape[0], len(columns)))
    position = {c: i for i, c in enumerate(columns)}
    for j, name in enumerate(features):
        out[:, position[sources[name]]] += values[:, j]
    return columns, out


def _spread(size: int, count: int) -> list[int]:
    """`count` indices spread evenly over range(size)."""
    count = max(1, min(count, size))
    return [int((i + 0.5) * size / count) for i in range(count)]
