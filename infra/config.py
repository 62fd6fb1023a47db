"""Names fixed by the deployment contract, and the few settings read from CDK context.

Context values come from `cdk.json`, or `-c key=value` on the CDK command line (strings
there, so numbers are parsed here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from contract import aws
from infra.retention import SUPPORTED_DAYS

if TYPE_CHECKING:  # the deploy script reads the names without loading the CDK (jsii, Node.js)
    from constructs import Node

REPO_ROOT = Path(__file__).resolve().parents[1]

# The bot's zip, built by `make bundle`; a placeholder stands in when it is missing.
BOT_BUNDLE = REPO_ROOT / "dist" / "bot-lambda.zip"
PLACEHOLDER_BUNDLE = Path(__file__).resolve().parent / "placeholder_lambda"
TRAINING_DOCKERFILE = "training/Dockerfile"  # relative to the build context, the repo root

# Fixed function names (of the default stage; `DeployConfig.named` adds a stage's suffix):
# the bot Lambda can then be granted invoke on itself by ARN, without the circular
# reference `fn.grant_invoke(fn)` would create. The preview function's is
# `contract.aws.PREVIEW_FUNCTION_NAME`: the bot's settings default to it.
BOT_FUNCTION = "automl-bot"
COMPLETION_FUNCTION = "automl-completion"

BOT_HANDLER = "bot.aws_lambda.bot_handler.handler"
COMPLETION_HANDLER = "bot.aws_lambda.completion_handler.handler"
PREVIEW_ENTRYPOINT = ["python", "-m", "awslambdaric"]
PREVIEW_HANDLER = "training.aws.preview_lambda.preview_handler"

# The bus the training job publishes its events to (contract.aws has their source and type):
# this stack's own, which only the job role may put to, so nobody else can fake progress.
EVENT_BUS = "automl-training"

# The stack of the default stage; another stage's is `AutomlBot-<stage>`.
STACK_NAME = "AutomlBot"
DEFAULT_STAGE = "prod"
# Short, lowercase, a letter first: it ends function names (64 characters at most).
_STAGE = re.compile(r"[a-z][a-z0-9-]{0,15}")


@dataclass(frozen=True, slots=True)
class DeployConfig:
    """What may differ between deployments (CDK context keys in brackets)."""

    run_expiry_days: int = 30  # [automl:run_expiry_days] S3 objects and job records
    max_vcpus: int = 32  # [automl:max_vcpus] per compute environment (Spot, on demand)
    log_retention_days: int = 30  # [automl:log_retention_days] every log group
    # [automl:stage] another independent stack in the same account and region: every fixed
    # name (functions, their log groups, the event bus, the secrets) gets `-<stage>`.
    stage: str = DEFAULT_STAGE
    # [automl:bot_token_secret], [automl:signing_secret_secret]; empty: the stage's own.
    bot_token_secret: str = ""
    signing_secret_secret: str = ""
    # [automl:alarm_email] where the alarms' SNS topic sends mail; empty: no subscription.
    alarm_email: str = ""

    def __post_init__(self) -> None:
        if not _STAGE.fullmatch(self.stage):
            raise ValueError(
                f"automl:stage must be lowercase letters, digits and hyphens, starting with a "
                f"letter, at most 16 characters (e.g. staging), not {self.stage!r}"
            )
        if not self.bot_token_secret:
            object.__setattr__(self, "bot_token_secret", self.named(aws.BOT_TOKEN_SECRET_NAME))
        if not self.signing_secret_secret:
            object.__setattr__(
                self, "signing_secret_secret", self.named(aws.SIGNING_SECRET_SECRET_NAME)
            )
        if self.alarm_email and "@" not in self.alarm_email:
            raise ValueError(f"automl:alarm_email is not an e-mail address: {self.alarm_email!r}")
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
            stage=str(value("stage", defaults.stage)),
            alarm_email=str(value("alarm_email", "")),
            run_expiry_days=int(str(value("run_expiry_days", defaults.run_expiry_days))),
            max_vcpus=int(str(value("max_vcpus", defaults.max_vcpus))),
            log_retention_days=int(str(value("log_retention_days", defaults.log_retention_days))),
            bot_token_secret=str(value("bot_token_secret", "")),
            signing_secret_secret=str(value("signing_secret_secret", "")),
        )

    @property
    def is_default_stage(self) -> bool:
        return self.stage == DEFAULT_STAGE

    def named(self, name: str) -> str:
        """A fixed name as this stage has it: unchanged for the default stage, else `-<stage>`.

        The one place a stage changes a name, so two stages share no physical name.
        """
        return name if self.is_default_stage else f"{name}-{self.stage}"

    @property
    def stack_name(self) -> str:
        return self.named(STACK_NAME)

    @property
    def bot_function(self) -> str:
        return self.named(BOT_FUNCTION)

    @property
    def completion_function(self) -> str:
        return self.named(COMPLETION_FUNCTION)

    @property
    def preview_function(self) -> str:
        return self.named(aws.PREVIEW_FUNCTION_NAME)

    @property
    def credentials_function(self) -> str:
        return self.named(aws.JOB_CREDENTIALS_FUNCTION_NAME)

    @property
    def event_bus(self) -> str:
        return self.named(EVENT_BUS)
