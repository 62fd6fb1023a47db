"""The one place a Slack Web API client is built, so every caller gets the same retries.

Slack answers HTTP 429 with `Retry-After` when a method's rate limit is hit (`chat.update` is
tier 3, about 50 a minute per workspace; bursts of progress updates can reach it). slack_sdk's
`RateLimitErrorRetryHandler` sleeps for that long and tries again; `ConnectionErrorRetryHandler`
retries a dropped connection. Server errors (5xx) are not retried: a `chat.postMessage` that
Slack did process before failing would then be posted twice.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

DEFAULT_TIMEOUT_S = 30  # long enough for a chart upload, short enough to notice a dead network
CONNECTION_RETRIES = 2


def make_client(
    token: str,
    base_url: str,
    *,
    max_rate_limit_retries: int = 5,
    timeout_s: int = DEFAULT_TIMEOUT_S,
) -> WebClient:
    """A `WebClient` for `base_url` (Slack's, or a stand-in) that waits out rate limits.

    A call still rate limited after `max_rate_limit_retries` retries raises `SlackApiError`
    (`ratelimited`), like any other API error. Each retry blocks the calling thread for the
    `Retry-After` seconds Slack asked for.
    """
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
        ],
    )
