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

# Object key prefixes in the bucket: the data folder's layout (contract.run_folder).
DATASETS_PREFIX: Final = f"{DATASETS_DIR}/"
RUNS_PREFIX: Final = f"{RUNS_DIR}/"

# Fixed names: the stack creates them, the bot's settings default to them.
PREVIEW_FUNCTION_NAME: Final = "automl-preview"
BOT_TOKEN_SECRET_NAME: Final = "automl/slack-bot-token"
SIGNING_SECRET_SECRET_NAME: Final = "automl/slack-signing-secret"

# Fargate on-demand prices (us-east-1 Linux/x86) and the Spot discount: the stack sets
# them on the completion Lambda, which says what a job cost; the bot defaults to them.
FARGATE_VCPU_HOUR_USD: Final = 0.04048
FARGATE_GB_HOUR_USD: Final = 0.004445
FARGATE_SPOT_FRACTION: Final = 0.3
