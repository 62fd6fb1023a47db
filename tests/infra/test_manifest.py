"""Checks on infra/slack-manifest.yaml, the Slack app manifest a user pastes into Slack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "infra" / "slack-manifest.yaml"
ENDPOINT = "https://YOUR-BOT-HOST/slack/events"
USAGE = (
    "train target=COLUMN [time=90s] [metric=…] | predict JOB | models | status | list | "
    "cancel JOB | cost | help"
)

EXPECTED_SCOPES = {
    "commands",
    "chat:write",
    "files:read",
    "files:write",
    "channels:history",
    "groups:history",
    "app_mentions:read",
    "im:history",  # direct messages with the bot
}
# Every scope the manifest may ever ask for. Adding one here is a deliberate, reviewed act.
ALLOWED_SCOPES = EXPECTED_SCOPES | {"channels:read", "groups:read"}
EXPECTED_EVENTS = {
    "file_shared",
    "message.channels",
    "message.groups",
    "app_mention",
    "app_home_opened",
    "message.im",
    "app_uninstalled",
    "tokens_revoked",
}
# The bot scope Slack requires before it delivers each event (None: Slack requires none).
EVENT_SCOPE: dict[str, str | None] = {
    "file_shared": "files:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "app_mention": "app_mentions:read",
    "app_home_opened": None,
    "message.im": "im:history",
    "app_uninstalled": None,
    "tokens_revoked": None,
}


# --- tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text() -> str:
    return MANIFEST.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def manifest(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def test_top_level_sections(manifest: dict[str, Any]) -> None:
    sections = {"_metadata", "display_information", "features", "oauth_config", "settings"}
    assert set(manifest) <= sections
    assert manifest["display_information"]["name"] == "AutoML"
    assert manifest["display_information"]["description"]
    assert manifest["features"]["bot_user"]["display_name"] == "AutoML"


def test_slash_command(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/automl"]
    command = commands[0]
    assert command["url"] == ENDPOINT
    assert command["usage_hint"] == USAGE
    assert command["description"]
    assert command["should_escape"] is False


def test_message_shortcuts(manifest: dict[str, Any]) -> None:
    from bot.messages.model_forms import PREDICT_SHORTCUT_CALLBACK_ID
    from bot.preview_blocks import SHORTCUT_CALLBACK_ID

    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert set(shortcuts) == {SHORTCUT_CALLBACK_ID, PREDICT_SHORTCUT_CALLBACK_ID}
    assert shortcuts[SHORTCUT_CALLBACK_ID]["name"] == "Train a model"
    assert shortcuts[PREDICT_SHORTCUT_CALLBACK_ID]["name"] == "Predict with a model"
    for shortcut in shortcuts.values():
        assert shortcut["type"] == "message"
        assert shortcut["description"]


def test_home_tab(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    # Direct messages: people write to the bot in its Messages tab (im:history, message.im).
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False


def test_events_and_interactivity_share_one_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    events = settings["event_subscriptions"]
    assert events["request_url"] == ENDPOINT
    assert settings["interactivity"] == {"is_enabled": True, "request_url": ENDPOINT}
    assert "user_events" not in events
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_bot_events(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert len(events) == len(set(events))
    assert set(events) == EXPECTED_EVENTS


def test_scopes_are_exact_and_least_privilege(manifest: dict[str, Any]) -> None:
    scopes_section = manifest["oauth_config"]["scopes"]
    assert set(scopes_section) == {"bot"}, "no user scopes"
    scopes = scopes_section["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) <= ALLOWED_SCOPES, set(scopes) - ALLOWED_SCOPES
    assert set(scopes) == EXPECTED_SCOPES


def test_every_event_has_its_scope(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        needed = EVENT_SCOPE[event]
        assert needed is None or needed in scopes, event


def test_every_scope_and_event_is_explained(text: str, manifest: dict[str, Any]) -> None:
    names = [
        *manifest["oauth_config"]["scopes"]["bot"],
        *manifest["settings"]["event_subscriptions"]["bot_events"],
    ]
    for name in names:
        pattern = rf"^\s*- {re.escape(name)} # \S.*$"
        assert re.search(pattern, text, re.MULTILINE), f"{name} needs a comment saying why"
