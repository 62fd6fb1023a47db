"""Contributions in words: each column's overall effect, three sentences for the results and
the top reasons behind each row's prediction (`tenure_months=2 raises churned=yes by 0.21`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from training.pipeline.explanations import Contributions
    from training.pipeline.model import TrainedModel

CLEAR_CORRELATION = 0.3  # between a column's value and its contribution: a direction to name
MIN_LEVEL_ROWS = 5  # a category needs this many explained rows to be named
REASONS_PER_ROW = 3
MAX_VALUE_CHARS = 30

Direction = Literal["raises", "lowers", "mixed", "by_category"]


@dataclass
class ColumnEffect:
    """One column's effect over the explained rows."""

    column: str
    mean_abs: float  # mean |contribution|
    direction: Direction  # what higher values do; by_category for categories
    correlation: float | None  # of value and contribution, for numbers and dates
    x: list[float | str] = field(default_factory=list)  # the values (for dependence charts)
    y: list[float] = field(default_factory=list)  # their contributions
    best_level: tuple[str, float] | None = None  # the category that raises it most, its mean
    worst_level: tuple[str, float] | None = None  # the one that lowers it most


def what_is_explained(model: TrainedModel, explained: list[str]) -> str:
    """`churned=yes`, `the predicted class` or `price`."""
    if model.task == "regression":
        return model.target
    if len(model.classes) == 2 and explained:
        return f"{model.target}={explained[0]}"
    return "the predicted class"


def scale_words(model: TrainedModel) -> str:
    """What a contribution's number means, said once to the person."""
    if model.task == "regression":
        return f"in units of {model.target}"
    return "on the 0-to-1 probability scale"


def column_effects(
    model: TrainedModel, contributions: Contributions, frame: pd.DataFrame
) -> list[ColumnEffect]:
    """Every column's effect, the largest first; `frame` holds the explained rows' raw columns."""
    import numpy as np

    features = model.features(frame)
    effects = []
    for j, column in enumerate(contributions.columns):
        values = contributions.values[:, j]
        numbers = _numbers_of(model, column, features)
        effect = ColumnEffect(
            column, float(np.abs(values).mean()) if len(values) else 0.0, "mixed", None
        )
        if numbers is not None:
            _numeric_effect(effect, numbers, values)
        else:
            _category_effect(effect, frame[column], values)
        effects.append(effect)
    return sorted(effects, key=lambda e: -e.mean_abs)


def summary_sentences(
    model: TrainedModel, contributions: Contributions, effects: list[ColumnEffect]
) -> list[str]:
    """Up to three sentences a person can read: which columns move the prediction most,
    then what the two strongest do."""
    moving = [e for e in effects if e.mean_abs > 0]
    if not moving:
        return ["No column changes the model's predictions: it predicts the same for every row."]
    subject = _subject(model, contributions.explained)
    top = moving[:3]
    names = _listed([f"“{e.column}”" for e in top])
    sizes = _listed([_number(e.mean_abs) for e in top])
    rows = f"{len(contributions.values):,}"
    first = (
        f"{names} move {subject} the most (on average by {sizes} {scale_words(model)}, "
        f"over {rows} rows)."
        if len(top) > 1
        else f"{names} moves {subject} the most (on average by {sizes} {scale_words(model)}, "
        f"over {rows} rows)."
    )
    return [first, *(_direction_sentence(e, subject) for e in top[:2])]


def row_reasons(
    model: TrainedModel,
    contributions: Contributions,
    frame: pd.DataFrame,
    top: int = REASONS_PER_ROW,
) -> list[str]:
    """Per row, its `top` largest contributions in words, largest first."""
    import numpy as np

    values = contributions.values
    if values.size == 0:
        return ["" for _ in range(len(values))]
    order = np.argsort(-np.abs(values), axis=1)[:, :top]
    columns = contributions.columns
    raw = {c: frame[c].tolist() for c in columns}
    reasons = []
    for i in range(len(values)):
        target = _target_words(model, contributions.explained[i])
        parts = []
        for j in order[i]:
            amount = float(values[i, j])
            if abs(amount) < 1e-9:
                continue
            verb = "raises" if amount > 0 else "lowers"
            column = columns[j]
            shown = _value(raw[column][i])
            parts.append(f"{column}={shown} {verb} {target} by {_number(abs(amount))}")
        reasons.append("; ".join(parts) or "no column moves this prediction")
    return reasons


# ---- helpers --------------------------------------------------------------------------------


def _numbers_of(model: TrainedModel, column: str, features: pd.DataFrame) -> np.ndarray | None:
    """The column as numbers where it is one (numbers, text numbers, dates as days)."""
    from training.pipeline.features import safe_feature_name

    plan = model.plan
    if column in plan.numeric or column in plan.text_numbers:
        return features[safe_feature_name(column)].to_numpy(dtype=float)
    if column in plan.dates and "days" in plan.date_parts.get(column, []):
        return features[safe_feature_name(f"{column}.days")].to_numpy(dtype=float)
    return None


def _numeric_effect(effect: ColumnEffect, numbers: np.ndarray, values: np.ndarray) -> None:
    import numpy as np

    known = np.isfinite(numbers)
    effect.x = [float(v) for v in numbers[known]]
    effect.y = [float(v) for v in values[known]]
    if known.sum() < 3 or np.std(numbers[known]) == 0 or np.std(values[known]) == 0:
        return
    correlation = float(np.corrcoef(numbers[known], values[known])[0, 1])
    effect.correlation = correlation
    if correlation >= CLEAR_CORRELATION:
        effect.direction = "raises"
    elif correlation <= -CLEAR_CORRELATION:
        effect.direction = "lowers"


def _category_effect(effect: ColumnEffect, raw: pd.Series, values: np.ndarray) -> None:
    import pandas as pd

    effect.direction = "by_category"
    levels = raw.astype("string").fillna("(missing)").to_numpy(dtype=object)
    effect.x = [str(v) for v in levels]
    effect.y = [float(v) for v in values]
    means = pd.Series(values).groupby(levels).agg(["mean", "size"])
    means = means[means["size"] >= min(MIN_LEVEL_ROWS, len(values))]
    if means.empty:
        return
    best, worst = means["mean"].idxmax(), means["mean"].idxmin()
    if means.loc[best, "mean"] > 0:
        effect.best_level = (str(best), float(means.loc[best, "mean"]))
    if means.loc[worst, "mean"] < 0:
        effect.worst_level = (str(worst), float(means.loc[worst, "mean"]))


def _direction_sentence(effect: ColumnEffect, subject: str) -> str:
    name = f"“{effect.column}”"
    if effect.direction == "raises":
        return f"Higher {name} raises {subject}; lower values lower it."
    if effect.direction == "lowers":
        return f"Higher {name} lowers {subject}; lower values raise it."
    if effect.direction == "by_category":
        parts = []
        if effect.best_level is not None:
            level, mean = effect.best_level
            parts.append(f"{name} = “{_value(level)}” raises {subject} most (by {_number(mean)})")
        if effect.worst_level is not None:
            level, mean = effect.worst_level
            parts.append(f"“{_value(level)}” lowers it most (by {_number(abs(mean))})")
        if parts:
            return _capital("; ".join(parts)) + ", on average."
    return f"{name} raises or lowers {subject} depending on the row, with no single direction."


def _subject(model: TrainedModel, explained: list[str]) -> str:
    if model.task == "regression":
        return f"the predicted {model.target}"
    if len(model.classes) == 2 and explained:
        return f"the chance of {model.target}={explained[0]}"
    return "the chance of the predicted class"


def _target_words(model: TrainedModel, explained: str) -> str:
    return model.target if model.task == "regression" else f"{model.target}={explained}"


def _value(value: object) -> str:
    """A cell as a reason shows it: numbers in few digits, long text cut."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(missing)"
    if isinstance(value, float):
        return _number(value)
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _number(value: float) -> str:
    from training.outputs.charts.alt_text import fmt

    return fmt(value)


def _listed(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
