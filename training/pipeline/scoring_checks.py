"""What to tell a person about a file before its rows are scored with a model.

Compared with what the model saw in training: columns it needs that are missing (scoring is
refused, naming them), extra columns (ignored), categories it never learned (per column, with
counts) and numbers outside the training range in many rows (per column). `automl predict`
prints these; the Slack prediction job shows the same sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from training.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from training.pipeline.features import FeaturePlan

OUT_OF_RANGE_SHARE = 0.05  # of a column's rows with a value: "many rows"
SHOWN_LEVELS = 3
MAX_NAMED_COLUMNS = 10


@dataclass
class TrainingProfile:
    """The training rows' range of each numeric column, saved with the model."""

    numeric_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_training(cls, plan: FeaturePlan, features: pd.DataFrame) -> TrainingProfile:
        """`features`: the training rows as the plan transforms them."""
        import numpy as np

        from training.pipeline.features import safe_feature_name

        ranges = {}
        for column in [*plan.numeric, *plan.text_numbers]:
            values = features[safe_feature_name(column)].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if len(values):
                ranges[column] = (float(values.min()), float(values.max()))
        return cls(ranges)


@dataclass
class ScoringWarnings:
    """Sentences for a person, each about one column or one group of columns."""

    extra_columns: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


def refuse_missing_columns(plan: FeaturePlan, frame: pd.DataFrame) -> None:
    """`InputError` naming every column the model needs that the file lacks."""
    missing = [c for c in plan.input_columns if c not in frame.columns]
    if not missing:
        return
    shown = ", ".join(f"“{c}”" for c in missing[:MAX_NAMED_COLUMNS])
    more = (
        f" and {len(missing) - MAX_NAMED_COLUMNS} more" if len(missing) > MAX_NAMED_COLUMNS else ""
    )
    raise InputError(
        "missing_columns",
        f"The file lacks {len(missing)} column(s) the model needs: {shown}{more}. "
        "No row was scored.",
        "Add these columns (with the same names as in the training file) and try again.",
    )


def check_rows(
    plan: FeaturePlan, profile: TrainingProfile | None, frame: pd.DataFrame
) -> ScoringWarnings:
    """Warnings about `frame` (raw columns, all the model needs present)."""
    result = ScoringWarnings()
    used = set(plan.input_columns)
    result.extra_columns = [str(c) for c in frame.columns if c not in used]
    if result.extra_columns:
        shown = ", ".join(f"“{c}”" for c in result.extra_columns[:MAX_NAMED_COLUMNS])
        more = len(result.extra_columns) - MAX_NAMED_COLUMNS
        result.sentences.append(
            f"{len(result.extra_columns)} column(s) the model does not use were ignored: "
            f"{shown}{f' and {more} more' if more > 0 else ''}."
        )
    for column, kept in plan.categories.items():
        sentence = _unseen_levels(column, kept, frame[column])
        if sentence:
            result.sentences.append(sentence)
    if profile is not None:
        for column, (low, high) in profile.numeric_ranges.items():
            sentence = _out_of_range(column, low, high, plan, frame)
            if sentence:
                result.sentences.append(sentence)
    return result


def _unseen_levels(column: str, kept: list[str], values: pd.Series) -> str | None:
    text = values.astype("string").dropna()
    unseen = text[~text.isin(kept)]
    if unseen.empty:
        return None
    counts = unseen.value_counts()
    shown = ", ".join(f"“{v}” ({n:,})" for v, n in counts.head(SHOWN_LEVELS).items())
    more = f" and {len(counts) - SHOWN_LEVELS} more" if len(counts) > SHOWN_LEVELS else ""
    return (
        f"“{column}”: {len(unseen):,} row(s) have values the model never learned in training "
        f"(unseen, or too rare there): {shown}{more}. They are scored like a rare value, "
        "so those predictions are less reliable."
    )


def _out_of_range(
    column: str, low: float, high: float, plan: FeaturePlan, frame: pd.DataFrame
) -> str | None:
    import numpy as np

    from training.input.numbers import DOT, finite_floats, parse_numbers

    if column in plan.text_numbers:
        numbers = parse_numbers(frame[column], plan.number_formats.get(column, DOT))
    else:
        numbers = finite_floats(frame[column])
    values = numbers.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    outside = int(((values < low) | (values > high)).sum())
    if outside == 0 or outside < OUT_OF_RANGE_SHARE * len(values):
        return None
    from training.outputs.charts.alt_text import fmt

    return (
        f"“{column}”: {outside:,} of {len(values):,} row(s) ({outside / len(values):.0%}) are "
        f"outside the training range {fmt(low)} to {fmt(high)}; the model has not seen such "
        "values, so those predictions are less reliable."
    )
