"""The prediction job's spec and result: validated like the training ones."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contract import exit_codes
from contract.jobs import (
    PREDICTION_TIME_BUDGET_S,
    ClassCount,
    ErrorInfo,
    PredictionResult,
    PredictionSpec,
    PredictionWarning,
)

SHA = "0123456789abcdef" * 4


def spec(**changes: object) -> PredictionSpec:
    values: dict[str, object] = {
        "job_id": "p1",
        "model_job_id": "m1",
        "model_uri": "s3://bucket/runs/m1/model.joblib",
        "model_sha256": SHA,
        "dataset_uri": "s3://bucket/datasets/p1/new.csv",
        "file_name": "new.csv",
        "output_uri": "s3://bucket/runs/p1",
    }
    values.update(changes)
    return PredictionSpec.model_validate(values)


def test_a_spec_round_trips_and_has_the_prediction_budget() -> None:
    original = spec()
    assert PredictionSpec.model_validate_json(original.model_dump_json()) == original
    assert original.time_budget_s == PREDICTION_TIME_BUDGET_S


@pytest.mark.parametrize(
    "changes",
    [
        {"model_sha256": "not-a-digest"},
        {"model_sha256": SHA.upper()},  # the digest is lower-case hex, as hashlib writes it
        {"job_id": "../escape"},
        {"model_job_id": "a b"},
        {"file_name": ""},
        {"schema_version": 99},
        {"target": "churned"},  # unknown fields are refused, not ignored
    ],
)
def test_a_spec_refuses_what_the_job_must_not_trust(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        spec(**changes)


def test_a_result_round_trips_with_its_warnings_and_spread() -> None:
    result = PredictionResult(
        job_id="p1",
        model_job_id="m1",
        status="succeeded",
        rows_scored=3,
        class_counts=[ClassCount(label="no", rows=2), ClassCount(label="yes", rows=1)],
        warnings=[PredictionWarning(kind="extra_columns", columns=["id"], sentence="Ignored.")],
        predictions_csv="predictions.csv",
    )
    assert PredictionResult.model_validate_json(result.model_dump_json()) == result
    with pytest.raises(ValidationError):
        PredictionWarning.model_validate({"kind": "gossip", "sentence": "x"})
    with pytest.raises(ValidationError):
        PredictionWarning(kind="note", sentence="")
    with pytest.raises(ValidationError):
        ClassCount(label="no", rows=-1)


def test_exit_codes_follow_a_prediction_like_a_training_result() -> None:
    ok = PredictionResult(job_id="p1", status="succeeded")
    bad = PredictionResult(
        job_id="p1", status="failed", error=ErrorInfo(code="missing_columns", message="x")
    )
    stopped = PredictionResult(job_id="p1", status="interrupted")
    assert exit_codes.for_result(ok) == exit_codes.SUCCEEDED
    assert exit_codes.for_result(bad) == exit_codes.BAD_INPUT
    assert exit_codes.for_result(stopped) == exit_codes.INTERRUPTED
