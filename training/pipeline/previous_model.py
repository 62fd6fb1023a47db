"""Retraining: the previous model scored on the new model's holdout rows, for a fair comparison.

The spec names a copy of the previous model and the SHA-256 the bot verified against its
signature; the copy is unpickled only when its bytes match. Whatever keeps the previous model
from scoring the new rows (columns it needs are missing, another task, a class it never saw)
becomes a note for a person: the new model's results never fail because of the old one.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from contract.jobs import ModelComparison, PreviousModel
from contract.run_folder import MODEL_FILE
from training.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from training.pipeline.model import TrainedModel

log = logging.getLogger(__name__)

_LOAD_NOTES = {
    "model_not_found": "its model file is gone.",
    "model_tampered": "its model file changed after training.",
}


def _load(previous: PreviousModel) -> TrainedModel:
    from training.aws import storage
    from training.pipeline.model import TrainedModel

    if not storage.is_s3(previous.model_uri):
        return TrainedModel.load(Path(previous.model_uri), sha256=previous.sha256)
    with tempfile.TemporaryDirectory(prefix="automl-previous-") as folder:
        path = storage.download(previous.model_uri, Path(folder) / MODEL_FILE)
        return TrainedModel.load(path, sha256=previous.sha256)


def compared_metric(metric: str | None, scores: dict[str, float]) -> str | None:
    """The search's metric when the holdout has it, else the first holdout score."""
    if metric and metric in scores:
        return metric
    return next(iter(scores), None)


def compare_with_previous(
    previous: PreviousModel,
    *,
    task: str,
    metric: str | None,
    new_scores: dict[str, float],
    frame: pd.DataFrame,
    y_true: pd.Series,
) -> ModelComparison:
    """The new model's holdout score next to the previous model's on the same rows."""
    from training.pipeline.evaluation import evaluate

    name = compared_metric(metric, new_scores) or (metric or "score")
    comparison = ModelComparison(
        previous_job_id=previous.job_id,
        metric=name,
        score=new_scores.get(name),
        rows=len(frame),
    )
    try:
        model = _load(previous)
    except InputError as error:
        # Its sentences name a path on this machine: say what happened without it.
        note = _LOAD_NOTES.get(error.code, "its model file could not be read.")
        return comparison.model_copy(update={"note": note})
    except Exception:
        log.exception("could not load the previous model %s", previous.job_id)
        return comparison.model_copy(update={"note": "its model file could not be read."})
    if model.task != task:
        note = f"it was trained for {model.task}, and this model for {task}."
        return comparison.model_copy(update={"note": note})
    try:
        model.check_rows(frame)  # names the columns it needs that the new file lacks
        scores = evaluate(model, frame, y_true).scores
    except InputError as error:
        return comparison.model_copy(update={"note": error.message})
    except Exception:
        log.exception("the previous model %s could not score the new rows", previous.job_id)
        note = "it could not score the new file's rows (its columns or classes differ)."
        return comparison.model_copy(update={"note": note})
    if name not in scores:
        return comparison.model_copy(update={"note": f"it has no {name} score on these rows."})
    return comparison.model_copy(update={"previous_score": scores[name]})
