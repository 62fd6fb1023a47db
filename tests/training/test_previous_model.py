"""Retraining's comparison: the previous model scored on the new holdout rows, or a note."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from contract.jobs import PreviousModel
from training.pipeline.previous_model import compare_with_previous

pytestmark = pytest.mark.slow  # fits a small model


def _saved_model(folder: Path) -> tuple[PreviousModel, pd.DataFrame, pd.Series]:
    from training.pipeline.ensemble import BlendedPredictor, Member
    from training.pipeline.features import FeaturePlan
    from training.pipeline.learners import FitContext, Fold, fit_hgb
    from training.pipeline.model import TrainedModel

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=600), "noise": rng.normal(size=600)})
    y = (frame["signal"] > 0).astype(int).to_numpy()
    ctx = FitContext("classification", 2, 1, 0, time.monotonic() + 30)
    model = TrainedModel(
        task="classification",
        target="y",
        estimator_name="hgb",
        plan=FeaturePlan(numeric=["signal", "noise"]),
        predictor=BlendedPredictor(
            [Member("hgb", "hgb", 1.0, [fit_hgb({}, Fold(frame, y), None, ctx)])]
        ),
        classes=["0", "1"],
    )
    path = folder / "previous-model.joblib"
    digest = model.save(path)
    previous = PreviousModel(job_id="prev0001", model_uri=str(path), sha256=digest)
    return previous, frame.iloc[:200], pd.Series(y[:200].astype(str), index=frame.index[:200])


def test_the_previous_model_is_scored_on_the_same_rows(tmp_path: Path) -> None:
    previous, frame, truth = _saved_model(tmp_path)
    comparison = compare_with_previous(
        previous,
        task="classification",
        metric="roc_auc",
        new_scores={"roc_auc": 0.5, "accuracy": 0.5},
        frame=frame,
        y_true=truth,
    )
    assert comparison.previous_job_id == "prev0001" and comparison.metric == "roc_auc"
    assert comparison.score == 0.5 and comparison.rows == 200 and comparison.note is None
    assert comparison.previous_score is not None and comparison.previous_score > 0.9


def test_what_keeps_the_previous_model_from_scoring_becomes_a_note(tmp_path: Path) -> None:
    previous, frame, truth = _saved_model(tmp_path)
    asked: dict[str, Any] = {
        "task": "classification",
        "metric": "roc_auc",
        "new_scores": {"roc_auc": 0.8},
    }

    lacking = compare_with_previous(previous, frame=frame[["noise"]], y_true=truth, **asked)
    assert lacking.previous_score is None and "“signal”" in (lacking.note or "")

    other_task = compare_with_previous(
        previous, task="regression", metric="r2", new_scores={"r2": 0.3}, frame=frame, y_true=truth
    )
    assert other_task.note == "it was trained for classification, and this model for regression."

    changed = previous.model_copy(update={"sha256": hashlib.sha256(b"other").hexdigest()})
    tampered = compare_with_previous(changed, frame=frame, y_true=truth, **asked)
    assert tampered.note == "its model file changed after training."
    assert str(tmp_path) not in (tampered.note or "")
