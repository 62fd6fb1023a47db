"""The bot's lazy half that failed: its Lambda on-failure destination sends it here.

Lambda wraps the failed asynchronous invocation as `{"requestContext", "requestPayload",
"responsePayload", ...}`; the payload is the original API Gateway event Bolt re-sent to
itself, so its body says who asked, and where.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs


def is_failed_invocation(event: dict[str, Any]) -> bool:
    return "requestPayload" in event and "requestContext" in event


def requester_of(failed: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(channel, user, thread_ts) of the Slack request in a failed invocation, if readable."""
    payload = failed.get("requestPayload")
    if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
        return None
    body: str = payload["body"]
    try:
        if payload.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8")
        if body.lstrip().startswith("{"):  # the Events API
            event = json.loads(body).get("event") or {}
            found = (event.get("channel") or event.get("channel_id"), event.get("user"))
            thread = event.get("thread_ts") or event.get("ts")
        else:
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if "payload" in form:  # interactivity: buttons, shortcuts, forms
                action = json.loads(form["payload"])
                message = action.get("message") or {}
                found = (
                    (action.get("channel") or {}).get("id"),
                    (action.get("user") or {}).get("id"),
                )
                thread = message.get("thread_ts") or message.get("ts")
            else:  # a slash command
                found, thread = (form.get("channel_id"), form.get("user_id")), None
    except (ValueError, AttributeError, TypeError):
        return None
    channel, user = found
    if not isinstance(channel, str) or not isinstance(user, str) or not channel or not user:
        return None
    return channel, user, thread if isinstance(thread, str) else None
