"""The bot's Lambda: API Gateway (HTTP API) → Mangum → the FastAPI app → Bolt.

Slack needs an answer within 3 s, and Lambda freezes whatever runs after the response, so
the slow half of a request (fetching the Slack file into S3, submitting the Batch job) runs
in a second, asynchronous invocation of this same function: Bolt's Lambda lazy-listener
runner re-invokes it with the original request and a header that says "lazy work only".
The app is built once per container, on the first request.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

log = logging.getLogger(__name__)


@cache
def _asgi_handler() -> Any:
    from mangum import Mangum
    from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

    from bot.aws_lambda.config import lambda_settings
    from bot.runtime import build_bot
    from bot.web import create_web_app

    settings = lambda_settings(secrets=["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"])
    bot = build_bot(settings, process_before_response=True)
    bot.app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(log)
    # Report and model links are S3 presigned URLs: the app serves no files here.
    return Mangum(create_web_app(bot.app, bot.signing_secret), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = _asgi_handler()(event, context)
    return response
