"""`LambdaPreviewer` with a stubbed Lambda client: previews, the job's words, and failures."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from bot.backends.aws.previewer import LambdaPreviewer
from bot.errors import PreviewFailed
from contract.jobs import ColumnPreview, DatasetPreview, Limits

from .conftest import REGION

FUNCTION = "automl-preview"
URI = "s3://bucket/datasets/preview-F1-C1/churn.csv"


def body(value: Any) -> StreamingBody:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def preview_with(
    answer: Any, *, function_error: str | None = None, file_name: str = "churn.csv"
) -> LambdaPreviewer:
    client = boto3.client("lambda", region_name=REGION)
    stub = Stubber(client)
    response: dict[str, Any] = {"StatusCode": 200, "Payload": body(answer)}
    if function_error:
        response["FunctionError"] = function_error
    request = {"dataset_uri": URI, "file_name": file_name,
               "limits": {"max_file_mb": 50.0, "max_columns": 300, "max_cells": 50_000_000,
                          "max_unpacked_mb": 2000.0}}  # fmt: skip
    stub.add_response(
        "invoke",
        response,
        {
            "FunctionName": FUNCTION,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(request).encode(),
        },
    )
    stub.activate()
    return LambdaPreviewer(client, FUNCTION, limits=Limits(max_file_mb=50, max_columns=300))


def test_needs_a_function_name() -> None:
    with pytest.raises(ValueError, match="function_name"):
        LambdaPreviewer(object(), "")


def test_a_preview() -> None:
    expected = DatasetPreview(
        file_name="churn.csv",
        format="csv",
        rows=60,
        columns=[ColumnPreview(name="churned", kind="category", missing=0, distinct=2)],
        suggested_target="churned",
        suggested_task="classification",
    )
    got = preview_with(expected.model_dump(mode="json")).preview(URI, "churn.csv")
    assert got == expected


def test_the_jobs_own_words_reach_the_person() -> None:
    answer = {"error": {"code": "not_a_table", "message": "`churn.csv` is a PDF.", "hint": "CSV"}}
    with pytest.raises(PreviewFailed) as caught:
        preview_with(answer).preview(URI, "churn.csv")
    assert (caught.value.code, caught.value.message, caught.value.hint) == (
        "not_a_table",
        "`churn.csv` is a PDF.",
        "CSV",
    )


@pytest.mark.parametrize(
    "answer",
    [
        {"errorMessage": "KeyError: 'secret-detail'", "errorType": "KeyError"},
        {"error": "not an object"},
        {"rows": "many"},
        b"not json",
    ],
)
def test_anything_else_is_a_general_sentence(answer: Any, caplog: pytest.LogCaptureFixture) -> None:
    function_error = "Unhandled" if isinstance(answer, dict) and "errorType" in answer else None
    with caplog.at_level(logging.ERROR), pytest.raises(PreviewFailed) as caught:
        preview_with(answer, function_error=function_error).preview(URI, "churn.csv")
    assert caught.value.code == "preview_failed"
    assert caught.value.message == "Something went wrong while reading “churn.csv” for a preview."
    assert "target=" in caught.value.hint
    assert "secret-detail" not in caught.value.message + caught.value.hint
    assert caplog.records  # the details are in the log


def test_a_function_timeout() -> None:
    answer = {"errorMessage": "2026-03-01T12:00:00Z 1a2b Task timed out after 120.00 seconds"}
    with pytest.raises(PreviewFailed) as caught:
        preview_with(answer, function_error="Unhandled", file_name="big.csv").preview(
            URI, "big.csv"
        )
    assert caught.value.code == "preview_timeout"
    assert caught.value.message == "Reading “big.csv” took too long, so there is no preview."


def test_no_answer_in_time() -> None:
    class Slow:
        def invoke(self, **_: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    with pytest.raises(PreviewFailed) as caught:
        LambdaPreviewer(Slow(), FUNCTION).preview(URI, "big.csv")
    assert caught.value.code == "preview_timeout"


def test_invoke_errors(caplog: pytest.LogCaptureFixture) -> None:
    client = boto3.client("lambda", region_name=REGION)
    stub = Stubber(client)
    stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found: arn:…")
    with stub, pytest.raises(PreviewFailed) as caught:
        LambdaPreviewer(client, FUNCTION).preview(URI, "churn.csv")
    assert caught.value.code == "preview_failed"
    assert "Function not found" in caplog.text
    assert "arn" not in caught.value.message


def test_the_function_gets_a_presigned_get_of_the_one_file(aws: None, s3_store: Any) -> None:
    """The preview role has no S3 access: the bot hands it a GET of that file only."""
    uri = f"s3://{s3_store.bucket}/datasets/preview-F1-C1/churn.csv"
    sent: list[dict[str, Any]] = []

    class Lambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            sent.append(json.loads(kwargs["Payload"]))
            return {"StatusCode": 200, "Payload": body({"error": {"code": "x", "message": "m"}})}

    previewer = LambdaPreviewer(
        Lambda(), FUNCTION, presign=lambda u: s3_store.presigned_get(u, 600)
    )
    with pytest.raises(PreviewFailed):
        previewer.preview(uri, "churn.csv")
    url = sent[0]["dataset_url"]
    assert "/datasets/preview-F1-C1/churn.csv?" in url and "X-Amz-Expires=600" in url
    with pytest.raises(ValueError, match="not in"):
        s3_store.presigned_get("s3://another-bucket/datasets/x/y.csv", 600)
