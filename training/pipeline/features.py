"""From raw columns to model inputs, fitted once on the training rows and saved with the model.

The plan decides what each column is (number, category, date) and drops the ones a model
cannot generalise from, with a reason a person can read: identifiers, constants, empty
columns, copies of the target. `transform` applies the same steps to any new file.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contract.jobs import DroppedColumn
from training.errors import InputError
from training.input.numbers import DOT, finite_floats, number_format_of, number_share, parse_numbers

if TYPE_CHECKING:
    import pandas as pd

    from training.pipeline.target import Target

# Levels seen at least this often in training are kept (native categorical handling in the
# boosters learns from each of them); rarer ones share one level with the unseen ones.
MIN_LEVEL_ROWS = 2
MAX_CATEGORIES = 5_000
OTHER = "(other)"
DATE_SHARE = 0.9  # share of values that must parse as dates for a column to be a date
NUMBER_SHARE = 0.95  # share of text values that must parse as numbers ("$1,200", "15%")
PLAN_SAMPLE_ROWS = 100_000
NEAR_UNIQUE_SHARE = 0.9  # text columns with a new value in nine rows of ten are ids or free text
DATE_PARTS = ("year", "month", "day", "day_of_week", "hour", "days")

_ID_NAME = re.compile(
    r"(^|[_\s.-])(id|uuid|guid|key|idx|index|rownum)$|^(id|index|row|row_?number|unnamed.*)$|[a-z]Id$",
    re.IGNORECASE,
)
_UNSAFE_NAME = re.compile(r'[\[\]{}":,<>]')


@dataclass
class FeaturePlan:
    """What to do with each raw column. Pickled inside the saved model."""

    numeric: list[str] = field(default_factory=list)
    text_numbers: list[str] = field(default_factory=list)  # text to clean into numbers
    number_formats: dict[str, str] = field(default_factory=dict)  # text number -> DOT/COMMA
    booleans: list[str] = field(default_factory=list)
    dates: dict[str, str | None] = field(default_factory=dict)  # column -> strptime format
    date_parts: dict[str, list[str]] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[DroppedColumn] = field(default_factory=list)
    # Identifier-looking columns used because they predict the target: column -> why.
    kept_identifiers: dict[str, str] = field(default_factory=dict)

    @property
    def input_columns(self) -> list[str]:
        """The raw columns a new file must have."""
        return [*self.numeric, *self.text_numbers, *self.booleans, *self.dates, *self.categories]

    @property
    def feature_names(self) -> list[str]:
        parts = [f"{col}.{part}" for col, names in self.date_parts.items() for part in names]
        names = [*self.numeric, *self.text_numbers, *self.booleans, *parts, *self.categories]
        return [safe_feature_name(n) for n in names]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            shown = ", ".join(f"“{c}”" for c in missing[:10])
            raise InputError(
                "missing_columns",
                f"The file lacks {len(missing)} column(s) the model was trained on: {shown}"
                f"{' …' if len(missing) > 10 else ''}.",
                "Use a file with the same columns as the training file (extra columns are fine).",
            )
        out: dict[str, pd.Series] = {}
        for col in self.numeric:
            out[col] = finite_floats(frame[col])
        formats = getattr(self, "number_formats", {})  # plans pickled before it existed lack it
        for col in self.text_numbers:
            out[col] = _clean_numbers(frame[col], formats.get(col, DOT))
        for col in self.booleans:
            out[col] = _as_bool_numbers(frame[col])
        for col, fmt in self.dates.items():
            out.update(_date_parts(_parse_dates(frame[col], fmt), col, self.date_parts[col]))
        for col, kept in self.categories.items():
            out[col] = _as_category(frame[col], kept)
        return pd.DataFrame(out, index=frame.index).rename(columns=safe_feature_name)


def safe_feature_name(name: str) -> str:
    """LightGBM and XGBoost refuse feature names with JSON or comparison characters."""
    return _UNSAFE_NAME.sub("_", name)


def plan_features(frame: pd.DataFrame, target: Target, keep: Collection[str] = ()) -> FeaturePlan:
    """Fit the plan on the training rows (`frame` holds the feature columns only).

    Kinds are decided on a sample of large tables (text checks on a million rows take
    seconds each); the decisions that a sample could get wrong are checked on all rows.
    Columns in `keep` are used even where they look like identifiers or copies of the target.
    """
    import pandas as pd

    plan = FeaturePlan()
    sample = frame
    if len(frame) > PLAN_SAMPLE_ROWS:
        sample = frame.sample(PLAN_SAMPLE_ROWS, random_state=0)
    y = target.values.loc[sample.index]
    for col in sample.columns:
        values = sample[col]
        reason = _reason_to_drop(values, y, target, keep=col in keep)
        if reason == _SAME_VALUE and sample is not frame and not _is_constant(frame[col]):
            reason = None  # rare other values the sample missed
        if reason:
            plan.dropped.append(DroppedColumn(name=col, reason=reason))
        elif pd.api.types.is_bool_dtype(values):
            plan.booleans.append(col)
        elif pd.api.types.is_datetime64_any_dtype(values):
            _add_date(plan, col, values, None)
        elif pd.api.types.is_numeric_dtype(values):
            if _looks_like_row_id(col, frame[col]) and not _identifier_earns_its_place(
                plan, col, frame[col], target, keep=col in keep
            ):
                plan.dropped.append(DroppedColumn(name=col, reason=_ID_NOISE_REASON))
            else:
                plan.numeric.append(col)
        else:
            _plan_text_column(plan, col, values.astype("string"), keep=col in keep)
    return plan


_ID_REASON = "a different value in every row, like an identifier: nothing to learn from"
_ID_NOISE_REASON = (
    "a different value in every row, like an identifier, and no signal in it: nothing to learn from"
)
_SAME_VALUE = "the same value in every row"


def _is_constant(values: pd.Series) -> bool:
    return bool(values.notna().all() and values.nunique() == 1)


def _reason_to_drop(
    values: pd.Series, y: pd.Series, target: Target, *, keep: bool = False
) -> str | None:
    present = values.dropna()
    if present.empty:
        return "every value is missing"
    if keep:
        return None
    distinct = present.nunique()
    if distinct == 1 and len(present) == len(values):
        return _SAME_VALUE
    if _copies_target(values, y, target):
        return "a copy of the target: it gives the answer away"
    return None


def _copies_target(values: pd.Series, y: pd.Series, target: Target) -> bool:
    import numpy as np
    import pandas as pd

    present = values.notna()
    if present.mean() < 0.99:
        return False
    values, y = values[present], y[present]
    if target.task == "regression":
        numbers = _clean_numbers(values)  # ±inf missing: such a column is no copy
        if numbers.isna().any() or numbers.nunique() < 3:
            return False
        return bool(abs(np.corrcoef(numbers.to_numpy(float), y.to_numpy(float))[0, 1]) > 0.99999)
    if values.nunique() != y.nunique():
        return False
    pairs = pd.DataFrame({"v": values.astype(str).to_numpy(), "y": y.to_numpy()})
    return bool(pairs.groupby("v")["y"].nunique().max() == 1)


def _looks_like_row_id(name: str, values: pd.Series) -> bool:
    import pandas as pd

    present = values.dropna()
    if not pd.api.types.is_integer_dtype(present) and not (present == present.round()).all():
        return False
    if present.nunique() != len(present) or len(present) < 20:
        return False
    if _ID_NAME.search(name):
        return True
    ordered = present.sort_values().to_numpy()
    return bool(ordered[-1] - ordered[0] + 1 == len(ordered))  # a run like 1..n


def _identifier_earns_its_place(
    plan: FeaturePlan, col: str, values: pd.Series, target: Target, *, keep: bool
) -> bool:
    """Unique integers are used when they predict the target (ranges that encode a group)."""
    from contract.metrics import metric_label
    from training.pipeline.column_signal import column_signal

    if keep:
        plan.kept_identifiers[col] = f"“{col}” looks like an identifier; it is used as asked."
        return True
    signal = column_signal(values, target)
    if not signal.has_signal:
        return False
    plan.kept_identifiers[col] = (
        f"“{col}” looks like an identifier but predicts the target on its own "
        f"({metric_label(signal.metric)} {signal.score:.2f} against {signal.chance:.2f} "
        f"by chance), so it is used; exclude={col} leaves it out."
    )
    return True


def _plan_text_column(
    plan: FeaturePlan, col: str, values: pd.Series, *, keep: bool = False
) -> None:
    present = values.dropna()
    fmt = _date_format(present)
    if fmt is not None:
        _add_date(plan, col, values, fmt or None)
        return
    number_format = number_format_of(present)
    if number_share(present, number_format) >= NUMBER_SHARE:
        plan.text_numbers.append(col)
        plan.number_formats[col] = number_format
        return
    distinct = present.nunique()
    if not keep and len(present) >= 20 and distinct >= NEAR_UNIQUE_SHARE * len(present):
        reason = (
            _ID_REASON
            if distinct == len(present)
            else f"a text of its own in {distinct / len(present):.0%} of rows: an identifier or "
            "free text, nothing a model can generalise from"
        )
        plan.dropped.append(DroppedColumn(name=col, reason=reason))
        return
    counts = present.value_counts()
    common = counts[counts >= MIN_LEVEL_ROWS] if not keep else counts
    plan.categories[col] = [str(v) for v in common.index[:MAX_CATEGORIES]]


def _date_format(present: pd.Series) -> str | None:
    """The strptime format of a date column ("" for ISO-like mixed), or None if not dates."""
    from pandas.tseries.api import guess_datetime_format

    sample = present.head(500)
    if sample.empty or not sample.str.contains(r"\d", regex=True).all():
        return None
    if not sample.str.contains(r"[-/.: ]", regex=True).all():
        return None  # "20240105" or "2024" are more often numbers or codes than dates
    if sample.str.fullmatch(r"-?\d+([.,]\d+)?").any():
        return None
    # Day-first and month-first dates look alike until a day passes 12: try both readings
    # and keep the format that parses the most values.
    candidates: list[str | None] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dayfirst in (False, True):
            for value in sample.head(20):
                fmt = guess_datetime_format(value, dayfirst=dayfirst)
                if fmt not in candidates:
                    candidates.append(fmt)
    rates = {fmt: _parse_dates(sample, fmt).notna().mean() for fmt in candidates}
    fmt = max(rates, key=lambda f: rates[f]) if rates else None
    if fmt is None or rates[fmt] < DATE_SHARE:
        return None
    return fmt or ""


def _parse_dates(values: pd.Series, fmt: str | None) -> pd.Series:

    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not infer format" for mixed inputs
            text = values.astype("string")
            parsed = pd.to_datetime(text, format=fmt or "mixed", errors="coerce", utc=True)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


def _add_date(plan: FeaturePlan, col: str, values: pd.Series, fmt: str | None) -> None:
    parsed = _parse_dates(values, fmt)
    parts = _date_parts(parsed, col, list(DATE_PARTS))
    useful = [p for p in DATE_PARTS if parts[f"{col}.{p}"].nunique() > 1]
    if not useful:
        plan.dropped.append(DroppedColumn(name=col, reason="the same date in every row"))
        return
    plan.dates[col] = fmt
    plan.date_parts[col] = useful


def _date_parts(parsed: pd.Series, col: str, parts: list[str]) -> dict[str, pd.Series]:
    out = {}
    for part in parts:
        if part == "days":  # the trend: days since 1970
            series = parsed.astype("datetime64[s]").astype("int64") / 86400.0
            series = series.where(parsed.notna())
        else:
            series = getattr(parsed.dt, part)
        out[f"{col}.{part}"] = series.astype("float64")
    return out


def _clean_numbers(values: pd.Series, number_format: str | None = None) -> pd.Series:
    """Numbers from text like "$1,200", "1.076,90 €" or "(15%)"; ±inf become missing."""
    return parse_numbers(values, number_format)


def _as_bool_numbers(values: pd.Series) -> pd.Series:
    import pandas as pd

    mapped = values.map({True: 1.0, False: 0.0, "True": 1.0, "False": 0.0})
    return pd.to_numeric(mapped, errors="coerce").astype("float64")


def _as_category(values: pd.Series, kept: list[str]) -> pd.Series:
    import pandas as pd

    text = values.astype("string")
    text = text.where(text.isna() | text.isin(kept), OTHER)
    return pd.Series(pd.Categorical(text, categories=[*kept, OTHER]), index=values.index)
