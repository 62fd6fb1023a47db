"""Signed requests shaped like the ones Slack sends to the bot, for the console and the tests.

Slack POSTs three kinds of request to `/slack/events`: Events API callbacks (JSON),
slash commands (form-encoded) and interactions (form-encoded `payload=<json>`). Each is
signed: `X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:<ts>:<body>"))` with
`X-Slack-Request-Timestamp: <ts>`. The payloads here carry the fields Slack documents and
the bot reads; ids and response URLs come from the stand-in, so replies land there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bot.console.slack_standin import SlackStandIn


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def bytes(self) -> bytes:
        return self.body.encode("utf-8")


def sign(body: str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to every request."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class SlackRequests:
    """Builds the requests a person's actions in Slack would make, signed with `secret`."""

    def __init__(self, slack: SlackStandIn, signing_secret: str, *, user: str = "U0HUMAN") -> None:
        self.slack = slack
        self.secret = signing_secret
        self.user = user

    # ---- plumbing --------------------------------------------------------------------------

    def _json(self, payload: dict[str, Any], **headers: str) -> SignedRequest:
        body = json.dumps(payload)
        return SignedRequest(
            body, {"Content-Type": "application/json", **sign(body, self.secret), **headers}
        )

    def _form(self, fields: dict[str, str]) -> SignedRequest:
        body = urlencode(fields)
        return SignedRequest(
            body,
            {"Content-Type": "application/x-www-form-urlencoded", **sign(body, self.secret)},
        )

    def _interaction(self, payload: dict[str, Any]) -> SignedRequest:
        return self._form({"payload": json.dumps(payload)})

    def _team(self) -> dict[str, str]:
        return {"id": self.slack.team_id, "domain": "standin"}

    def _user(self, user: str | None) -> dict[str, str]:
        who = user or self.user
        return {
            "id": who,
            "username": who.lower(),
            "name": who.lower(),
            "team_id": self.slack.team_id,
        }

    # ---- events ----------------------------------------------------------------------------

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int = 0
    ) -> SignedRequest:
        """An Events API callback; a retry has the same `event_id` and `X-Slack-Retry-Num`."""
        payload = {
            "token": "deprecated-verification-token",
            "team_id": self.slack.team_id,
            "api_app_id": "A0AUTOML",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.slack.team_id,
                    "user_id": self.slack.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": secrets.token_hex(8),
        }
        headers = {}
        if retry_num:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self._json(payload, **headers)

    def app_uninstalled(self) -> SignedRequest:
        """Someone removed the app from the workspace (its tokens are dead from now on)."""
        return self.event({"type": "app_uninstalled"})

    def tokens_revoked(
        self, *, bot: list[str] | None = None, oauth: list[str] | None = None
    ) -> SignedRequest:
        """Tokens revoked: `bot` and `oauth` list the user ids whose tokens died."""
        tokens = {"oauth": oauth or [], "bot": bot or []}
        return self.event({"type": "tokens_revoked", "tokens": tokens})

    def file_shared(
        self, channel: str, message: dict[str, Any], *, event_id: str | None = None
    ) -> SignedRequest:
        """The `message` event (subtype `file_share`) for a message carrying files."""
        event = {
            "type": "message",
            "subtype": "file_share",
            "text": message.get("text", ""),
            "files": message.get("files", []),
            "upload": True,
            "user": message.get("user", self.user),
            "display_as_bot": False,
            "ts": message["ts"],
            "channel": channel,
            "channel_type": _channel_type(channel),
            "event_ts": message["ts"],
        }
        if message.get("thread_ts") and message.get("thread_ts") != message["ts"]:
            event["thread_ts"] = message["thread_ts"]
        return self.event(event, event_id=event_id)

    def direct_message(
        self,
        channel: str,
        text: str,
        *,
        ts: str,
        thread_ts: str | None = None,
        user: str | None = None,
    ) -> SignedRequest:
        """A `message` event in a direct message with the bot (`channel` D...), as typed."""
        event = self._typed("message", channel, text, ts=ts, thread_ts=thread_ts, user=user)
        event["channel_type"] = "im"
        return self.event(event)

    def mention(
        self,
        channel: str,
        text: str,
        *,
        ts: str,
        thread_ts: str | None = None,
        user: str | None = None,
        event_id: str | None = None,
    ) -> SignedRequest:
        """`app_mention`: `text` as typed, e.g. "<@U0BOT> train target=churned"."""
        event = self._typed("app_mention", channel, text, ts=ts, thread_ts=thread_ts, user=user)
        return self.event(event, event_id=event_id)

    def _typed(
        self,
        kind: str,
        channel: str,
        text: str,
        *,
        ts: str,
        thread_ts: str | None,
        user: str | None,
    ) -> dict[str, Any]:
        """The fields Slack sends for a message a person typed (a DM or a mention)."""
        event: dict[str, Any] = {
            "type": kind,
            "user": user or self.user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    # ---- slash command ---------------------------------------------------------------------

    def command(
        self, channel: str, text: str, *, user: str | None = None, command: str = "/automl"
    ) -> SignedRequest:
        who = user or self.user
        return self._form(
            {
                "token": "deprecated-verification-token",
                "team_id": self.slack.team_id,
                "team_domain": "standin",
                "channel_id": channel,
                "channel_name": channel.lower(),
                "user_id": who,
                "user_name": who.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0AUTOML",
                "is_enterprise_install": "false",
                "response_url": self.slack.response_url(channel, who),
                "trigger_id": self.slack.trigger_id(),
            }
        )

    # ---- interactions ----------------------------------------------------------------------

    def block_action(
        self,
        channel: str,
        message: dict[str, Any],
        action: dict[str, Any],
        *,
        state: dict[str, Any] | None = None,
        user: str | None = None,
    ) -> SignedRequest:
        """A click on a message's button or menu; `state` is the message's input values."""
        who = user or self.user
        payload = {
            "type": "block_actions",
            "user": self._user(who),
            "api_app_id": "A0AUTOML",
            "token": "deprecated-verification-token",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
                **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
            },
            "trigger_id": self.slack.trigger_id(),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel.lower()},
            "message": message,
            "state": {"values": state or {}},
            "response_url": self.slack.response_url(channel, who, message.get("thread_ts")),
            "actions": [{"action_ts": f"{time.time():.6f}", **action}],
        }
        return self._interaction(payload)

    def home_action(
        self, view: dict[str, Any], action: dict[str, Any], *, user: str | None = None
    ) -> SignedRequest:
        """A click on a button of a person's Home tab (`view` as views.publish returned it):
        no channel, no message, no response_url."""
        who = user or self.user
        payload = {
            "type": "block_actions",
            "user": self._user(who),
            "api_app_id": "A0AUTOML",
            "token": "deprecated-verification-token",
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.slack.trigger_id(),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [{"action_ts": f"{time.time():.6f}", **action}],
        }
        return self._interaction(payload)

    def message_shortcut(
        self, channel: str, message: dict[str, Any], callback_id: str, *, user: str | None = None
    ) -> SignedRequest:
        who = user or self.user
        payload = {
            "type": "message_action",
            "token": "deprecated-verification-token",
            "action_ts": f"{time.time():.6f}",
            "team": self._team(),
            "user": self._user(who),
            "channel": {"id": channel, "name": channel.lower()},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.slack.trigger_id(),
            "response_url": self.slack.response_url(channel, who),
            "message_ts": message["ts"],
            "message": message,
        }
        return self._interaction(payload)

    def view_submission(
        self, view: dict[str, Any], values: dict[str, Any], *, user: str | None = None
    ) -> SignedRequest:
        """Submitting a modal the bot opened (`view` as views.open returned it)."""
        who = user or self.user
        submitted = {**view, "state": {"values": values}}
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(who),
            "api_app_id": "A0AUTOML",
            "token": "deprecated-verification-token",
            "trigger_id": self.slack.trigger_id(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._interaction(payload)


def _channel_type(channel: str) -> str:
    """What Slack's message events say a conversation is, from its id's first letter."""
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")
