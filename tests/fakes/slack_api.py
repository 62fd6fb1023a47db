"""The tests' fake of Slack: the same stand-in `automl shell` uses, plus a pytest fixture."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

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


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits slack_sdk's rate-limit retry handler asks for, recorded instead of slept.

    It sleeps `Retry-After` plus up to a second at random before each retry: real seconds a
    test would spend doing nothing. Import this name into a test module to use it.
    """
    from slack_sdk.http_retry import builtin_handlers

    waits: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=waits.append))
    return waits


__all__ = [
    "DEFAULT_SCOPES",
    "LOGIN_PAGE",
    "Call",
    "FakeSlack",
    "SlackError",
    "fake_slack",
    "retry_waits",
    "validate_blocks",
]
