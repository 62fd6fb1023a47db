"""Out-of-fold target encoding of categories with many levels.

A column naming a repeated entity (thousands of sales reps, stores, products, each seen a few
times) carries its signal in the identity of each level. Tree splits on such a column need
many cuts to find it; the level's own target mean finds it at once. Learned on the same rows a
model trains on, that mean leaks the answer, so training rows get means from the other inner
folds, and new rows (validation, new files) get means from all training rows. Means are
smoothed toward the overall mean by `SMOOTHING` rows' worth, so a level seen twice says little.

The search tries learners with and without it and keeps what validates better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MIN_LEVELS = 30  # columns with fewer levels are handled well by the learners themselves
INNER_FOLDS = 5
SMOOTHING = 10.0
MAX_CLASSES_ENCODED = 10


def high_cardinality_columns(X: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [
        str(c)
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype) and len(X[c].cat.categories) >= MIN_LEVELS
    ]


@dataclass
class TargetEncoder:
    """Per column, per level: the smoothed mean of each encoded target column."""

    columns: list[str]
    n_outputs: int  # 1 for regression and two classes; one per encoded class otherwise
    classes: list[int] = field(default_factory=list)  # the class codes encoded (classification)
    tables: dict[str, np.ndarray] = field(default_factory=dict)  # column -> (levels + 1, outputs)
    prior: np.ndarray | None = None

    @classmethod
    def fit(cls, X: pd.DataFrame, y: np.ndarray, task: str, n_classes: int) -> TargetEncoder:
        encoder = cls._empty(X, y, task, n_classes)
        targets = encoder._targets(y)
        encoder.prior = targets.mean(axis=0)
        for col in encoder.columns:
            encoder.tables[col] = encoder._table(
                _codes(X[col]), targets, len(X[col].cat.categories)
            )
        return encoder

    @classmethod
    def out_of_fold(
        cls, X: pd.DataFrame, y: np.ndarray, task: str, n_classes: int, seed: int
    ) -> pd.DataFrame:
        """Encodings of the training rows themselves, each from the other inner folds."""
        import numpy as np

        encoder = cls._empty(X, y, task, n_classes)
        targets = encoder._targets(y)
        out = np.zeros((len(X), len(encoder.columns) * encoder.n_outputs))
        folds = np.random.default_rng(seed).integers(0, INNER_FOLDS, len(X))
        for fold in range(INNER_FOLDS):
            learn, apply = folds != fold, folds == fold
            if not apply.any():
                continue
            prior = targets[learn].mean(axis=0) if learn.any() else targets.mean(axis=0)
            parts = []
            for col in encoder.columns:
                codes = _codes(X[col])
                size = len(X[col].cat.categories)
                table = _smoothed_table(codes[learn], targets[learn], size, prior)
                parts.append(table[codes[apply]])
            out[apply] = np.hstack(parts)
        return encoder._frame(out, X.index)

    @classmethod
    def _empty(cls, X: pd.DataFrame, y: np.ndarray, task: str, n_classes: int) -> TargetEncoder:
        import numpy as np

        columns = high_cardinality_columns(X)
        if task == "regression" or n_classes == 2:
            return cls(columns, 1)
        counts = np.bincount(y, minlength=n_classes)
        encoded = [int(c) for c in np.argsort(-counts)[:MAX_CLASSES_ENCODED]]
        return cls(columns, len(encoded), classes=encoded)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.classes:
            return np.column_stack([(y == c).astype(float) for c in self.classes])
        return np.asarray(y, dtype=float).reshape(-1, 1)

    def _table(self, codes: np.ndarray, targets: np.ndarray, size: int) -> np.ndarray:
        assert self.prior is not None
        return _smoothed_table(codes, targets, size, self.prior)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        import numpy as np

        parts = [self.tables[col][_codes(X[col])] for col in self.columns]
        return self._frame(np.hstack(parts), X.index)

    def names(self) -> list[str]:
        if self.n_outputs == 1:
            return [f"{col}.target_mean" for col in self.columns]
        return [f"{col}.share_{c}" for col in self.columns for c in self.classes]

    def _frame(self, values: np.ndarray, index: pd.Index) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(values, index=index, columns=self.names())


def _codes(values: pd.Series) -> np.ndarray:
    """Category codes with missing values as one more level (the last row of a table)."""
    import numpy as np

    codes = values.cat.codes.to_numpy().astype(np.int64)
    codes[codes < 0] = len(values.cat.categories)
    return codes


def _smoothed_table(
    codes: np.ndarray, targets: np.ndarray, size: int, prior: np.ndarray
) -> np.ndarray:
    """(levels + 1) x outputs: each level's mean, pulled toward `prior` by SMOOTHING rows."""
    import numpy as np

    counts = np.bincount(codes, minlength=size + 1).astype(float)
    table = np.empty((size + 1, targets.shape[1]))
    for k in range(targets.shape[1]):
        sums = np.bincount(codes, weights=targets[:, k], minlength=size + 1)
        table[:, k] = (sums + SMOOTHING * prior[k]) / (counts + SMOOTHING)
    return table
