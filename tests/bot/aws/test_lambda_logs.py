"""The credential issuer's log lines say which job asked, and never hold its token."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from bot.aws_lambda.job_credentials import IssuerConfig, handler
from bot.backends.aws.artifacts import S3ArtifactStore
from common.logs import JsonFormatter, install_record_hooks
from contract import environment as env

from .conftest import BUCKET
from .test_job_credentials import JOB, config, data_role, request, status, submit, token_of

__all__ = ["config", "data_role", "status"]  # fixtures


def test_the_issuers_lines_carry_the_job_id_and_no_token(
    batch: Any,
    s3_store: S3ArtifactStore,
    config: IssuerConfig,
    status: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(env.BUCKET, BUCKET)
    monkeypatch.setenv(env.JOB_QUEUE, config.job_queue)
    monkeypatch.setenv(env.JOB_DATA_ROLE, config.data_role_arn)
    described = submit(batch, s3_store, JOB)
    install_record_hooks()
    stream = io.StringIO()
    runtime = logging.StreamHandler(stream)  # as the Lambda runtime's, once configured
    runtime.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(runtime)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        issued = handler(request(described), None)
        refused = handler(request(described, token="a-guessed-token-0123"), None)
    finally:
        root.removeHandler(runtime)
        root.setLevel(level)
    assert "access_key" in issued and "error" in refused
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = [line for line in lines if line["logger"] == "bot.aws_lambda.job_credentials"]
    assert [line["level"] for line in ours] == ["INFO", "WARNING"]
    assert all(line["job_id"] == JOB for line in ours)
    text = stream.getvalue()
    for secret in (token_of(described), issued["secret_key"], issued["token"]):
        assert secret not in text
