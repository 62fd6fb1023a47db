"""Names fixed by the deployment contract, and the few settings read from CDK context.

Context values come from `cdk.json`, or `-c key=value` on the CDK command line (strings
there, so numbers are parsed here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from constructs import Node

from contract import aws
from contract import environment as env
from infra.retention import SUPPORTED_DAYS

REPO_ROOT = Path(__file__).resolve().parents[1]

# The bot's zip, built by `make bundle`; a placeholder stands in when it is missing.
BOT_BUNDLE = REPO_ROOT / "dist" / "bot-lambda.zip"
PLACEHOLDER_BUNDLE = Path(__file__).resolve().parent / "placeholder_lambda"
TRAINING_DOCKERFILE = "training/Dockerfile"  # relative to the build context, the repo root

# Fixed function names: the bot Lambda can then be granted invoke on itself by ARN,
# without the circular reference `fn.grant_invoke(fn)` would create. The preview
# function's is `contract.aws.PREVIEW_FUNCTION_NAME`: the bot's settings default to it.
BOT_FUNCTION = "automl-bot"
COMPLETION_FUNCTION = "automl-completion"

BOT_HANDLER = "bot.aws_lambda.bot_handler.handler"
COMPLETION_HANDLER = "bot.aws_lambda.completion_handler.handler"
PREVIEW_ENTRYPOINT = ["python", "-m", "awslambdaric"]
PREVIEW_HANDLER = "training.aws.preview_lambda.preview_handler"

# The bus the training job publishes its events to (contract.aws has their source and type):
# this stack's own, which only the job role may put to, so nobody else can fake progress.
EVENT_BUS = "automl-training"

# The prices the completion Lambda uses to say what a job cost, as its environment.
FARGATE_PRICES = {
    env.FARGATE_VCPU_HOUR_USD: str(aws.FARGATE_VCPU_HOUR_USD),
    env.FARGATE_GB_HOUR_USD: str(aws.FARGATE_GB_HOUR_USD),
    env.FARGATE_SPOT_FRACTION: str(aws.FARGATE_SPOT_FRACTION),
}


@dataclass(frozen=True, slots=True)
class DeployConfig:
    """What may differ between deployments (CDK context keys in brackets)."""

    run_expiry_days: int = 30  # [automl:run_expiry_days] S3 objects and job records
    max_vcpus: int = 32  # [automl:max_vcpus] per compute environment (Spot, on demand)
    log_retention_days: int = 30  # [automl:log_retention_days] every log group
    bot_token_secret: str = aws.BOT_TOKEN_SECRET_NAME  # [automl:bot_token_secret]
    signing_secret_secret: str = aws.SIGNING_SECRET_SECRET_NAME  # [automl:signing_secret_secret]

    def __post_init__(self) -> None:
        if self.run_expiry_days < 1:
            raise ValueError(
                f"automl:run_expiry_days must be at least 1, not {self.run_expiry_days}"
            )
        if self.max_vcpus < 1:
            raise ValueError(f"automl:max_vcpus must be at least 1, not {self.max_vcpus}")
        if self.log_retention_days not in SUPPORTED_DAYS:
            allowed = ", ".join(map(str, SUPPORTED_DAYS))
            raise ValueError(f"automl:log_retention_days must be one of {allowed}")

    @classmethod
    def from_context(cls, node: Node) -> DeployConfig:
        def value(key: str, default: object) -> object:
            found = node.try_get_context(f"automl:{key}")
            return default if found is None or found == "" else found

        defaults = cls()
        return cls(
            run_expiry_days=int(str(value("run_expiry_days", defaults.run_expiry_days))),
            max_vcpus=int(str(value("max_vcpus", defaults.max_vcpus))),
            log_retention_days=int(str(value("log_retention_days", defaults.log_retention_days))),
            bot_token_secret=str(value("bot_token_secret", defaults.bot_token_secret)),
            signing_secret_secret=str(
                value("signing_secret_secret", defaults.signing_secret_secret)
            ),
        )
