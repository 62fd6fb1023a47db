"""The target column: find it, clean it, decide the task, and check it can be learned."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.tasks import RequestedTask, TaskName
from training.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

MIN_ROWS = 20  # below this neither the search nor the holdout score means anything
MIN_ROWS_PER_CLASS = 2  # a stratified split needs at least one row of each class on each side
MIN_AVERAGE_ROWS_PER_CLASS = 5
# Integer targets with at most this many distinct values are read as classes.
MAX_INTEGER_CLASSES = 20


@dataclass(frozen=True)
class Target:
    name: str
    task: TaskName
    values: pd.Series  # classification: string labels; regression: float
    rows_dropped_missing: int
    classes: tuple[str, ...]  # sorted; empty for regression
    rare_classes_dropped: tuple[str, ...] = ()


def resolve_column(columns: list[str], wanted: str, *, what: str = "target") -> str:
    """The column the person meant: exact, then ignoring case and spaces, else a helpful error."""
    if wanted in columns:
        return wanted
    folded = {_fold(c): c for c in columns}
    if _fold(wanted) in folded:
        return folded[_fold(wanted)]
    close = difflib.get_close_matches(wanted, columns, n=3, cutoff=0.5)
    close += [c for c in columns if _fold(wanted) in _fold(c) and c not in close][:3]
    hint = (
        f"Did you mean {_quoted(close)}?"
        if close
        else f"The columns are: {_quoted(columns[:15])}{' …' if len(columns) > 15 else ''}."
    )
    code = "target_not_found" if what == "target" else "column_not_found"
    raise InputError(code, f"There is no column named “{wanted}” to use as the {what}.", hint)


def prepare_target(frame: pd.DataFrame, name: str, requested: RequestedTask) -> Target:
    """Drop rows without a target, pick the task and check the target is learnable."""

    raw = frame[name]
    present = raw.notna()
    rows_dropped = int((~present).sum())
    raw = raw[present]
    if raw.empty:
        raise InputError(
            "target_empty",
            f"The target column “{name}” has no values.",
            "Pick a column that holds the answer you want the model to predict.",
        )
    task = requested if requested != "auto" else infer_task(raw)
    if task == "regression":
        numeric = _as_numbers(raw)
        if numeric.notna().mean() < 0.95:
            raise InputError(
                "target_not_numeric",
                f"Regression needs numbers, but “{name}” holds text such as "
                f"{_quoted(_examples(raw[numeric.isna()]))}.",
                "Use task=classification, or pick a numeric column.",
            )
        rows_dropped += int(numeric.isna().sum())
        values = numeric.dropna().astype("float64")
        _check_rows(values, name)
        _check_not_constant(values, name)
        return Target(name, "regression", values, rows_dropped, ())

    labels = _as_labels(raw)
    _check_rows(labels, name)
    _check_not_constant(labels, name)
    counts = labels.value_counts()
    rare = counts[counts < MIN_ROWS_PER_CLASS]
    if len(counts) - len(rare) < 2 or len(counts) > len(labels) / MIN_AVERAGE_ROWS_PER_CLASS:
        raise InputError(
            "too_many_classes",
            f"“{name}” has {len(counts)} different values in {len(labels)} rows: too few rows "
            "per class to learn and test each one.",
            "If it is a number to predict, use task=regression; otherwise group rare values "
            "or add more rows (at least 5 per class).",
        )
    if len(rare):
        labels = labels[~labels.isin(rare.index)]
    classes = tuple(sorted(labels.unique()))
    return Target(name, "classification", labels, rows_dropped, classes, tuple(rare.index))


def infer_task(values: pd.Series) -> TaskName:
    """Text, booleans and small sets of whole numbers are classes; other numbers regression.

    A set of whole numbers is small when it has at most `MAX_INTEGER_CLASSES` values and
    enough rows for each (`MIN_AVERAGE_ROWS_PER_CLASS`): 16 weights in 20 rows are amounts to
    predict, not 16 classes of about one row each."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return "classification"
    numeric = _as_numbers(values)
    if numeric.notna().mean() < 0.95:
        return "classification"
    numeric = numeric.dropna()
    whole = bool((numeric == numeric.round()).all())
    levels = numeric.nunique()
    few_enough = levels <= MAX_INTEGER_CLASSES
    if whole and few_enough and len(numeric) >= MIN_AVERAGE_ROWS_PER_CLASS * levels:
        return "classification"
    return "regression"


def _as_numbers(values: pd.Series) -> pd.Series:
    """Numbers as people write them ("1.076,90 €", "15%"); ±inf are missing values."""
    import pandas as pd

    from training.input.numbers import finite_floats, number_format_of, parse_numbers

    if pd.api.types.is_numeric_dtype(values):
        return finite_floats(values)
    text = values.astype("string")
    return parse_numbers(text, number_format_of(text.dropna()))


def _as_labels(raw: pd.Series) -> pd.Series:
    """Class labels as strings: 1.0 and 1 are the same class, and results print the same."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(raw):
        return raw.map({True: "True", False: "False"}).astype(object)
    if pd.api.types.is_numeric_dtype(raw):
        numeric = raw.astype("float64")
        if (numeric == numeric.round()).all():
            return numeric.astype("int64").astype(str).astype(object)
        return numeric.astype(str).astype(object)
    return raw.astype(str).str.strip().astype(object)


def _check_rows(values: pd.Series, name: str) -> None:
    if len(values) < MIN_ROWS:
        raise InputError(
            "too_few_rows",
            f"Only {len(values)} rows have a value in “{name}”; at least {MIN_ROWS} are needed "
            "to train a model and test it on rows it has not seen.",
            "Add more rows (a few hundred give a useful model).",
        )


def _check_not_constant(values: pd.Series, name: str) -> None:
    if values.nunique() < 2:
        raise InputError(
            "target_single_value",
            f"Every row has the same value in “{name}” ({values.iloc[0]!s}): "
            "there is nothing to learn.",
            "Pick a column whose values differ between rows.",
        )


def _examples(values: pd.Series, n: int = 3) -> list[str]:
    return [str(v) for v in values.drop_duplicates().head(n)]


def _fold(text: str) -> str:
    return "".join(text.lower().split()).replace("_", "").replace("-", "")


def _quoted(names: list[str]) -> str:
    return ", ".join(f"“{n}”" for n in names)
