"""The stage's two Slack secrets in Secrets Manager: found, or created without showing them.

A missing secret's value comes from the environment (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)
or from a prompt that does not echo (getpass). Values are never printed, logged or put in an
error message: what is said about a secret is its name and what happened to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# The bot token's shape (bot/settings.py checks the same at start-up).
BOT_TOKEN_PREFIX = "xoxb-"


class SecretProblem(Exception):
    """A secret could not be found or created; `str()` is a sentence for a person."""


@dataclass(frozen=True, slots=True)
class SlackSecret:
    name: str  # the secret's name in Secrets Manager (the stage's own)
    env_var: str  # where its value may be given
    what: str  # what it is, for the prompt
    prefix: str = ""  # how a valid value starts, if it has a fixed start


def slack_secrets(bot_token_secret: str, signing_secret_secret: str) -> list[SlackSecret]:
    return [
        SlackSecret(
            bot_token_secret,
            "SLACK_BOT_TOKEN",
            "the Bot User OAuth Token (xoxb-..., Slack app settings > OAuth & Permissions)",
            BOT_TOKEN_PREFIX,
        ),
        SlackSecret(
            signing_secret_secret,
            "SLACK_SIGNING_SECRET",
            "the Signing Secret (Slack app settings > Basic Information > App Credentials)",
        ),
    ]


def ensure_secrets(
    client: Any,
    secrets: list[SlackSecret],
    *,
    environ: Mapping[str, str],
    ask: Callable[[str], str] | None,
    say: Callable[[str], None],
) -> None:
    """Check each secret exists; create the missing ones from `environ` or `ask` (no echo).

    `ask` None: no terminal to ask at, a missing value is a `SecretProblem`.
    """
    for secret in secrets:
        if _exists(client, secret.name):
            say(f"secret {secret.name}: found")
            continue
        value = environ.get(secret.env_var, "").strip()
        source = secret.env_var
        if not value:
            if ask is None:
                raise SecretProblem(
                    f"The secret {secret.name} does not exist yet. Set {secret.env_var} to "
                    f"{secret.what}, or run `make deploy` in a terminal to be asked for it."
                )
            value = ask(f"{secret.what}\n{secret.env_var} (not shown as you type): ").strip()
            source = "the prompt"
        if not value:
            raise SecretProblem(f"No value was given for {secret.name} ({secret.env_var}).")
        if secret.prefix and not value.startswith(secret.prefix):
            raise SecretProblem(
                f"The value given for {secret.name} ({secret.env_var}) does not start with "
                f"{secret.prefix}: it should be {secret.what}."
            )
        try:
            client.create_secret(
                Name=secret.name,
                SecretString=value,
                Description=f"Slack AutoML bot: {secret.what}",
            )
        except Exception as error:  # botocore's errors quote the request, never the value
            raise SecretProblem(
                f"Could not create the secret {secret.name}: {_error_code(error)}. Check the "
                "AWS credentials and region, then run `make deploy` again."
            ) from None
        say(f"secret {secret.name}: created from {source}")


def _exists(client: Any, name: str) -> bool:
    try:
        client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    except Exception as error:
        raise SecretProblem(
            f"Could not look up the secret {name}: {_error_code(error)}. Check the AWS "
            "credentials and region (AWS_PROFILE, AWS_REGION)."
        ) from None
    return True


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__
