"""A stand-in for Slack's Web API, served over HTTP on 127.0.0.1 for the real ``slack_sdk`` client.

`automl shell` talks to the bot through it (no Slack at all), and the tests use it as their
fake of Slack: it records every call and checks parameters the way Slack does.

    with SlackStandIn() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        client.chat_postMessage(channel=fake.channel, text="hi")
        assert fake.calls("chat.postMessage")[0].params["text"] == "hi"

It answers the way Slack does: HTTP 200 with ``{"ok": false, "error": ...}`` for API
errors, HTTP 429 with ``Retry-After`` when a rate limit is injected, HTTP 500 or 503 when a
server error is injected (`server_error`), and a 200 HTML login
page when ``url_private_download`` is fetched without the bot token (or without the
``files:read`` scope).

    workspace    the state: channels, messages, files, ephemerals, views
    validation   what Slack checks: arguments, message content, Block Kit limits
    methods      the eleven Web API methods, and the URLs they hand out
    api          the front door: tokens, injected rate limits and failures, the call log
    server       the HTTP transport
    standin      `SlackStandIn`, all of them put together
"""

from bot.console.slack_standin.api import Call
from bot.console.slack_standin.methods import LOGIN_PAGE, TRIGGER_TTL_S
from bot.console.slack_standin.standin import SlackStandIn
from bot.console.slack_standin.validation import SlackError, validate_blocks
from bot.console.slack_standin.workspace import DEFAULT_SCOPES

__all__ = [
    "DEFAULT_SCOPES",
    "LOGIN_PAGE",
    "TRIGGER_TTL_S",
    "Call",
    "SlackError",
    "SlackStandIn",
    "validate_blocks",
]
