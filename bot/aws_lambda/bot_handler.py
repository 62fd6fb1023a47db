"""The bot's Lambda: API Gateway (HTTP API) → Mangum → the FastAPI app → Bolt.

Slack needs an answer within 3 s, and Lambda freezes whatever runs after the response, so
the slow half of a request (fetching the Slack file into S3, submitting the Batch job) runs
in a second, asynchronous invocation of this same function: Bolt's Lambda lazy-listener
runner re-invokes it with the original request and a header that says "lazy work only".
The app is built once per container, on the first request.

The same app serves the report and model links (`GET /artifacts/...`): the links point at
this API, so they live as long as they say, whoever signed them (the completion Lambda
writes most of them). Reports go out base64-encoded, whose size is known in advance (4/3 of
the file): the S3 artifact store sends only those that fit Lambda's response limit.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any, Final

from common.logs import configure_lambda_logging

log = logging.getLogger(__name__)
# Once per container, at import: JSON lines; the command dispatcher adds channel and user.
configure_lambda_logging()

# Answers Mangum passes as text; everything else (a report, a chart) goes base64-encoded.
TEXT_TYPES: Final = ["application/json", "text/plain"]


@cache
def _asgi_handler() -> Any:
    from mangum import Mangum
    from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

    from bot.aws_lambda.config import lambda_settings
    from bot.runtime import build_bot
    from bot.web import create_web_app, served_links

    settings = lambda_settings(secrets=["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"])
    bot = build_bot(settings, process_before_response=True)
    bot.app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(log)
    web = create_web_app(bot.app, bot.signing_secret, served_links(bot.backend.artifacts))
    return Mangum(web, lifespan="off", text_mime_types=TEXT_TYPES)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = _asgi_handler()(event, context)
    return response
