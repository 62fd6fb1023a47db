"""How well one column predicts the target on its own: evidence for identifiers and leaks.

Two decisions use it:
- a column that looks like an identifier (unique integers) is used when it carries signal
  (an account number whose ranges encode a region) and left out when it is noise;
- a column that alone predicts the target almost perfectly is flagged as a possible leak.

The score is out-of-fold, so a column cannot score well by memorising rows: values are
grouped (quantile bins for numbers, levels for text), each group's target mean is learned on
one half of the rows and scored on the other half, and the other way round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from contract.jobs import SuspectedLeak
    from training.pipeline.target import Target

SAMPLE_ROWS = 20_000
MAX_LEVELS = 1_000
LEAK_SCORE = 0.99
SMOOTHING = 5.0  # rows' worth of the overall mean mixed into each group's mean


@dataclass(frozen=True)
class Signal:
    metric: str  # roc_auc, accuracy or r2
    score: float
    chance: float  # what the metric gives with no signal
    margin: float  # how far above chance counts as signal for this many rows

    @property
    def has_signal(self) -> bool:
        return self.score - self.chance > self.margin

    @property
    def is_near_perfect(self) -> bool:
        return self.score >= LEAK_SCORE and self.chance < LEAK_SCORE - 0.02


def column_signal(values: pd.Series, target: Target, seed: int = 0) -> Signal:
    """How well `values` alone predicts the target (aligned on the same index)."""
    import numpy as np

    values = _finite(values)
    y = target.values.loc[values.index]
    if len(values) > SAMPLE_ROWS:
        chosen = values.sample(SAMPLE_ROWS, random_state=seed).index
        values, y = values.loc[chosen], y.loc[chosen]
    groups = _groups(values)
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(values)) < len(values) // 2
    if target.task == "regression":
        return _regression_signal(groups, y.to_numpy(float), half, values)
    codes = np.unique(y.astype(str).to_numpy(), return_inverse=True)[1]
    n_classes = int(codes.max()) + 1
    if n_classes == 2:
        return _binary_signal(groups, codes, half, values)
    return _multiclass_signal(groups, codes, n_classes, half)


def _finite(values: pd.Series) -> pd.Series:
    """Numbers with ±inf as missing (they are missing to the models too)."""
    import pandas as pd

    from training.input.numbers import finite_floats

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return finite_floats(values)
    return values


def _groups(values: pd.Series) -> np.ndarray:
    """Integer group per row: quantile bins of numbers, levels of text; missing is a group."""
    import numpy as np
    import pandas as pd

    numbers = values if pd.api.types.is_numeric_dtype(values) else None
    if numbers is not None and numbers.nunique() > 64:
        bins = int(min(256, max(8, len(values) // 30)))
        ranks = numbers.rank(method="first")
        codes = pd.qcut(ranks, q=bins, labels=False, duplicates="drop")
        return np.asarray(codes.fillna(-1), dtype=np.int64) + 1
    text = values.astype("string")
    top = text.value_counts().index[:MAX_LEVELS]
    text = text.where(text.isin(top), "(other)")
    return np.asarray(pd.factorize(text.fillna("(missing)"))[0], dtype=np.int64)


def _out_of_fold_means(groups: np.ndarray, y: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Each row's group mean of `y` learned on the other half, smoothed toward the mean."""
    import numpy as np

    predicted = np.empty(len(y), dtype=float)
    size = int(groups.max()) + 1
    for learn in (half, ~half):
        prior = float(y[learn].mean()) if learn.any() else 0.0
        sums = np.bincount(groups[learn], weights=y[learn], minlength=size)
        counts = np.bincount(groups[learn], minlength=size)
        means = (sums + SMOOTHING * prior) / (counts + SMOOTHING)
        predicted[~learn] = means[groups[~learn]]
    return predicted


def _binary_signal(
    groups: np.ndarray, y: np.ndarray, half: np.ndarray, values: pd.Series
) -> Signal:
    from sklearn.metrics import roc_auc_score

    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    if n1 == 0 or n0 == 0:
        return Signal("roc_auc", 0.5, 0.5, 1.0)
    score = float(roc_auc_score(y, _out_of_fold_means(groups, y.astype(float), half)))
    raw = _raw_auc(values, y)
    sigma = math.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))
    return Signal("roc_auc", max(score, raw), 0.5, max(0.02, 4 * sigma))


def _raw_auc(values: pd.Series, y: np.ndarray) -> float:
    """For numbers, the ranking by the value itself (either direction): exact, no bins."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    if not pd.api.types.is_numeric_dtype(values) or values.isna().any():
        return 0.0
    auc = float(roc_auc_score(y, values.to_numpy(float)))
    return max(auc, 1.0 - auc)


def _multiclass_signal(
    groups: np.ndarray, y: np.ndarray, n_classes: int, half: np.ndarray
) -> Signal:
    import numpy as np

    scores = np.column_stack(
        [_out_of_fold_means(groups, (y == k).astype(float), half) for k in range(n_classes)]
    )
    accuracy = float((scores.argmax(axis=1) == y).mean())
    majority = float(np.bincount(y).max() / len(y))
    margin = max(0.01, 4 * math.sqrt(majority * (1 - majority) / len(y)))
    return Signal("accuracy", accuracy, majority, margin)


def _regression_signal(
    groups: np.ndarray, y: np.ndarray, half: np.ndarray, values: pd.Series
) -> Signal:
    import numpy as np
    import pandas as pd

    predicted = _out_of_fold_means(groups, y, half)
    score = r_squared(y, predicted)
    if pd.api.types.is_numeric_dtype(values) and not values.isna().any() and values.nunique() > 2:
        corr = float(np.corrcoef(values.to_numpy(float), y)[0, 1])
        if math.isfinite(corr):
            score = max(score, corr**2)
    return Signal("r2", score, 0.0, max(0.01, 4 / math.sqrt(len(y))))


def r_squared(y: np.ndarray, predicted: np.ndarray) -> float:
    """R², equal to scikit-learn's `r2_score` (tests/training/test_metrics.py checks) except for
    a constant `y`, where this counts the total sum of squares as 1 (scikit-learn answers 0 or
    1 there): kept by hand for that case."""
    total = float(((y - y.mean()) ** 2).sum()) or 1.0
    return 1.0 - float(((y - predicted) ** 2).sum()) / total


LEAK_SAMPLE_ROWS = 5_000


def suspected_leaks(frame: pd.DataFrame, target: Target, keep: set[str]) -> list[SuspectedLeak]:
    """Columns of `frame` (the raw training columns a model uses) that alone predict the
    target almost perfectly. Cheap on wide tables: numbers are screened all at once by a
    univariate F test, and only the strongest get the out-of-fold check."""
    from contract.jobs import SuspectedLeak

    if len(frame) > LEAK_SAMPLE_ROWS:
        frame = frame.sample(LEAK_SAMPLE_ROWS, random_state=0)
    leaks = []
    for col in _leak_candidates(frame, target):
        values = _finite(frame[col])
        if values.isna().all():
            continue
        signal = column_signal(values, target)
        if signal.is_near_perfect:
            leaks.append(
                SuspectedLeak(
                    column=str(col), metric=signal.metric, score=round(signal.score, 4), kept=True
                )
            )
    return leaks


LEAK_SCREEN_NUMBERS = 20
LEAK_MAX_TEXT_COLUMNS = 100


def _leak_candidates(frame: pd.DataFrame, target: Target) -> list[str]:
    """The text columns (up to a cap) and the numeric columns most related to the target."""
    import numpy as np
    import pandas as pd
    from sklearn.feature_selection import f_classif, f_regression

    numeric = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    text = [c for c in frame.columns if c not in numeric][:LEAK_MAX_TEXT_COLUMNS]
    if len(numeric) <= LEAK_SCREEN_NUMBERS:
        return [*text, *numeric]
    values = frame[numeric].apply(_finite)
    values = values.fillna(values.median()).fillna(0.0).to_numpy(float)
    y = target.values.loc[frame.index]
    with np.errstate(all="ignore"):
        if target.task == "regression":
            scores, _ = f_regression(values, y.to_numpy(float))
        else:
            scores, _ = f_classif(values, y.astype(str).to_numpy())
    scores = np.nan_to_num(scores, nan=0.0, posinf=np.inf)
    strongest = np.argsort(-scores)[:LEAK_SCREEN_NUMBERS]
    return [*text, *(numeric[i] for i in strongest)]
