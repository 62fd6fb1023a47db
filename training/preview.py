"""Describe a shared table before anyone trains on it: `python -m training preview PATH`.

The preview reads the file with the reader training uses (`read_table`), and judges each
column with the same helpers the feature plan and the target use, so what the preview says
(this is an identifier, this will be the task) is what training will then do.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from contract.jobs import ColumnKind, ColumnPreview, DatasetPreview, Limits
from contract.tasks import TaskName
from training.errors import InputError
from training.input.reading import read_table_within
from training.pipeline.features import (
    NEAR_UNIQUE_SHARE,
    NUMBER_SHARE,
    PLAN_SAMPLE_ROWS,
    _clean_numbers,
    _date_format,
    _is_constant,
    _looks_like_row_id,
)
from training.pipeline.target import MIN_ROWS, infer_task, prepare_target

MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 40
# The fallback target search tries the columns from the right; each try costs a pass over
# the (sampled) column, so a very wide table of unusable columns stops here.
MAX_TARGET_TRIES = 25
MAX_NOTE_NAMES = 5
PROSE_WORDS = 3  # a near-unique text column whose values typically hold this many words is prose

# Words that name the thing to predict: generic ones rank above domain ones.
_GENERIC_LABELS = ("target", "label", "labels", "class", "y", "outcome", "response")
_DOMAIN_LABELS = (
    "churn",
    "churned",
    "default",
    "defaulted",
    "fraud",
    "fraudulent",
    "survived",
    "price",
    "saleprice",
    "diagnosis",
    "converted",
    "attrition",
    "approved",
    "clicked",
    "purchased",
    "salary",
    "quality",
    "species",
)
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "y", "n", "t", "f"})
_TARGET_KINDS = frozenset({"number", "category", "boolean"})
_LEFT_OUT_KINDS: dict[str, str] = {
    "identifier": "identifier",
    "constant": "same value in every row",
    "empty": "no values",
    "text": "free text",
}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def preview_table(path: Path, file_name: str, *, limits: Limits | None = None) -> DatasetPreview:
    """Read the table and describe it. Raises `InputError` when it cannot be read."""
    limits = limits or Limits()
    frame = read_table_within(path, file_name, limits)
    sample = frame
    if len(frame) > PLAN_SAMPLE_ROWS:
        sample = frame.sample(PLAN_SAMPLE_ROWS, random_state=0)

    columns = [_describe(str(name), sample[name], frame[name]) for name in frame.columns]
    target, task = _suggest_target(sample, columns)
    return DatasetPreview(
        file_name=file_name,
        format=_format_of(Path(path)),
        rows=len(frame),
        columns=columns,
        suggested_target=target,
        suggested_task=task,
        notes=_notes(frame, sample, columns, target),
    )


# ---- columns -----------------------------------------------------------------------------


def _describe(name: str, sample: pd.Series, full: pd.Series) -> ColumnPreview:
    return ColumnPreview(
        name=name,
        kind=column_kind(name, sample, full),
        missing=int(full.isna().sum()),
        distinct=int(full.nunique(dropna=True)),
        examples=_examples(full),
    )


def column_kind(name: str, sample: pd.Series, full: pd.Series) -> ColumnKind:
    """The kind of one column, decided as `training.pipeline.features.plan_features` decides.

    `sample` holds the rows the decision is made on (all of them for small tables); checks a
    sample could get wrong (constant, row id) look at `full`.
    """
    if not full.notna().any():
        return "empty"
    if _is_constant(full):
        return "constant"
    values = sample if sample.notna().any() else full
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_numeric_dtype(values):
        if _looks_like_row_id(name, full):
            return "identifier"
        if set(values.dropna().unique()) == {0, 1}:
            return "boolean"
        return "number"

    present = values.astype("string").dropna()
    if _date_format(present) is not None:
        return "date"
    distinct = present.nunique()
    if distinct == 2 and set(present.str.lower().unique()) <= _BOOLEAN_WORDS:
        return "boolean"
    if _clean_numbers(present).notna().mean() >= NUMBER_SHARE:
        return "number"  # "$1,200" or "15%": training reads these as numbers
    if len(present) >= 20 and distinct >= NEAR_UNIQUE_SHARE * len(present):
        # Training drops both; the preview tells a person which of the two it saw.
        words = present.head(1000).str.split().str.len().median()
        return "text" if words >= PROSE_WORDS else "identifier"
    return "category"


def _examples(full: pd.Series) -> list[str]:
    # The first distinct values of the first rows: cheap on a million rows, and familiar.
    head = full.dropna().head(1000)
    shown: list[str] = []
    for value in head.drop_duplicates().head(MAX_EXAMPLES):
        shown.append(_short(value))
    return shown


def _short(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        text = value.date().isoformat() if value == value.normalize() else value.isoformat()
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(round(value, 4))
    else:
        text = " ".join(str(value).split())  # newlines inside a cell would break a table row
    if len(text) > MAX_EXAMPLE_CHARS:
        text = text[: MAX_EXAMPLE_CHARS - 1] + "…"
    return text


# ---- target ------------------------------------------------------------------------------


def _suggest_target(
    sample: pd.DataFrame, columns: list[ColumnPreview]
) -> tuple[str | None, TaskName | None]:
    """A column named like a label, else the last column that training could predict."""
    usable = [c for c in columns if c.kind in _TARGET_KINDS]
    named = sorted(
        (rank, -position, column.name)
        for position, column in enumerate(usable)
        if (rank := label_rank(column.name)) is not None
    )
    by_name = [name for *_, name in named]
    by_position = [c.name for c in reversed(usable) if c.name not in by_name]
    for name in [*by_name, *by_position][:MAX_TARGET_TRIES]:
        task = _learnable_task(sample, name)
        if task is not None:
            return name, task
    return None, None


def label_rank(name: str) -> tuple[int, int] | None:
    """How strongly a column name says "predict me": lower is stronger; None if it does not.

    The whole name beats a suffix (`churned` beats `is_churned`), generic words beat domain
    ones. One-letter words (`y`) count only as the whole name: `pos_y` is a coordinate.
    """
    words = [w.lower() for w in _WORD.findall(name)]
    if not words:
        return None
    whole = "".join(words)
    for match, candidate in ((0, whole), (1, words[-1])):
        if match == 1 and (len(words) == 1 or len(candidate) < 3):
            continue
        for tier, vocabulary in enumerate((_GENERIC_LABELS, _DOMAIN_LABELS)):
            if candidate in vocabulary:
                return match, tier
    return None


def _learnable_task(sample: pd.DataFrame, name: str) -> TaskName | None:
    """The task training would pick for this target, or None if training would refuse it."""
    try:
        return prepare_target(sample, name, "auto").task
    except InputError as error:
        if error.code != "too_few_rows":
            return None
    # A small table is still worth a suggestion; the notes say it is too small to train.
    return infer_task(sample[name].dropna())


# ---- notes -------------------------------------------------------------------------------


def _notes(
    frame: pd.DataFrame, sample: pd.DataFrame, columns: list[ColumnPreview], target: str | None
) -> list[str]:
    notes: list[str] = []
    if len(frame) < MIN_ROWS:
        notes.append(
            f"Only {len(frame)} rows: training needs at least {MIN_ROWS} rows with a value in "
            "the target (a few hundred give a useful model)."
        )
    by_name = {c.name: c for c in columns}
    if target is None:
        notes.append("No column looks like something to predict: pick the target yourself.")
    elif by_name[target].missing:
        missing = by_name[target].missing
        notes.append(
            f"{_rows(missing)} no value in “{target}”: training leaves {_them(missing)} out."
        )

    left_out = [c for c in columns if c.kind in _LEFT_OUT_KINDS and c.name != target]
    if left_out:
        shown = ", ".join(f"“{c.name}” ({_LEFT_OUT_KINDS[c.kind]})" for c in left_out[:8])
        more = f" and {len(left_out) - 8} more" if len(left_out) > 8 else ""
        notes.append(
            f"Training will leave out {len(left_out)} column{_s(len(left_out))}: {shown}{more}."
        )

    text_numbers = [
        c
        for c in columns
        if c.kind == "number" and not pd.api.types.is_numeric_dtype(frame[c.name])
    ]
    if text_numbers:
        example = text_numbers[0].examples[0] if text_numbers[0].examples else ""
        like = f" (like “{example}”)" if example else ""
        notes.append(
            f"{_names(text_numbers)} hold{'s' if len(text_numbers) == 1 else ''} numbers "
            f"written as text{like}: training reads them as numbers."
        )

    gaps = sorted(
        (c for c in columns if c.missing and c.name != target and c.kind != "empty"),
        key=lambda c: -c.missing,
    )
    if gaps:
        shown = ", ".join(f"“{c.name}” in {_n_rows(c.missing)}" for c in gaps[:MAX_NOTE_NAMES])
        more = f" and {len(gaps) - MAX_NOTE_NAMES} more" if len(gaps) > MAX_NOTE_NAMES else ""
        notes.append(f"Empty cells: {shown}{more}.")

    if len(sample) < len(frame):
        notes.append(
            f"Column kinds were judged on a sample of {len(sample):,} of the {len(frame):,} rows."
        )
    return notes


def _names(columns: list[ColumnPreview]) -> str:
    shown = ", ".join(f"“{c.name}”" for c in columns[:MAX_NOTE_NAMES])
    extra = len(columns) - MAX_NOTE_NAMES
    return shown + (f" and {extra} more" if extra > 0 else "")


def _rows(n: int) -> str:
    return "1 row has" if n == 1 else f"{n:,} rows have"


def _n_rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n:,} rows"


def _them(n: int) -> str:
    return "it" if n == 1 else "them"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# ---- format ------------------------------------------------------------------------------


def _format_of(path: Path) -> str:
    """csv, tsv, xlsx or parquet, from the same first bytes `read_table` looks at."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "xlsx"
    first_line = head.split(b"\n", 1)[0]
    if first_line.count(b"\t") > max(first_line.count(b","), first_line.count(b";")):
        return "tsv"
    return "csv"
