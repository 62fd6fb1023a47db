"""The Bolt app: built from settings and a job service, then given its listeners.

No `auth.test` at start-up: the bot is installed in one workspace with one bot token, so
`authorize` hands that token to every request without asking Slack (Bolt's default would
call `auth.test` when the app is built, and again on each cold Lambda start).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.listeners import register_listeners
from bot.service import JobService

log = logging.getLogger(__name__)


def build_app(
    service: JobService,
    *,
    signing_secret: str,
    process_before_response: bool = False,
    request_verification_enabled: bool = True,
) -> App:
    """`process_before_response=True` on Lambda, where nothing may run after the response."""
    token = service.client.token
    if not token:
        raise ValueError("the job service's Slack client has no bot token")

    def authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
        if team_id:  # every request names the workspace; new jobs record it
            service.team_id = team_id
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    app = App(
        name="automl",
        signing_secret=signing_secret,
        authorize=authorize,
        # Bolt gives each request a client with the token `authorize` returned; this one only
        # lends it the API URL and the retry handlers (rate limits).
        client=WebClient(
            base_url=service.client.base_url,
            timeout=service.client.timeout,
            retry_handlers=service.client.retry_handlers,
        ),
        process_before_response=process_before_response,
        request_verification_enabled=request_verification_enabled,
        # Not ours to answer: Bolt's default "unhandled request" warnings would fill the log
        # with every message in every channel the bot is in.
        raise_error_for_unhandled_request=False,
    )
    register_listeners(app, service)
    return app
