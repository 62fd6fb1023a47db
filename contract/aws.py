"""What the stack (infra/), the bot's aws backend and the training job agree on in AWS.

Standard library only: the CDK app imports it.
"""

from __future__ import annotations

from typing import Final

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

# Fixed names: the stack creates them, the bot's settings default to them.
PREVIEW_FUNCTION_NAME: Final = "automl-preview"
BOT_TOKEN_SECRET_NAME: Final = "automl/slack-bot-token"
SIGNING_SECRET_SECRET_NAME: Final = "automl/slack-signing-secret"

# Fargate on-demand prices (us-east-1 Linux/x86) and the Spot discount: the stack sets
# them on the completion Lambda, which says what a job cost; the bot defaults to them.
FARGATE_VCPU_HOUR_USD: Final = 0.04048
FARGATE_GB_HOUR_USD: Final = 0.004445
FARGATE_SPOT_FRACTION: Final = 0.3
