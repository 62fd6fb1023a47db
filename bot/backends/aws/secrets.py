"""Slack's credentials from Secrets Manager, cached per Lambda container.

A warm container reuses a value for `CACHE_TTL_S`, so a request costs no Secrets Manager call,
yet a rotated token is picked up within minutes without a redeploy. Each secret holds a plain
string (`xoxb-...`, the signing secret), as the stack's README says to create them.

Standard library only; boto3 is imported when a client is first needed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, Final

from pydantic import SecretStr

from bot.settings import Settings

CACHE_TTL_S: Final = 15 * 60

_lock = threading.Lock()
_cache: dict[str, tuple[str, float]] = {}  # secret id -> (value, monotonic time fetched)
_client: Any = None


def secret_value(secret_id: str, *, client: Any = None, ttl_s: float = CACHE_TTL_S) -> str:
    """The secret's string, from this container's cache when it is younger than `ttl_s`."""
    if not secret_id:
        raise ValueError("secret_id is empty")
    now = time.monotonic()
    with _lock:
        cached = _cache.get(secret_id)
        if cached is not None and now - cached[1] < ttl_s:
            return cached[0]
    response = (client or _default_client()).get_secret_value(SecretId=secret_id)
    value = response.get("SecretString")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"secret {secret_id!r} holds no text (a binary secret?)")
    value = value.strip()
    with _lock:
        _cache[secret_id] = (value, now)
    return value


def clear_cache() -> None:
    """Forget every cached value (tests; or after a failed Slack call with a stale token)."""
    with _lock:
        _cache.clear()


def with_slack_secrets(
    settings: Settings,
    *,
    client: Any = None,
    needed: Iterable[str] = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
) -> Settings:
    """`settings` with the bot token and signing secret read from Secrets Manager.

    Values already in the environment win (a local test of the Lambda handlers); the secrets
    are named by AUTOML_BOT_TOKEN_SECRET and AUTOML_SIGNING_SECRET_SECRET. Only the `needed`
    ones are read.
    """
    needed = set(needed)
    update: dict[str, SecretStr] = {}
    if settings.slack_bot_token is None and "SLACK_BOT_TOKEN" in needed:
        token = secret_value(settings.bot_token_secret, client=client)
        if not token.startswith("xoxb-"):  # model_copy skips the settings' own check
            raise ValueError(
                f"the secret {settings.bot_token_secret!r} does not hold a bot token (xoxb-...)"
            )
        update["slack_bot_token"] = SecretStr(token)
    if settings.slack_signing_secret is None and "SLACK_SIGNING_SECRET" in needed:
        update["slack_signing_secret"] = SecretStr(
            secret_value(settings.signing_secret_secret, client=client)
        )
    return settings.model_copy(update=update) if update else settings


def _default_client() -> Any:
    global _client  # noqa: PLW0603 - one client per container, made on first use
    with _lock:
        if _client is None:
            import boto3

            _client = boto3.client("secretsmanager")
        return _client
