"""The tests' fake of Slack: the same stand-in `automl shell` uses, plus a pytest fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.console.slack_standin import (
    DEFAULT_SCOPES,
    LOGIN_PAGE,
    Call,
    SlackError,
    SlackStandIn,
    validate_blocks,
)

FakeSlack = SlackStandIn


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started fake; import this name into a conftest or test module to use it."""
    with FakeSlack() as fake:
        yield fake


__all__ = [
    "DEFAULT_SCOPES",
    "LOGIN_PAGE",
    "Call",
    "FakeSlack",
    "SlackError",
    "fake_slack",
    "validate_blocks",
]
