"""Retraining on AWS under moto: the previous model is copied, once its signature is checked,
into the new job's dataset folder, the only place besides its run folder the job may read."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pytest

from bot.backends.aws.artifacts import S3ArtifactStore
from bot.errors import UserFacingError
from bot.model_signature import signature
from bot.retrain_service import stage_previous_model
from contract.jobs import Artifacts, JobResult
from contract.run_folder import MODEL_FILE

from .conftest import BUCKET

PREVIOUS = "a1b2c3d4"
NEW = "9f8e7d6c"
KEY = b"model-key-of-the-tests-012345678"
MODEL = b"the previous model's bytes"


def _service(store: S3ArtifactStore) -> Any:
    return SimpleNamespace(backend=SimpleNamespace(artifacts=store), model_key=KEY)


def _finished(store: S3ArtifactStore, s3_client: Any, model: bytes) -> None:
    digest = hashlib.sha256(MODEL).hexdigest()  # what the job wrote and the bot signed
    s3_client.put_object(Bucket=BUCKET, Key=f"runs/{PREVIOUS}/{MODEL_FILE}", Body=model)
    store.save_result(
        JobResult(
            job_id=PREVIOUS,
            status="succeeded",
            artifacts=Artifacts(model=MODEL_FILE, model_sha256=digest),
        )
    )
    store.save_model_signature(PREVIOUS, signature(PREVIOUS, digest, KEY))


def test_the_signed_model_is_copied_into_the_new_jobs_datasets(
    s3_store: S3ArtifactStore, s3_client: Any
) -> None:
    _finished(s3_store, s3_client, MODEL)
    staged = stage_previous_model(_service(s3_store), NEW, PREVIOUS)
    assert staged.model_uri == f"s3://{BUCKET}/datasets/{NEW}/previous-model.joblib"
    assert staged.sha256 == hashlib.sha256(MODEL).hexdigest()
    copy = s3_client.get_object(Bucket=BUCKET, Key=f"datasets/{NEW}/previous-model.joblib")
    assert copy["Body"].read() == MODEL


def test_a_model_changed_after_signing_is_not_copied(
    s3_store: S3ArtifactStore, s3_client: Any
) -> None:
    _finished(s3_store, s3_client, b"something else")
    with pytest.raises(UserFacingError, match="changed after training"):
        stage_previous_model(_service(s3_store), NEW, PREVIOUS)
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=f"datasets/{NEW}/")
    assert listed.get("KeyCount", 0) == 0
