"""Secrets Manager values, cached per container for a while, and Slack settings from them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from bot.backends.aws import secrets
from bot.settings import Settings

from .conftest import REGION
from .spy import Spy


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    secrets.clear_cache()
    yield
    secrets.clear_cache()


@pytest.fixture
def manager(aws: None) -> Spy:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="automl/slack-bot-token", SecretString="xoxb-1-2-3\n")
    client.create_secret(Name="automl/slack-signing-secret", SecretString="s3cret")
    return Spy(client)


def fetches(spy: Spy) -> int:
    return spy.names().count("get_secret_value")


def test_cached_per_container(manager: Spy) -> None:
    assert secrets.secret_value("automl/slack-bot-token", client=manager) == "xoxb-1-2-3"
    assert secrets.secret_value("automl/slack-bot-token", client=manager) == "xoxb-1-2-3"
    assert fetches(manager) == 1


def test_a_rotated_secret_is_picked_up_after_the_ttl(
    manager: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(secrets.time, "monotonic", lambda: now[0])
    assert secrets.secret_value("automl/slack-bot-token", client=manager) == "xoxb-1-2-3"
    manager.client.put_secret_value(SecretId="automl/slack-bot-token", SecretString="xoxb-new")
    now[0] += secrets.CACHE_TTL_S - 1
    assert secrets.secret_value("automl/slack-bot-token", client=manager) == "xoxb-1-2-3"
    now[0] += 2
    assert secrets.secret_value("automl/slack-bot-token", client=manager) == "xoxb-new"
    assert fetches(manager) == 2


def test_the_default_client_comes_from_the_environment(
    manager: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "_client", None)
    assert secrets.secret_value("automl/slack-signing-secret") == "s3cret"


def test_bad_secrets(manager: Spy) -> None:
    manager.client.create_secret(Name="binary", SecretBinary=b"\x00\x01")
    with pytest.raises(ValueError, match="holds no text"):
        secrets.secret_value("binary", client=manager)
    with pytest.raises(manager.client.exceptions.ResourceNotFoundException):
        secrets.secret_value("missing", client=manager)
    with pytest.raises(ValueError, match="empty"):
        secrets.secret_value("", client=manager)


def test_with_slack_secrets(manager: Spy) -> None:
    settings = secrets.with_slack_secrets(Settings(), client=manager)
    assert settings.slack_bot_token == SecretStr("xoxb-1-2-3")
    assert settings.slack_signing_secret == SecretStr("s3cret")
    # Values already set win, and cost no call.
    given = Settings(SLACK_BOT_TOKEN="xoxb-env", SLACK_SIGNING_SECRET="env-secret")
    assert secrets.with_slack_secrets(given, client=manager) is given
    assert fetches(manager) == 2


def test_a_secret_that_is_not_a_bot_token(manager: Any) -> None:
    manager.client.create_secret(Name="wrong", SecretString="xapp-1-2")
    with pytest.raises(ValueError, match="'wrong' does not hold a bot token") as caught:
        secrets.with_slack_secrets(Settings(AUTOML_BOT_TOKEN_SECRET="wrong"), client=manager)
    assert "xapp-1-2" not in str(caught.value)
