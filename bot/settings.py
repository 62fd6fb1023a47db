"""The bot's configuration: one `Settings` object read from the environment and `.env`.

Every setting is an environment variable (see ARCHITECTURE.md, "Configuration"). Use
`load_settings(require=...)` at start-up: it validates everything at once and raises
`SettingsError` whose text names each missing or invalid variable and what it should look
like, so a person never sees a pydantic traceback. Secrets are `SecretStr` and never show up
in `repr()` or in error messages.

Standard library, pydantic, pydantic-settings and `contract` only: it is on the Lambda's path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from contract import environment as env
from contract.aws import (
    BOT_TOKEN_SECRET_NAME,
    JOB_CREDENTIALS_FUNCTION_NAME,
    PREVIEW_FUNCTION_NAME,
    SIGNING_SECRET_SECRET_NAME,
)
from contract.jobs import MAX_TIME_BUDGET_S, MIN_TIME_BUDGET_S, Limits

Backend = Literal["local", "aws"]
PreviewMode = Literal["auto", "mention"]

# What the aws backend cannot start without. The Lambdas ask for them with
# `load_settings(require=[..., "aws"])`; `build_aws_backend` refuses to start without them.
AWS_REQUIRED: tuple[str, ...] = (env.BUCKET, env.TABLE, env.JOB_QUEUE, env.JOB_DEFINITION)

# What each way of running the bot cannot start without.
REQUIRED_FOR: dict[str, tuple[str, ...]] = {
    "serve": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
    "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"),
    "lambda": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
    "shell": (),
    "aws": AWS_REQUIRED,
}

# What a correct value looks like, for the error message.
HINTS: dict[str, str] = {
    "SLACK_BOT_TOKEN": "the app's Bot User OAuth Token, starting with xoxb- "
    "(Slack app settings > OAuth & Permissions)",
    "SLACK_SIGNING_SECRET": "the app's Signing Secret "
    "(Slack app settings > Basic Information > App Credentials)",
    "SLACK_APP_TOKEN": "an app-level token with the connections:write scope, starting with "
    "xapp- (Slack app settings > Basic Information > App-Level Tokens); Socket Mode only",
    "SLACK_API_URL": "an http(s) URL ending in /api/, e.g. https://slack.com/api/",
    env.BACKEND: "local or aws",
    "AUTOML_DATA_DIR": "a directory path, e.g. ./automl-data",
    env.PUBLIC_URL: "the http(s) base URL people reach the bot at, e.g. http://localhost:3000 "
    "(the stack sets it on AWS)",
    "AUTOML_MAX_FILE_MB": "a number of megabytes greater than 0, e.g. 100",
    "AUTOML_MAX_COLUMNS": "a whole number greater than 0, e.g. 2000",
    "AUTOML_DEFAULT_TIME_BUDGET_S": f"a whole number of seconds from {MIN_TIME_BUDGET_S} "
    "to AUTOML_MAX_TIME_BUDGET_S, e.g. 60",
    "AUTOML_MAX_TIME_BUDGET_S": f"a whole number of seconds from {MIN_TIME_BUDGET_S} "
    f"to {MAX_TIME_BUDGET_S}, e.g. 1800",
    "AUTOML_MAX_CONCURRENT_JOBS": "a whole number of at least 1, e.g. 2",
    "AUTOML_MAX_JOBS_PER_USER": "a whole number of at least 1, "
    "no more than AUTOML_MAX_CONCURRENT_JOBS, e.g. 1",
    "AUTOML_ALLOWED_CHANNELS": "comma-separated channel ids, e.g. C0123ABCD,C0456EFGH; "
    "empty allows every channel",
    "AUTOML_ALLOWED_USERS": "comma-separated user ids, e.g. U0123ABCD,U0456EFGH; "
    "empty allows everyone",
    "AUTOML_LINK_EXPIRY_HOURS": "a number of hours greater than 0, at most 168, e.g. 24",
    "AUTOML_WARM_WORKER": "on or off",
    "AUTOML_PREVIEW": "auto (every shared table) or mention (only tables shared with a "
    "mention of the bot)",
    "AUTOML_MAX_CELLS": "a whole number of values (rows x columns) above 0, e.g. 50000000",
    "AUTOML_MAX_UNPACKED_MB": "a number of megabytes above 0, e.g. 2000",
    env.JOB_MEMORY_MB: "a whole number of megabytes, 0 for no cap, e.g. 8192",
    "AUTOML_MAX_CONCURRENT_PREVIEWS": "a whole number from 1 to 64, e.g. 2",
    "AUTOML_MAX_REQUEST_KB": "a whole number of kilobytes from 64 to 102400, e.g. 1024",
    "AUTOML_REQUEST_TIMEOUT_S": "a number of seconds from 1 to 300, e.g. 10",
    "AUTOML_MAX_CONNECTIONS": "a whole number from 10 to 100000, e.g. 200",
    env.BUCKET: "aws backend: the S3 bucket for datasets and runs (the stack sets it)",
    env.TABLE: "aws backend: the DynamoDB job table's name (the stack sets it)",
    env.JOB_QUEUE: "aws backend: the AWS Batch job queue's name or ARN (the stack sets it)",
    env.JOB_DEFINITION: "aws backend: the AWS Batch job definition's name or ARN "
    "(the stack sets it)",
    env.PREVIEW_FUNCTION: "aws backend: the preview Lambda's name, e.g. automl-preview",
    env.JOB_CREDENTIALS_FUNCTION: "aws backend: the training jobs' credential issuer Lambda's "
    "name, e.g. automl-job-credentials (the stack sets it)",
    env.BOT_TOKEN_SECRET: "aws backend: the Secrets Manager secret holding the bot token, "
    "e.g. automl/slack-bot-token",
    env.SIGNING_SECRET_SECRET: "aws backend: the Secrets Manager secret holding the "
    "signing secret, e.g. automl/slack-signing-secret",
    env.RUN_EXPIRY_DAYS: "a whole number of days from 1 to 3650 before runs and job "
    "records expire, e.g. 30",
    "AUTOML_KEEP_DATASETS": "on or off (local backend: keep each job's copy of the "
    "file after the job ends)",
}


_SECRETS = frozenset({"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"})
# How each Slack token starts, and the token it is most often mixed up with.
_TOKEN_PREFIXES = {
    "slack_bot_token": ("xoxb-", "is it a user or app-level token?"),
    "slack_app_token": ("xapp-", "is it the bot token?"),
}


class SettingsError(Exception):
    """The configuration is incomplete or wrong; `str(error)` is written for a person."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            "The bot's configuration is not usable. Set these environment variables "
            f"(or put them in a .env file):\n{lines}"
        )


def _comma_list(value: Any) -> Any:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(item.strip() for item in value.split(",") if item.strip())
    return value


IdSet = Annotated[frozenset[str], NoDecode]


class Settings(BaseSettings):
    """All of the bot's settings. Attribute names are short; the variables are the aliases."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
        frozen=True,
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")

    # Backend
    backend: Backend = Field(default="local", alias=env.BACKEND)
    data_dir: Path = Field(default=Path("./automl-data"), alias="AUTOML_DATA_DIR")
    public_url: str = Field(default="http://localhost:3000", alias=env.PUBLIC_URL)

    # Limits
    max_file_mb: float = Field(default=100, gt=0, alias="AUTOML_MAX_FILE_MB")
    max_columns: int = Field(default=2000, gt=0, alias="AUTOML_MAX_COLUMNS")
    # What a shared file may expand to (checked before it is read; training/input/limits.py).
    max_cells: int = Field(default=50_000_000, gt=0, alias="AUTOML_MAX_CELLS")
    max_unpacked_mb: float = Field(default=2000, gt=0, alias="AUTOML_MAX_UNPACKED_MB")
    # The local backend: each preview and job process's memory cap (common/memory.py).
    job_memory_mb: int = Field(default=8192, ge=0, alias=env.JOB_MEMORY_MB)
    max_concurrent_previews: int = Field(
        default=2, ge=1, le=64, alias="AUTOML_MAX_CONCURRENT_PREVIEWS"
    )
    default_time_budget_s: int = Field(
        default=60, ge=MIN_TIME_BUDGET_S, le=MAX_TIME_BUDGET_S, alias="AUTOML_DEFAULT_TIME_BUDGET_S"
    )
    max_time_budget_s: int = Field(
        default=1800, ge=MIN_TIME_BUDGET_S, le=MAX_TIME_BUDGET_S, alias="AUTOML_MAX_TIME_BUDGET_S"
    )
    max_concurrent_jobs: int = Field(default=2, ge=1, alias="AUTOML_MAX_CONCURRENT_JOBS")
    max_jobs_per_user: int = Field(default=1, ge=1, alias="AUTOML_MAX_JOBS_PER_USER")
    # chat.update calls for progress, per minute, shared by every job (bot/slack_budget.py);
    # Slack's Tier 3 allows about 50, and results and cancellations are counted too.
    progress_updates_per_minute: int = Field(
        default=40, ge=1, le=50, alias="AUTOML_PROGRESS_UPDATES_PER_MINUTE"
    )
    allowed_channels: IdSet = Field(default=frozenset(), alias="AUTOML_ALLOWED_CHANNELS")
    allowed_users: IdSet = Field(default=frozenset(), alias="AUTOML_ALLOWED_USERS")
    link_expiry_hours: float = Field(default=24, gt=0, le=168, alias="AUTOML_LINK_EXPIRY_HOURS")
    # Which shared tables get a preview: `auto` every one; `mention` only those shared in a
    # message that mentions the bot (or sent to it in a DM), for busy channels.
    preview: PreviewMode = Field(default="auto", alias="AUTOML_PREVIEW")
    # The local backend: start jobs from a process with the heavy imports done (warm_start.py).
    warm_worker: bool = Field(default=True, alias="AUTOML_WARM_WORKER")
    # `automl serve`: what one request may cost (bot/http_guard.py, bot/http_server.py).
    max_request_kb: int = Field(default=1024, ge=64, le=102400, alias="AUTOML_MAX_REQUEST_KB")
    request_timeout_s: float = Field(default=10, ge=1, le=300, alias="AUTOML_REQUEST_TIMEOUT_S")
    max_connections: int = Field(default=200, ge=10, le=100000, alias="AUTOML_MAX_CONNECTIONS")

    # The aws backend's resources (names the CDK stack sets; see infra/ and bot/backends/aws).
    aws_bucket: str | None = Field(default=None, alias=env.BUCKET)
    aws_table: str | None = Field(default=None, alias=env.TABLE)
    aws_job_queue: str | None = Field(default=None, alias=env.JOB_QUEUE)
    aws_job_definition: str | None = Field(default=None, alias=env.JOB_DEFINITION)
    # Fixed names from the deployment contract: set on every Lambda, needed only by some.
    aws_preview_function: str = Field(default=PREVIEW_FUNCTION_NAME, alias=env.PREVIEW_FUNCTION)
    # The credential issuer the launcher names on each job (a stage's has its own name).
    aws_job_credentials_function: str = Field(
        default=JOB_CREDENTIALS_FUNCTION_NAME, min_length=1, alias=env.JOB_CREDENTIALS_FUNCTION
    )
    bot_token_secret: str = Field(
        default=BOT_TOKEN_SECRET_NAME, min_length=1, alias=env.BOT_TOKEN_SECRET
    )
    signing_secret_secret: str = Field(
        default=SIGNING_SECRET_SECRET_NAME, min_length=1, alias=env.SIGNING_SECRET_SECRET
    )
    run_expiry_days: int = Field(default=30, ge=1, le=3650, alias=env.RUN_EXPIRY_DAYS)
    # The local backend: keep a job's copy of the file after it ends (backends/local/sweeper.py).
    keep_datasets: bool = Field(default=False, alias="AUTOML_KEEP_DATASETS")

    @field_validator("allowed_channels", "allowed_users", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "aws_bucket",
        "aws_table",
        "aws_job_queue",
        "aws_job_definition",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator(*_TOKEN_PREFIXES)
    @classmethod
    def _token_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        prefix, mix_up = _TOKEN_PREFIXES[str(info.field_name)]
        if value is not None and not value.get_secret_value().startswith(prefix):
            raise ValueError(f"does not start with {prefix} ({mix_up})")
        return value

    @field_validator("slack_api_url", "public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
            raise ValueError("is not an http:// or https:// URL")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack_sdk joins base_url and the method name by concatenation.
        return value if value.endswith("/") else value + "/"

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.default_time_budget_s > self.max_time_budget_s:
            raise ValueError(
                "AUTOML_DEFAULT_TIME_BUDGET_S "
                f"({self.default_time_budget_s}) is more than AUTOML_MAX_TIME_BUDGET_S "
                f"({self.max_time_budget_s})"
            )
        if self.max_jobs_per_user > self.max_concurrent_jobs:
            raise ValueError(
                f"AUTOML_MAX_JOBS_PER_USER ({self.max_jobs_per_user}) is more than "
                f"AUTOML_MAX_CONCURRENT_JOBS ({self.max_concurrent_jobs})"
            )
        return self

    # ---- helpers -------------------------------------------------------------------------

    def channel_allowed(self, channel_id: str) -> bool:
        return not self.allowed_channels or channel_id in self.allowed_channels

    def user_allowed(self, user_id: str) -> bool:
        return not self.allowed_users or user_id in self.allowed_users

    def input_limits(self) -> Limits:
        return Limits(
            max_file_mb=self.max_file_mb,
            max_columns=self.max_columns,
            max_cells=self.max_cells,
            max_unpacked_mb=self.max_unpacked_mb,
        )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def link_expiry_s(self) -> int:
        return int(self.link_expiry_hours * 3600)

    @property
    def db_path(self) -> Path:
        """The local backend's SQLite job store."""
        return self.data_dir / "jobs.sqlite3"

    def missing(self, names: Iterable[str]) -> list[str]:
        """The variables among `names` (environment names) that are not set."""
        by_alias = {
            (field.alias or name).upper(): name for name, field in type(self).model_fields.items()
        }
        return [name for name in names if getattr(self, by_alias[name.upper()]) is None]


def _required(require: str | Iterable[str]) -> list[str]:
    """`require` is a mode ("serve", "socket", "lambda", "shell", "aws") or variable names."""
    items = [require] if isinstance(require, str) else list(require)
    names: list[str] = []
    for item in items:
        expanded = REQUIRED_FOR.get(item.lower(), (item.upper(),))
        names.extend(name for name in expanded if name not in names)
    unknown = [name for name in names if name not in HINTS]
    if unknown:
        raise ValueError(f"unknown setting(s) to require: {', '.join(unknown)}")
    return names


def _describe(error: Any) -> tuple[str, str]:
    """(variable, sentence) for one pydantic error, without echoing secrets."""
    loc = error.get("loc") or ()
    variable = str(loc[0]).upper() if loc else ""
    fields = Settings.model_fields
    if variable.lower() in fields:  # validated by attribute name: report the variable name
        variable = (fields[variable.lower()].alias or variable).upper()
    message = str(error.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "missing":
        return variable, f"{variable} is not set"
    if not variable:  # a cross-field check (model validator)
        return "", message
    shown = "" if variable in _SECRETS else f"={error.get('input')!r}"
    return variable, f"{variable}{shown} is invalid: {message}"


def load_settings(
    require: str | Iterable[str] = (), *, env_file: str | Path | None = ".env"
) -> Settings:
    """Read and validate the settings; raise `SettingsError` describing every problem.

    `require` is a way of running the bot ("serve", "socket", "lambda", "shell"), "aws" for
    the aws backend's resource names, or a list of those and of variable names that must be
    set (e.g. ``["SLACK_BOT_TOKEN"]``).
    """
    required = _required(require)
    problems: list[str] = []
    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as exc:
        invalid = set()
        for error in exc.errors(include_url=False):
            variable, sentence = _describe(error)
            invalid.add(variable)
            hint = HINTS.get(variable)
            problems.append(f"{sentence}; expected {hint}" if hint else sentence)
        # Also report required variables that are simply unset, so one run shows everything.
        problems.extend(_missing_from_env(required, env_file, skip=invalid))
        raise SettingsError(problems) from None
    problems.extend(missing_problems(settings, required))
    if problems:
        raise SettingsError(problems)
    return settings


def missing_problems(settings: Settings, names: Iterable[str]) -> list[str]:
    """One line per variable among `names` that is not set, as `SettingsError` lists them."""
    return [f"{name} is not set; expected {HINTS[name]}" for name in settings.missing(names)]


def _missing_from_env(
    names: list[str], env_file: str | Path | None, *, skip: set[str]
) -> list[str]:
    import os

    from_file: dict[str, str | None] = {}
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values  # a dependency of pydantic-settings

        from_file = {key.upper(): value for key, value in dotenv_values(env_file).items()}
    environ = {key.upper(): value for key, value in os.environ.items()}
    out = []
    for name in names:
        value = environ.get(name) or from_file.get(name)
        if name not in skip and not (value and value.strip()):
            out.append(f"{name} is not set; expected {HINTS[name]}")
    return out
