"""The job's S3 credentials on AWS: its own dataset and run folder, for as long as it runs.

The Batch job role has no S3 access. When the launcher set `AUTOML_JOB_CREDENTIALS_FUNCTION`
(contract.environment), the job asks that function (bot/aws_lambda/job_credentials.py),
with its Batch job id, job id and token, for credentials scoped to its own files. They last
an hour; botocore's refreshable credentials ask again 15 minutes before they expire (and at
the latest 10 minutes before), so a job of any length keeps working. Without the variable
(local runs, the preview Lambda) nothing changes: boto3's default chain.

The Lambda invoke itself, and the job's EventBridge puts, use the job role as before.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Final

from contract import environment as env
from contract.aws import JobCredentials, JobCredentialsRequest

log = logging.getLogger(__name__)

CREDENTIAL_METHOD: Final = "automl-issued"  # botocore: where credentials came from

# Sends a request to the issuer, returns its answer (a JSON object).
Invoker = Callable[[JobCredentialsRequest], Mapping[str, Any]]


class CredentialsUnavailable(RuntimeError):
    """The issuer refused, failed or could not be reached; the message says which."""


def scoped() -> bool:
    """Whether this process's S3 calls use the job's scoped credentials."""
    return bool(os.environ.get(env.JOB_CREDENTIALS_FUNCTION, "").strip())


def job_session() -> Any | None:
    """The process's boto3 Session with the job's scoped credentials, or None without them.

    One per process: its credentials are fetched once and refreshed in place.
    """
    if not scoped():
        return None
    return _session_for(os.environ[env.JOB_CREDENTIALS_FUNCTION].strip())


@cache
def _session_for(function: str) -> Any:
    return scoped_session(request_from_environment(), lambda_invoker(function))


def request_from_environment() -> JobCredentialsRequest:
    names = {"batch_job_id": env.BATCH_JOB_ID, "job_id": env.JOB_ID, "token": env.JOB_TOKEN}
    values = {field: os.environ.get(name, "").strip() for field, name in names.items()}
    missing = [names[field] for field, value in values.items() if not value]
    if missing:
        raise CredentialsUnavailable(
            f"{env.JOB_CREDENTIALS_FUNCTION} is set but {', '.join(missing)} is not: "
            "the job cannot ask for its S3 credentials."
        )
    return JobCredentialsRequest(
        batch_job_id=values["batch_job_id"], job_id=values["job_id"], token=values["token"]
    )


def scoped_session(request: JobCredentialsRequest, invoke: Invoker) -> Any:
    """A boto3 Session whose credentials come from `invoke(request)`, refreshed before expiry."""
    import boto3
    import botocore.session
    from botocore.credentials import CredentialProvider, RefreshableCredentials

    def fetch() -> JobCredentials:
        answer = invoke(request)
        if "error" in answer:
            raise CredentialsUnavailable(f"S3 credentials refused: {answer['error']}")
        try:
            credentials = JobCredentials(
                access_key=str(answer["access_key"]),
                secret_key=str(answer["secret_key"]),
                token=str(answer["token"]),
                expiry_time=str(answer["expiry_time"]),
            )
        except KeyError as missing:
            raise CredentialsUnavailable(f"the S3 credentials came without {missing}") from None
        log.info(
            "S3 credentials for job %s, valid until %s",
            request["job_id"],
            credentials["expiry_time"],
        )
        return credentials

    class JobCredentialProvider(CredentialProvider):
        METHOD = CREDENTIAL_METHOD
        CANONICAL_NAME = "AutomlJobCredentials"

        def load(self) -> RefreshableCredentials:
            return RefreshableCredentials.create_from_metadata(
                metadata=fetch(), refresh_using=fetch, method=CREDENTIAL_METHOD
            )

    core = botocore.session.Session()
    # First in the chain: ahead of the container's role (which has no S3 access anyway).
    resolver = core.get_component("credential_provider")
    resolver.insert_before(resolver.providers[0].METHOD, JobCredentialProvider())
    return boto3.Session(botocore_session=core)


def lambda_invoker(function: str, client: Any = None) -> Invoker:
    """Invokes the issuer synchronously with the job role's own credentials."""

    def invoke(request: JobCredentialsRequest) -> Mapping[str, Any]:
        response = (client or _lambda_client()).invoke(
            FunctionName=function, Payload=json.dumps(request).encode()
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            said = payload[:500].decode(errors="replace")
            raise CredentialsUnavailable(f"the credential function {function} failed: {said}")
        answer = json.loads(payload)
        if not isinstance(answer, dict):
            raise CredentialsUnavailable(f"the credential function {function} answered {answer!r}")
        return answer

    return invoke


@cache
def _lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    # The job cannot start without credentials: a few tries ride out a throttle or a blip.
    config = Config(
        connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 5}
    )
    return boto3.client("lambda", config=config)
