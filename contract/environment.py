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
# The base URL of the bot's own web app (its API on AWS): report and model links start with it.
PUBLIC_URL: Final = "AUTOML_PUBLIC_URL"

# Read by the completion Lambda (bot/aws_lambda/completion_handler.py, bot/cost.py).
JOB_LOG_GROUP: Final = "AUTOML_JOB_LOG_GROUP"
FARGATE_VCPU_HOUR_USD: Final = "AUTOML_FARGATE_VCPU_HOUR_USD"
FARGATE_GB_HOUR_USD: Final = "AUTOML_FARGATE_GB_HOUR_USD"
FARGATE_SPOT_FRACTION: Final = "AUTOML_FARGATE_SPOT_FRACTION"

# Read by the credential issuer (bot/aws_lambda/job_credentials.py), with BUCKET and
# JOB_QUEUE: the role whose sessions it hands out, narrowed to one job each.
JOB_DATA_ROLE: Final = "AUTOML_JOB_DATA_ROLE"

# Read by the training job.
EVENT_BUS: Final = "AUTOML_EVENT_BUS"  # set: events go to this EventBridge bus too
S3_KMS_KEY_ID: Final = "AUTOML_S3_KMS_KEY_ID"  # optional: SSE-KMS for what the job uploads
JOB_ID: Final = "AUTOML_JOB_ID"  # set by the bot's Batch launcher on each job
# Set by the bot's Batch launcher on each job: the credential issuer to invoke for the job's
# S3 credentials (training/aws/credentials.py), and the job's own token for it. The stack
# sets the first on the bot Lambda too: the issuer's name differs by stage.
JOB_CREDENTIALS_FUNCTION: Final = "AUTOML_JOB_CREDENTIALS_FUNCTION"
JOB_TOKEN: Final = "AUTOML_JOB_TOKEN"
# Set by the bot's Batch launcher on a prediction job: the training job whose model it reads.
# The credential issuer reads it back from DescribeJobs (the job cannot change it) and adds
# read access to that run's model.joblib to the job's session.
MODEL_JOB_ID: Final = "AUTOML_MODEL_JOB_ID"
BATCH_JOB_ID: Final = "AWS_BATCH_JOB_ID"  # set by AWS Batch itself in every job's container
# Set by the local backend on the warm worker: the memory cap of each job it forks.
JOB_MEMORY_MB: Final = "AUTOML_JOB_MEMORY_MB"

# Read by every entry point's logging set-up (common/logs.py); an operator may set them, the
# stack does not. AUTOML_LOG_FORMAT: json (servers, Lambdas, the job on Batch) or text (the
# terminal commands); AUTOML_LOG_LEVEL: DEBUG, INFO (the default), WARNING, ERROR.
LOG_FORMAT: Final = "AUTOML_LOG_FORMAT"
LOG_LEVEL: Final = "AUTOML_LOG_LEVEL"
