"""The job's scoped S3 credentials (training/aws/credentials.py): fetched from the issuer,
refreshed before they expire, used by every S3 call of the job when the launcher asked."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contract import environment as env
from contract.aws import JobCredentialsRequest
from contract.jobs import Limits
from training.aws import credentials, storage
from training.aws.credentials import CredentialsUnavailable, lambda_invoker, scoped_session
from training.errors import InputError
from training.input.staging import fetch_dataset

REQUEST = JobCredentialsRequest(batch_job_id="b-1", job_id="j1", token="t0ken")


class Issuer:
    """Stands in for the credential issuer: hands out numbered keys with the given lifetimes."""

    def __init__(self, *lifetimes: timedelta) -> None:
        self.lifetimes = list(lifetimes)
        self.requests: list[Mapping[str, Any]] = []

    def __call__(self, request: JobCredentialsRequest) -> Mapping[str, Any]:
        self.requests.append(dict(request))
        lifetime = self.lifetimes[min(len(self.requests), len(self.lifetimes)) - 1]
        return {
            "access_key": f"AKIA{len(self.requests)}",
            "secret_key": "secret",
            "token": "session",
            "expiry_time": (datetime.now(UTC) + lifetime).isoformat(),
        }


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


@pytest.fixture
def no_cached_session() -> Iterator[None]:
    credentials._session_for.cache_clear()
    yield
    credentials._session_for.cache_clear()


def access_key(s3: Any) -> str:
    return str(s3._request_signer._credentials.get_frozen_credentials().access_key)


def test_credentials_near_their_expiry_are_fetched_again(moto_s3: None) -> None:
    issuer = Issuer(timedelta(minutes=5), timedelta(hours=1))
    s3 = scoped_session(REQUEST, issuer).client("s3")

    s3.create_bucket(Bucket="data-bkt")  # signing needs credentials that do not expire soon
    s3.list_buckets()

    assert issuer.requests == [dict(REQUEST), dict(REQUEST)]
    assert access_key(s3) == "AKIA2"


def test_fresh_credentials_are_kept(moto_s3: None) -> None:
    issuer = Issuer(timedelta(hours=1))
    s3 = scoped_session(REQUEST, issuer).client("s3")
    s3.create_bucket(Bucket="data-bkt")
    s3.list_buckets()
    assert len(issuer.requests) == 1
    assert access_key(s3) == "AKIA1"


def test_a_refusal_is_said_in_a_sentence(moto_s3: None) -> None:
    def refuse(request: JobCredentialsRequest) -> Mapping[str, Any]:
        return {"error": "The token does not match Batch job b-1's."}

    with pytest.raises(CredentialsUnavailable, match="refused: The token does not match"):
        scoped_session(REQUEST, refuse).client("s3").list_buckets()


class FakeLambda:
    def __init__(self, payload: Any, *, function_error: bool = False) -> None:
        self.payload = payload
        self.function_error = function_error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self.payload).encode())}
        if self.function_error:
            response["FunctionError"] = "Unhandled"
        return response


def test_the_invoker_sends_the_request_and_reads_the_answer() -> None:
    answer = {"access_key": "A", "secret_key": "S", "token": "T", "expiry_time": "2030-01-01"}
    client = FakeLambda(answer)
    assert lambda_invoker("automl-issuer", client)(REQUEST) == answer
    ((call,),) = [tuple(client.calls)]
    assert call["FunctionName"] == "automl-issuer"
    assert json.loads(call["Payload"]) == dict(REQUEST)

    failing = FakeLambda({"errorMessage": "boom"}, function_error=True)
    with pytest.raises(CredentialsUnavailable, match=r"automl-issuer failed: .*boom"):
        lambda_invoker("automl-issuer", failing)(REQUEST)


def test_storage_uses_the_job_credentials_when_the_launcher_set_them(
    moto_s3: None, no_cached_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the variable: boto3's default chain (here moto's keys in the environment).
    assert access_key(storage.client()) == os.environ["AWS_ACCESS_KEY_ID"]

    issuer = Issuer(timedelta(hours=1))
    made_for: list[str] = []

    def invoker(function: str, client: Any = None) -> Any:
        made_for.append(function)
        return issuer

    monkeypatch.setattr(credentials, "lambda_invoker", invoker)
    monkeypatch.setenv(env.JOB_CREDENTIALS_FUNCTION, "automl-issuer")
    monkeypatch.setenv(env.BATCH_JOB_ID, "b-1")
    monkeypatch.setenv(env.JOB_ID, "j1")
    monkeypatch.setenv(env.JOB_TOKEN, "t0ken")

    first, second = storage.client(), storage.client()

    assert access_key(first) == access_key(second) == "AKIA1"
    assert made_for == ["automl-issuer"]  # one session, fetched once, for the whole job
    assert issuer.requests == [dict(REQUEST)]


def test_a_job_without_its_batch_id_or_token_says_what_is_missing(
    no_cached_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env.JOB_CREDENTIALS_FUNCTION, "automl-issuer")
    monkeypatch.setenv(env.JOB_ID, "j1")
    monkeypatch.delenv(env.BATCH_JOB_ID, raising=False)
    monkeypatch.delenv(env.JOB_TOKEN, raising=False)
    with pytest.raises(CredentialsUnavailable, match="AWS_BATCH_JOB_ID, AUTOML_JOB_TOKEN is not"):
        credentials.job_session()


class ForbiddingS3:
    """S3 as it answers a missing key to a caller without s3:ListBucket."""

    def head_object(self, **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")


def test_under_job_credentials_a_forbidden_dataset_is_a_missing_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    uri = "s3://data-bkt/datasets/j1/churn.csv"
    with pytest.raises(ClientError):  # the default chain: a real permission problem
        fetch_dataset(uri, tmp_path, "churn.csv", Limits(), ForbiddingS3())

    monkeypatch.setenv(env.JOB_CREDENTIALS_FUNCTION, "automl-issuer")
    with pytest.raises(InputError) as missing:
        fetch_dataset(uri, tmp_path, "churn.csv", Limits(), ForbiddingS3())
    assert missing.value.code == "unreadable_file"
