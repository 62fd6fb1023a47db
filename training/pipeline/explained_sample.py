"""The job's explanation stage: a sample of the holdout rows explained in the time left, the
columns' effects for the charts, and the summary for result.json."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.jobs import ColumnEffect as ResultColumnEffect
from contract.jobs import Explanations

if TYPE_CHECKING:
    import pandas as pd

    from training.pipeline.explanation_words import ColumnEffect
    from training.pipeline.model import TrainedModel

log = logging.getLogger(__name__)

MIN_SECONDS = 0.2
RESULT_COLUMNS = 20


@dataclass
class ExplainedSample:
    effects: list[ColumnEffect]  # largest first, with the values the dependence charts draw
    summary: Explanations
    seconds: float


def explain_holdout(
    model: TrainedModel, frame: pd.DataFrame, seconds: float, seed: int
) -> tuple[ExplainedSample | None, str | None]:
    """The explained sample, or None and a note for a person saying why not."""
    from training.pipeline.explanation_words import (
        column_effects,
        summary_sentences,
        what_is_explained,
    )
    from training.pipeline.explanations import ExplanationSkipped, explain_sample

    if model.background is None:
        return None, "The explanations were skipped: the model's background could not be kept."
    if seconds < MIN_SECONDS:
        return None, (
            "The explanations were skipped: the time budget was used up by the search. "
            "Give the job more time to get them."
        )
    started = time.monotonic()
    try:
        contributions, sample = explain_sample(model, frame, seconds=seconds, seed=seed)
    except ExplanationSkipped as skipped:
        return None, str(skipped)
    effects = column_effects(model, contributions, sample)
    summary = Explanations(
        sentences=summary_sentences(model, contributions, effects),
        explained=what_is_explained(model, contributions.explained),
        scale="value" if model.task == "regression" else "probability",
        rows=len(sample),
        method="; ".join(contributions.methods),
        columns=[
            ResultColumnEffect(
                column=e.column, mean_abs_contribution=e.mean_abs, direction=e.direction
            )
            for e in effects[:RESULT_COLUMNS]
        ],
    )
    elapsed = time.monotonic() - started
    log.info("explained %d rows in %.2f s (%s)", len(sample), elapsed, summary.method)
    return ExplainedSample(effects, summary, elapsed), None
