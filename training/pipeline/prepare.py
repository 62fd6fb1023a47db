"""The table made ready for the search: the target and metric chosen, the holdout rows split
off, the feature plan made on the training rows, and notes for a person (`prepare_data`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from contract.jobs import DroppedColumn, JobSpec, SuspectedLeak
from training.errors import InputError
from training.input.numbers import count_non_finite, non_finite_note
from training.pipeline.column_signal import suspected_leaks
from training.pipeline.evaluation import split_holdout
from training.pipeline.features import FeaturePlan, plan_features
from training.pipeline.metrics import choose_metric
from training.pipeline.target import Target, prepare_target, resolve_column


@dataclass
class PreparedData:
    """What the search trains on and is tested on, and what the result says about it."""

    target: Target
    metric: str
    plan: FeaturePlan
    excluded: list[DroppedColumn]  # left out on request (`exclude=`)
    train_index: pd.Index
    test_index: pd.Index
    X_train: pd.DataFrame  # the training rows as the plan transforms them
    y_train: pd.Series
    test_frame: pd.DataFrame  # the holdout rows' raw columns: the saved model takes raw columns
    y_test: pd.Series
    notes: list[str]
    suspected_leaks: list[SuspectedLeak]


@dataclass(frozen=True)
class _Columns:
    """The spec's column names resolved to the table's own."""

    target: str
    excluded: list[str]
    kept: set[str]


def prepare_data(frame: pd.DataFrame, spec: JobSpec) -> PreparedData:
    """Raises `InputError` when the table and the spec cannot make a model."""
    columns = _resolve_columns([str(c) for c in frame.columns], spec)
    target = prepare_target(frame, columns.target, spec.task)
    metric = choose_metric(spec.metric, target.task, len(target.classes))
    features = frame.loc[target.values.index].drop(columns=[columns.target, *columns.excluded])
    train_index, test_index = split_holdout(
        target.values, stratify=target.task == "classification", seed=spec.seed
    )
    training_rows = features.loc[train_index]  # taken once: a copy on a million rows
    plan = plan_features(training_rows, target, keep=columns.kept)
    if not plan.input_columns:
        reasons = "; ".join(f"“{d.name}”: {d.reason}" for d in plan.dropped[:5]) or "none left"
        raise InputError(
            "no_usable_features",
            f"No column is left to learn “{columns.target}” from ({reasons}).",
            "Add columns that describe each row, or exclude fewer columns.",
        )
    leaks = suspected_leaks(training_rows[plan.input_columns], target, columns.kept)
    return PreparedData(
        target=target,
        metric=metric,
        plan=plan,
        excluded=[DroppedColumn(name=c, reason="excluded on request") for c in columns.excluded],
        train_index=train_index,
        test_index=test_index,
        X_train=plan.transform(training_rows),
        y_train=target.values.loc[train_index],
        test_frame=features.loc[test_index],
        y_test=target.values.loc[test_index],
        notes=_notes(features, plan, target),
        suspected_leaks=leaks,
    )


def _resolve_columns(columns: list[str], spec: JobSpec) -> _Columns:
    target_name = resolve_column(columns, spec.target)
    excluded = []
    for name in spec.exclude_columns:
        column = resolve_column(columns, name, what="column to exclude")
        if column == target_name:
            raise InputError(
                "target_excluded",
                f"“{column}” is the target, so it cannot be excluded too.",
                "Remove it from exclude=.",
            )
        excluded.append(column)
    kept = {resolve_column(columns, name, what="column to keep") for name in spec.keep_columns}
    if kept & set(excluded):
        both = ", ".join(f"“{c}”" for c in sorted(kept & set(excluded)))
        raise InputError(
            "keep_and_exclude",
            f"{both} is asked to be both kept and excluded.",
            "Name each column in keep= or in exclude=, not both.",
        )
    return _Columns(target_name, excluded, kept)


def _notes(features: pd.DataFrame, plan: FeaturePlan, target: Target) -> list[str]:
    """What a person should know about the rows and columns the model learns from."""
    notes = []
    note = non_finite_note(count_non_finite(features))
    if note is not None:
        notes.append(note)
    notes += plan.kept_identifiers.values()
    if target.rows_dropped_missing:
        notes.append(f"{target.rows_dropped_missing} rows without a “{target.name}” were left out.")
    if target.rare_classes_dropped:
        shown = ", ".join(f"“{c}”" for c in target.rare_classes_dropped[:5])
        notes.append(
            f"{len(target.rare_classes_dropped)} class(es) with a single row were left out "
            f"({shown}): one row cannot be both learned and tested."
        )
    return notes
