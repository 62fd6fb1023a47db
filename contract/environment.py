"""Environment variables that one side sets and another reads.

The stack (infra/) sets them on the Lambdas and the Batch job definition; the bot's
launcher sets one on each Batch job; an operator may set the optional ones. The bot's other
settings (limits, Slack's tokens, the local data folder) are its own: see bot/settings.py.
"""

from __future__ import annotations

from typing import Final

# Read by the bot (bot/settings.py), set by the stack on the bot and completion Lambdas.
BACKEND: Final = "AUTOML_BACKEND"  # "aws" on Lambda
BUCKET: Final = "AUTOML_BUCKET"  # also on the training job and the preview Lambda
TABLE: Final = "AUTOML_TABLE"
JOB_QUEUE: Final = "AUTOML_JOB_QUEUE"
JOB_DEFINITION: Final = "AUTOML_JOB_DEFINITION"
PREVIEW_FUNCTION: Final = "AUTOML_PREVIEW_FUNCTION"
BOT_TOKEN_SECRET: Final = "AUTOML_BOT_TOKEN_SECRET"
SIGNING_SECRET_SECRET: Final = "AUTOML_SIGNING_SECRET_SECRET"
RUN_EXPIRY_DAYS: Final = "AUTOML_RUN_EXPIRY_DAYS"

# Read by the completion Lambda (bot/aws_lambda/completion_handler.py, bot/cost.py).
JOB_LOG_GROUP: Final = "AUTOML_JOB_LOG_GROUP"
FARGATE_VCPU_HOUR_USD: Final = "AUTOML_FARGATE_VCPU_HOUR_USD"
FARGATE_GB_HOUR_USD: Final = "AUTOML_FARGATE_GB_HOUR_USD"
FARGATE_SPOT_FRACTION: Final = "AUTOML_FARGATE_SPOT_FRACTION"

# Read by the training job.
EVENT_BUS: Final = "AUTOML_EVENT_BUS"  # set: events go to this EventBridge bus too
S3_KMS_KEY_ID: Final = "AUTOML_S3_KMS_KEY_ID"  # optional: SSE-KMS for what the job uploads
JOB_ID: Final = "AUTOML_JOB_ID"  # set by the bot's Batch launcher on each job
# Set by the local backend on the warm worker: the memory cap of each job it forks.
JOB_MEMORY_MB: Final = "AUTOML_JOB_MEMORY_MB"
