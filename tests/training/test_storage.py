"""S3 in and out (training/aws/storage.py) and staging a run's files (training/input/staging.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import environment as env
from contract.jobs import Limits
from tests.builders import make_spec
from tests.conftest import SAMPLE_CHURN
from training.aws import storage
from training.errors import InputError
from training.input.staging import LocalStaging, S3Staging, fetch_dataset, open_staging


class RecordingS3:
    """Records upload_file calls in order, as the real client would receive them."""

    def __init__(self) -> None:
        self.uploads: list[tuple[str, str, dict[str, str]]] = []

    def upload_file(self, filename: str, bucket: str, key: str, ExtraArgs: dict[str, str]) -> None:
        assert Path(filename).is_file()
        self.uploads.append((bucket, key, ExtraArgs))


def _run_folder(root: Path) -> Path:
    for relative in ["result.json", "spec.json", "charts/roc.png", "report.html", "zz.log"]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("x")
    return root


def test_upload_folder_sends_every_file_with_result_json_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(env.S3_KMS_KEY_ID, raising=False)
    s3 = RecordingS3()
    keys = storage.upload_folder(
        _run_folder(tmp_path), "s3://bkt/runs/j1/", last="result.json", s3=s3
    )

    assert keys[-1] == "runs/j1/result.json"
    assert sorted(keys) == [
        "runs/j1/charts/roc.png",
        "runs/j1/report.html",
        "runs/j1/result.json",
        "runs/j1/spec.json",
        "runs/j1/zz.log",
    ]
    by_key = {key: args for _, key, args in s3.uploads}
    assert {args["ServerSideEncryption"] for args in by_key.values()} == {"AES256"}
    assert by_key["runs/j1/report.html"]["ContentType"] == "text/html"
    assert by_key["runs/j1/charts/roc.png"]["ContentType"] == "image/png"
    assert by_key["runs/j1/result.json"]["ContentType"] == "application/json"


def test_upload_folder_uses_the_kms_key_when_one_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env.S3_KMS_KEY_ID, "alias/automl")
    s3 = RecordingS3()
    storage.upload_folder(_run_folder(tmp_path), "s3://bkt/runs/j1", last="result.json", s3=s3)
    for _, _, args in s3.uploads:
        assert args["ServerSideEncryption"] == "aws:kms"
        assert args["SSEKMSKeyId"] == "alias/automl"


def test_s3_locations() -> None:
    where = storage.S3Location.parse("s3://bkt/runs/j1/")
    assert (where.bucket, where.key) == ("bkt", "runs/j1/")
    assert str(where.child("charts/a.png")) == "s3://bkt/runs/j1/charts/a.png"
    assert str(storage.S3Location.parse("s3://bkt").child("a")) == "s3://bkt/a"
    with pytest.raises(ValueError, match="no bucket"):
        storage.S3Location.parse("s3:///key")
    with pytest.raises(ValueError, match="not an s3"):
        storage.S3Location.parse("/tmp/x")


def test_local_uris_are_used_as_they_are() -> None:
    staging = open_staging(make_spec(dataset_uri="file:///data/churn.csv", output_uri="/runs/j1"))
    assert isinstance(staging, LocalStaging)
    assert staging.run_dir == Path("/runs/j1")
    assert staging.dataset_path() == Path("/data/churn.csv")
    assert staging.location("result.json") == "/runs/j1/result.json"
    staging.publish(last="result.json")  # nothing to upload: no S3 client is ever made
    staging.close()


def test_an_s3_output_runs_in_a_scratch_folder_that_close_removes() -> None:
    staging = open_staging(make_spec(output_uri="s3://bkt/runs/j1"))
    assert isinstance(staging, S3Staging)
    assert staging.run_dir.name == "run"
    assert staging.dataset_path() == Path("/data/churn.csv")  # a local dataset stays local
    staging.run_dir.mkdir(parents=True)
    assert staging.location("result.json") == "s3://bkt/runs/j1/result.json"
    staging.close()
    assert not staging.run_dir.parent.exists()


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    from moto import mock_aws

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = storage.client()
        s3.create_bucket(Bucket="data-bkt")
        yield s3, "data-bkt"


def test_fetch_dataset_downloads_under_the_key_name(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, bucket = s3_bucket
    s3.upload_file(str(SAMPLE_CHURN), bucket, "datasets/j1/churn (Q3).csv")
    path = fetch_dataset(
        f"s3://{bucket}/datasets/j1/churn (Q3).csv", tmp_path, "churn (Q3).csv", Limits()
    )
    assert path == tmp_path / "churn (Q3).csv"
    assert path.read_bytes() == SAMPLE_CHURN.read_bytes()


def test_fetch_dataset_refuses_missing_and_too_large_objects(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, bucket = s3_bucket
    with pytest.raises(InputError) as missing:
        fetch_dataset(f"s3://{bucket}/datasets/nope.csv", tmp_path, "nope.csv", Limits())
    assert missing.value.code == "unreadable_file"

    s3.put_object(Bucket=bucket, Key="big.csv", Body=b"a,b\n" + b"1,2\n" * 300_000)
    with pytest.raises(InputError) as large:
        fetch_dataset(f"s3://{bucket}/big.csv", tmp_path, "big.csv", Limits(max_file_mb=1))
    assert large.value.code == "file_too_large"
    assert list(tmp_path.iterdir()) == []  # refused before downloading a byte
