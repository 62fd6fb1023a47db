"""The aws backend as `load_backend` builds it from settings, and the settings it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.backends import load_backend
from bot.backends.aws import LazyClient
from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.job_store import DynamoJobStore
from bot.backends.aws.launcher import BatchLauncher
from bot.backends.aws.previewer import LambdaPreviewer
from bot.backends.aws.table import create_table_kwargs
from bot.links import LinkSigner
from bot.settings import Settings, SettingsError, load_settings
from tests.builders import make_job

from .conftest import BUCKET, PUBLIC_URL, REGION, TABLE

AWS_ENV = {
    "AUTOML_BACKEND": "aws",
    "AUTOML_BUCKET": BUCKET,
    "AUTOML_TABLE": TABLE,
    "AUTOML_JOB_QUEUE": "automl-spot",
    "AUTOML_JOB_DEFINITION": "automl-training",
    "AUTOML_PUBLIC_URL": PUBLIC_URL,
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in (*AWS_ENV, "AUTOML_PREVIEW_FUNCTION", "AUTOML_RUN_EXPIRY_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def aws_settings(env: pytest.MonkeyPatch, **extra: str) -> Settings:
    for name, value in {**AWS_ENV, **extra}.items():
        env.setenv(name, value)
    return load_settings(["aws"])


def test_settings(env: pytest.MonkeyPatch) -> None:
    settings = aws_settings(env, AUTOML_RUN_EXPIRY_DAYS="14")
    assert (settings.aws_bucket, settings.aws_table) == (BUCKET, TABLE)
    assert (settings.aws_job_queue, settings.aws_job_definition) == (
        "automl-spot",
        "automl-training",
    )
    assert settings.run_expiry_days == 14
    # The contract's fixed names are the defaults.
    assert settings.aws_preview_function == "automl-preview"
    assert settings.bot_token_secret == "automl/slack-bot-token"
    assert settings.signing_secret_secret == "automl/slack-signing-secret"


def test_missing_aws_settings_are_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("AUTOML_BACKEND", "aws")
    env.setenv("AUTOML_BUCKET", "  ")  # blank is unset
    env.setenv("AUTOML_TABLE", TABLE)
    with pytest.raises(SettingsError) as caught:
        load_settings(["aws"])
    text = str(caught.value)
    for name in ("AUTOML_BUCKET", "AUTOML_JOB_QUEUE", "AUTOML_JOB_DEFINITION"):
        assert f"{name} is not set; expected aws backend:" in text
    assert "AUTOML_TABLE" not in text
    # Also when another setting is invalid: one run shows every problem.
    env.setenv("AUTOML_RUN_EXPIRY_DAYS", "0")
    with pytest.raises(SettingsError) as caught:
        load_settings(["aws"])
    assert "AUTOML_RUN_EXPIRY_DAYS='0' is invalid" in str(caught.value)
    assert "AUTOML_JOB_QUEUE is not set" in str(caught.value)


def test_the_local_backend_needs_none_of_them(env: pytest.MonkeyPatch) -> None:
    assert load_settings().aws_bucket is None


def test_build_refuses_without_the_names(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="AUTOML_JOB_DEFINITION is not set"):
        load_backend(Settings(AUTOML_BACKEND="aws", AUTOML_BUCKET=BUCKET), link_key=b"k" * 32)


def test_the_aws_backend_needs_the_public_url(env: pytest.MonkeyPatch, aws: None) -> None:
    """Without it links would point at localhost: the stack sets it, a person is told."""
    settings = aws_settings(env)
    env.delenv("AUTOML_PUBLIC_URL")
    with pytest.raises(SettingsError, match="AUTOML_PUBLIC_URL is not set"):
        load_backend(load_settings(["aws"]), link_key=b"k" * 32)
    assert load_backend(settings, link_key=b"k" * 32).name == "aws"


def test_load_backend_builds_every_port(env: pytest.MonkeyPatch, aws: None) -> None:
    settings = aws_settings(env, AUTOML_LINK_EXPIRY_HOURS="2", AUTOML_MAX_COLUMNS="300")
    backend = load_backend(settings, link_key=b"k" * 32)
    assert backend.name == "aws"
    assert isinstance(backend.jobs, DynamoJobStore)
    assert isinstance(backend.artifacts, S3ArtifactStore)
    assert isinstance(backend.launcher, BatchLauncher)
    assert isinstance(backend.previewer, LambdaPreviewer)
    assert backend.artifacts.link_expiry_s == 2 * 3600
    assert backend.previewer.limits.max_columns == 300
    assert backend.launcher.artifacts is backend.artifacts
    clients: list[Any] = [
        backend.jobs.client,
        backend.artifacts.s3,
        backend.launcher.batch,
        backend.previewer.client,
    ]
    assert all(isinstance(c, LazyClient) and c._client is None for c in clients)  # none made yet

    # The clients work against (moto's) AWS in the environment's region.
    boto3.client("dynamodb", region_name=REGION).create_table(**create_table_kwargs(TABLE))
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    job, created = backend.jobs.create(make_job(dedupe_key="Ev1"))
    assert created and backend.jobs.get(job.job_id) == job
    assert backend.artifacts.s3.meta.region_name == REGION
    # Links point at the bot's own API, signed with the key it was given; S3 is not asked.
    link = backend.artifacts.link(job.job_id, "report.html")
    assert link.startswith(f"{PUBLIC_URL}/artifacts/{job.job_id}/report.html?expires=")
    query = link.partition("?")[2]
    fields = dict(pair.split("=") for pair in query.split("&"))
    LinkSigner(b"k" * 32).verify(job.job_id, "report.html", fields["expires"], fields["sig"])
    assert backend.launcher.batch._client is None  # still not needed
    backend.close()
