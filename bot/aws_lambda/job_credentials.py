"""The credential issuer: a running training job gets S3 credentials for its own files only.

The Batch job role has no S3 access; it may invoke this function. A request names a Batch
job id, a job id and a token (`contract.aws.JobCredentialsRequest`). Credentials are issued
only when Batch describes that Batch job as starting or running, on this stack's queue,
named for that job id, with that token in its container environment. The launcher made the
token at submit (bot/backends/aws/launcher.py) and set it only there; the job role cannot
call DescribeJobs, so a job cannot learn another job's token.

The credentials are a session of the job data role, narrowed by a session policy to that
job's dataset folder (read) and run folder (read and write), and for a prediction job
(`AUTOML_MODEL_JOB_ID` in the environment the launcher gave its Batch job, which the job
cannot change) the model it scores with (read), for an hour: the caller
(training/aws/credentials.py) asks again before they expire, so a job of any length keeps
working and a job that ended can no longer get any. Standard library and boto3, plus the
launcher's job naming (one definition of `automl-<job_id>`).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final

from bot.backends.aws.launcher import batch_job_name
from bot.links import check_job_id
from common.logs import configure_lambda_logging, log_context
from contract import environment as env
from contract.aws import (
    BATCH_RUNNING,
    DATASETS_PREFIX,
    JOB_CREDENTIALS_DURATION_S,
    RUNS_PREFIX,
    JobCredentials,
)
from contract.run_folder import MODEL_FILE

log = logging.getLogger(__name__)
configure_lambda_logging()  # once per container, at import: JSON lines with the job's fields

# Batch's statuses while the job's container runs (STARTING: it is being started).
ISSUABLE_STATUSES: Final = frozenset({"STARTING", BATCH_RUNNING})
SESSION_NAME_MAX: Final = 64  # STS's limit on RoleSessionName
# The objects a job's session may touch, below its own folders: {prefix}<job_id>/*.
RUN_ACTIONS: Final = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
DATASET_ACTIONS: Final = ("s3:GetObject",)


class Refused(Exception):
    """A request that gets no credentials; the message is the sentence the caller sees."""


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    bucket: str
    job_queue: str  # the queue's ARN (the stack sets it), or its name
    data_role_arn: str

    @classmethod
    def from_environment(cls) -> IssuerConfig:
        values = {name: os.environ.get(name, "").strip() for name in _CONFIG_VARIABLES}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise RuntimeError(f"the credential issuer needs {', '.join(missing)} to be set")
        return cls(
            bucket=values[env.BUCKET],
            job_queue=values[env.JOB_QUEUE],
            data_role_arn=values[env.JOB_DATA_ROLE],
        )


_CONFIG_VARIABLES: Final = (env.BUCKET, env.JOB_QUEUE, env.JOB_DATA_ROLE)


def handler(event: Any, context: Any) -> JobCredentials | dict[str, str]:
    """Lambda's entry: `JobCredentials`, or `{"error": sentence}` when refused."""
    batch, sts = _clients()
    # The job id as the caller gave it (checked below), cut short: it is the caller's text.
    job_id = event.get("job_id") if isinstance(event, dict) else None
    with log_context(job_id=job_id[:80] if isinstance(job_id, str) else None):
        return issue(event, config=IssuerConfig.from_environment(), batch=batch, sts=sts)


def issue(
    event: Any, *, config: IssuerConfig, batch: Any, sts: Any
) -> JobCredentials | dict[str, str]:
    try:
        batch_job_id, job_id, token = _request(event)
        model_job_id = _check_job(
            batch, config, batch_job_id=batch_job_id, job_id=job_id, token=token
        )
    except Refused as refusal:
        # One line, never the token: which job asked and why it was refused.
        log.warning("refused credentials: %s (request %s)", refusal, _described(event))
        return {"error": str(refusal)}
    try:
        credentials = _assume(sts, config, job_id=job_id, model_job_id=model_job_id)
    except Exception as error:  # STS or a misconfigured role: said to the job in a sentence
        log.error("could not assume the job data role for job %s: %s", job_id, error)
        return {"error": f"The job data role could not be assumed for job {job_id}: {error}"}
    log.info("issued credentials to job %s (Batch job %s)", job_id, batch_job_id)
    return credentials


def session_policy(bucket_arn: str, job_id: str, model_job_id: str | None = None) -> dict[str, Any]:
    """The session policy of one job: its dataset folder to read, its run folder to write;
    for a prediction job, the model file of `model_job_id` to read."""
    policy: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadItsDataset",
                "Effect": "Allow",
                "Action": list(DATASET_ACTIONS),
                "Resource": f"{bucket_arn}/{DATASETS_PREFIX}{job_id}/*",
            },
            {
                "Sid": "ReadWriteItsRun",
                "Effect": "Allow",
                "Action": list(RUN_ACTIONS),
                "Resource": f"{bucket_arn}/{RUNS_PREFIX}{job_id}/*",
            },
        ],
    }
    if model_job_id is not None:
        policy["Statement"].append(
            {
                "Sid": "ReadTheModelItScoresWith",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": f"{bucket_arn}/{RUNS_PREFIX}{model_job_id}/{MODEL_FILE}",
            }
        )
    return policy


def _request(event: Any) -> tuple[str, str, str]:
    fields = ("batch_job_id", "job_id", "token")
    if not isinstance(event, dict) or not all(
        isinstance(event.get(name), str) and event[name] for name in fields
    ):
        raise Refused("A credentials request needs a batch_job_id, a job_id and a token.")
    return event["batch_job_id"], event["job_id"], event["token"]


def _check_job(
    batch: Any, config: IssuerConfig, *, batch_job_id: str, job_id: str, token: str
) -> str | None:
    """Refused unless the Batch job is this job's and running; the model job id its
    environment names (a prediction job), else None."""
    from botocore.exceptions import ClientError

    try:
        expected_name = batch_job_name(job_id)
    except ValueError:
        raise Refused(f"{job_id!r} is not a job id of this bot.") from None
    try:
        found = batch.describe_jobs(jobs=[batch_job_id]).get("jobs", [])
    except ClientError as error:
        raise Refused(f"AWS Batch could not describe job {batch_job_id!r}: {error}") from None
    if len(found) != 1:
        raise Refused(f"AWS Batch has no job {batch_job_id!r}.")
    (job,) = found
    if not _same_queue(str(job.get("jobQueue", "")), config.job_queue):
        raise Refused(f"Batch job {batch_job_id} is not on this stack's job queue.")
    if job.get("jobName") != expected_name:
        raise Refused(f"Batch job {batch_job_id} is not the Batch job of job {job_id}.")
    if job.get("status") not in ISSUABLE_STATUSES:
        raise Refused(
            f"Batch job {batch_job_id} is {job.get('status')}: only a running job gets credentials."
        )
    environment = _environment(job)
    expected = environment.get(env.JOB_TOKEN, "")
    # Constant time: how much of a guess matched must not show in the answer's timing.
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise Refused(f"The token does not match Batch job {batch_job_id}'s.")
    model_job_id = environment.get(env.MODEL_JOB_ID) or None
    if model_job_id is None:
        return None
    try:
        return check_job_id(model_job_id)
    except ValueError:
        raise Refused(f"Batch job {batch_job_id} names a model job id that is not one.") from None


def _same_queue(actual: str, expected: str) -> bool:
    """DescribeJobs gives the queue's ARN; the configured one may be the ARN or the name."""
    return actual == expected or (
        not expected.startswith("arn:") and actual.endswith(f":job-queue/{expected}")
    )


def _environment(job: dict[str, Any]) -> dict[str, str]:
    variables = (job.get("container") or {}).get("environment") or []
    return {str(v.get("name")): str(v.get("value", "")) for v in variables}


def _assume(
    sts: Any, config: IssuerConfig, *, job_id: str, model_job_id: str | None = None
) -> JobCredentials:
    partition = config.data_role_arn.split(":")[1]
    bucket_arn = f"arn:{partition}:s3:::{config.bucket}"
    response = sts.assume_role(
        RoleArn=config.data_role_arn,
        RoleSessionName=batch_job_name(job_id)[:SESSION_NAME_MAX],
        Policy=json.dumps(session_policy(bucket_arn, job_id, model_job_id), separators=(",", ":")),
        DurationSeconds=JOB_CREDENTIALS_DURATION_S,
    )
    issued = response["Credentials"]
    expiry: datetime = issued["Expiration"]
    return JobCredentials(
        access_key=issued["AccessKeyId"],
        secret_key=issued["SecretAccessKey"],
        token=issued["SessionToken"],
        expiry_time=expiry.isoformat(),
    )


def _described(event: Any) -> str:
    if not isinstance(event, dict):
        return f"of type {type(event).__name__}"
    # Short: the fields are the caller's text, and this is one line of the log.
    return f"batch_job_id={event.get('batch_job_id')!r:.80} job_id={event.get('job_id')!r:.80}"


@cache
def _clients() -> tuple[Any, Any]:
    """One Batch and one STS client per container."""
    import boto3
    from botocore.config import Config

    calls = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5)
    return boto3.client("batch", config=calls), boto3.client("sts", config=calls)
