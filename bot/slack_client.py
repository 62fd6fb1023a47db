"""The one place a Slack Web API client is built, so every caller gets the same retries.

Slack answers HTTP 429 with `Retry-After` when a method's rate limit is hit (`chat.update` is
tier 3, about 50 a minute per workspace; bursts of progress updates can reach it). slack_sdk's
`RateLimitErrorRetryHandler` sleeps for that long and tries again; `ConnectionErrorRetryHandler`
retries a dropped connection.

Server errors (HTTP 500 and 503) are retried too, with a growing wait (about 1, 2, 4 and 8 s):
without that, a short outage on Slack's side lost a job's results for good, since the notifier
posts them once. The price is that a `chat.postMessage` Slack did carry out before failing
shows twice; a repeated message is better than a result nobody sees.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

DEFAULT_TIMEOUT_S = 30  # long enough for a chart upload, short enough to notice a dead network
CONNECTION_RETRIES = 2
# Retries share one count per call (slack_sdk's RetryState): 4 covers ~15 s of 5xx answers.
SERVER_ERROR_RETRIES = 4
SERVER_ERROR_BACKOFF_S = 1.0  # the first wait; each next one doubles (plus up to 1 s jitter)


def make_client(
    token: str,
    base_url: str,
    *,
    max_rate_limit_retries: int = 5,
    timeout_s: int = DEFAULT_TIMEOUT_S,
) -> WebClient:
    """A `WebClient` for `base_url` (Slack's, or a stand-in) that waits out rate limits and
    short server outages.

    A call still rate limited after `max_rate_limit_retries` retries raises `SlackApiError`
    (`ratelimited`), like any other API error; one still failing with 500/503 after
    `SERVER_ERROR_RETRIES` does too. Each retry blocks the calling thread while it waits.
    """
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
            ServerErrorRetryHandler(
                max_retry_count=SERVER_ERROR_RETRIES,
                interval_calculator=BackoffRetryIntervalCalculator(
                    backoff_factor=SERVER_ERROR_BACKOFF_S
                ),
            ),
        ],
    )
