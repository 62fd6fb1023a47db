"""What a prediction job tells a person about its output: the spread of the predictions and
the warnings about the file, as the contract's structured items (`PredictionResult`).

The sentences themselves come from `training.pipeline.scoring_checks` (and the model's notes
about its reasons); this module only sorts them by what they are about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contract.jobs import ClassCount, PredictionWarning

if TYPE_CHECKING:
    import pandas as pd

    from training.pipeline.model import TrainedModel
    from training.pipeline.scoring_checks import ScoringWarnings

QUANTILES = {"min": 0.0, "p10": 0.1, "median": 0.5, "p90": 0.9, "max": 1.0}


def class_counts(predicted: pd.Series) -> list[ClassCount]:
    """Rows per predicted class, most first (ties by label, so the order is stable)."""
    counts = predicted.astype(str).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return [ClassCount(label=str(label), rows=int(rows)) for label, rows in ordered]


def quantiles(predicted: pd.Series) -> dict[str, float]:
    """The predicted values' minimum, 10th percentile, median, 90th percentile and maximum."""
    values = predicted.astype(float).dropna()
    if values.empty:
        return {}
    return {name: float(values.quantile(q)) for name, q in QUANTILES.items()}


def structured_warnings(
    model: TrainedModel, checks: ScoringWarnings, sentences: list[str]
) -> list[PredictionWarning]:
    """Each sentence of `sentences` (the checks' and those scoring added) with its kind and
    columns. The checks name a column first, as `“column”: …`; that says which check spoke."""
    ranges = model.profile.numeric_ranges if model.profile is not None else {}
    categories = model.plan.categories
    items: list[PredictionWarning] = []
    for sentence in sentences:
        column = _leading_column(sentence)
        if checks.extra_columns and sentence == _first_of(checks):
            items.append(
                PredictionWarning(
                    kind="extra_columns", columns=list(checks.extra_columns), sentence=sentence
                )
            )
        elif column is not None and column in categories:
            items.append(
                PredictionWarning(kind="unseen_categories", columns=[column], sentence=sentence)
            )
        elif column is not None and column in ranges:
            items.append(
                PredictionWarning(kind="out_of_range", columns=[column], sentence=sentence)
            )
        elif sentence not in checks.sentences:  # added while scoring: about the reasons
            items.append(PredictionWarning(kind="reasons", sentence=sentence))
        else:
            items.append(PredictionWarning(kind="note", sentence=sentence))
    return items


def _first_of(checks: ScoringWarnings) -> str | None:
    # `check_rows` says the extra columns first, when there are any.
    return checks.sentences[0] if checks.sentences else None


def _leading_column(sentence: str) -> str | None:
    if not sentence.startswith("“"):
        return None
    end = sentence.find("”:")
    return sentence[1:end] if end > 0 else None
