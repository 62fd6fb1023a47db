"""What the stack (infra/), the bot's aws backend and the training job agree on in AWS.

Standard library only: the CDK app imports it.
"""

from __future__ import annotations

from typing import Final, TypedDict

from contract.run_folder import DATASETS_DIR, RUNS_DIR

# The training job's own events on EventBridge (the `contract.jobs` events as `detail`).
TRAINING_EVENT_SOURCE: Final = "automl.training"
TRAINING_EVENT_DETAIL_TYPE: Final = "AutoML Training Event"

# AWS Batch's events about the bot's jobs, and the statuses the completion Lambda acts on:
# RUNNING says a job started; SUCCEEDED and FAILED end it (FAILED after Batch's retries).
BATCH_EVENT_SOURCE: Final = "aws.batch"
BATCH_EVENT_DETAIL_TYPE: Final = "Batch Job State Change"
BATCH_RUNNING: Final = "RUNNING"
BATCH_SUCCEEDED: Final = "SUCCEEDED"
BATCH_FAILED: Final = "FAILED"

# The tag the launcher puts on each Batch job (its value: the job queue's ARN); the bot's
# role may terminate only jobs that carry it, so only this stack's jobs.
BATCH_QUEUE_TAG: Final = "automl-queue"
# Cost-allocation tags the launcher puts on each Batch job besides, propagated to its ECS
# task (the job definition's `propagateTags`): activate them in Billing to split the bill
# by job, channel or person. Keys by what they hold.
BATCH_JOB_TAGS: Final = {
    "job_id": "automl-job-id",
    "channel_id": "automl-channel",
    "user_id": "automl-user",
}

# The scheduled event (its whole input) that makes the completion Lambda sweep: reconcile
# queued and running jobs with Batch and end the lost ones.
SWEEP_EVENT: Final = {"automl": "sweep"}
SWEEP_EVERY_MINUTES: Final = 15

# Object key prefixes in the bucket: the data folder's layout (contract.run_folder).
DATASETS_PREFIX: Final = f"{DATASETS_DIR}/"
RUNS_PREFIX: Final = f"{RUNS_DIR}/"

# The preview request's field with a presigned GET of the one file to preview: the preview
# Lambda's role has no S3 access, so it can read that file and nothing else.
PREVIEW_DATASET_URL: Final = "dataset_url"
PREVIEW_URL_EXPIRY_S: Final = 600

# A training job's S3 credentials: the job role has no S3 access; it may only invoke the
# credential issuer (bot/aws_lambda/job_credentials.py), which checks with Batch that the
# caller is that job, running on this stack's queue, with the token the launcher gave it,
# and returns a session allowed only that job's dataset and run folder, for an hour (the
# most role chaining allows; training/aws/credentials.py refreshes it before it expires).
JOB_CREDENTIALS_FUNCTION_NAME: Final = "automl-job-credentials"
JOB_CREDENTIALS_DURATION_S: Final = 3600


class JobCredentialsRequest(TypedDict):
    """What a job sends the issuer: its Batch job id, its job id and its token."""

    batch_job_id: str
    job_id: str
    token: str


class JobCredentials(TypedDict):
    """What the issuer answers: botocore's refreshable-credentials metadata, as it is.

    A refusal is `{"error": "<a sentence>"}` instead.
    """

    access_key: str
    secret_key: str
    token: str
    expiry_time: str  # ISO 8601, UTC


# Fixed names: the stack creates them, the bot's settings default to them.
PREVIEW_FUNCTION_NAME: Final = "automl-preview"
BOT_TOKEN_SECRET_NAME: Final = "automl/slack-bot-token"
SIGNING_SECRET_SECRET_NAME: Final = "automl/slack-signing-secret"

# The bot's report and model links (bot/links.py) start with this path; the stack routes it
# from the API to the bot Lambda, which serves them.
ARTIFACT_LINK_PREFIX: Final = "/artifacts"

# What a job cost on Fargate (bot/cost.py's `JobCost` as JSON), written into its run folder
# by the completion Lambda when Batch reports the job's end; `/automl cost` adds them up.
JOB_COST_FILE: Final = "cost.json"

# Fargate on-demand prices, Linux/x86, USD per vCPU-hour and per GB-hour, by region (AWS's
# published list, aws.amazon.com/fargate/pricing; it changes rarely, but check it), and the
# Spot discount. The completion Lambda says what a job cost at its own region's prices
# (bot/cost.py); a region missing here gets us-east-1's, and the AUTOML_FARGATE_*
# environment variables override all three.
FARGATE_VCPU_HOUR_USD: Final = 0.04048  # us-east-1
FARGATE_GB_HOUR_USD: Final = 0.004445
FARGATE_SPOT_FRACTION: Final = 0.3
FARGATE_PRICES_BY_REGION: Final[dict[str, tuple[float, float]]] = {
    "us-east-1": (0.04048, 0.004445),
    "us-east-2": (0.04048, 0.004445),
    "us-west-2": (0.04048, 0.004445),
    "us-west-1": (0.04656, 0.00511),
    "ca-central-1": (0.04456, 0.00489),
    "eu-west-1": (0.04048, 0.004445),
    "eu-west-2": (0.04656, 0.00511),
    "eu-central-1": (0.04656, 0.00511),
    "ap-south-1": (0.04256, 0.00467),
    "ap-southeast-1": (0.05056, 0.00553),
    "ap-southeast-2": (0.04856, 0.00532),
    "ap-northeast-1": (0.05056, 0.00553),
    "sa-east-1": (0.0696, 0.0076),
}
