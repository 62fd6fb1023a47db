"""The bot's web app (FastAPI): Slack's requests, a health check and the artifact links.

    POST /slack/events               events, the slash command and interactivity (Bolt)
    GET  /health                     for load balancers and people
    GET  /artifacts/<job>/<path>     a signed, expiring link to one file of one job

Importing this module stays light (no pandas, FLAML or plotly): `benchmarks/bot_import.py`
measures it.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from bot.http_guard import BODY_TIMEOUT_S, MAX_BODY_BYTES, RequestGuard
from bot.links import BAD_SIGNATURE, EXPIRED, LinkRefused, LinkSigner
from bot.messages import escape

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"

REPORT_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# A report is someone's data: it must not run with the bot's origin, nor be cached or indexed.
_REPORT_HEADERS = {
    # Sweetviz inlines its scripts, styles, fonts and images; nothing may load or send data,
    # and the sandbox (no allow-same-origin) gives the page an opaque origin.
    "Content-Security-Policy": REPORT_CSP,
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_REFUSED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>{title}</h1><p>{text}</p></body></html>
"""


class ArtifactFiles:
    """What the link route needs from the local artifact store (see LocalArtifactStore)."""

    def __init__(self, resolve: Any, signer: LinkSigner) -> None:
        self.resolve = resolve
        self.signer = signer


def create_web_app(
    bolt_app: App,
    signing_secret: str,
    artifacts: ArtifactFiles | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> FastAPI:
    """The FastAPI app. Without `artifacts` (the aws backend) links are S3's, not ours."""
    api = FastAPI(title="AutoML Slack bot", docs_url=None, redoc_url=None, openapi_url=None)
    # Bodies are bounded and Slack's signature checked on the raw bytes before Bolt parses.
    api.add_middleware(
        RequestGuard,
        signing_secret=signing_secret,
        signed_paths=[EVENTS_PATH],
        max_body_bytes=max_body_bytes,
        body_timeout_s=body_timeout_s,
    )

    @api.post(EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_request = to_bolt_request(request, body, _lambda_context(request.scope))
        # Bolt is synchronous: run it off the event loop so one slow request never holds up
        # the acknowledgements of the others.
        bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    @api.get("/health")
    async def health() -> dict[str, Any]:  # on the event loop: never queued behind Bolt
        return {"ok": True}

    if artifacts is not None:
        _add_artifact_route(api, artifacts)
    return api


def _lambda_context(scope: Mapping[str, Any]) -> dict[str, Any] | None:
    """On Lambda (Mangum puts the invocation in the ASGI scope), what Bolt's Lambda lazy
    listener runner needs to invoke this function again with the same request."""
    event, context = scope.get("aws.event"), scope.get("aws.context")
    if event is None or context is None:
        return None
    return {
        "lambda_request": event,
        "aws_lambda_function_name": context.function_name,
        "aws_lambda_invoked_function_arn": context.invoked_function_arn,
    }


def _add_artifact_route(api: FastAPI, artifacts: ArtifactFiles) -> None:
    @api.get("/artifacts/{job_id}/{artifact_path:path}")
    def artifact(job_id: str, artifact_path: str, expires: str = "", sig: str = "") -> Response:
        try:
            artifacts.signer.verify(job_id, artifact_path, expires, sig)
            path: Path = artifacts.resolve(job_id, artifact_path)
        except LinkRefused as refused:
            return _refused(refused)
        except (FileNotFoundError, ValueError):
            return _page(404, "Not found", "This job has no such file (any more).")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = dict(_REPORT_HEADERS)
        if not media_type.startswith(("text/html", "image/")):
            return FileResponse(path, media_type=media_type, headers=headers, filename=path.name)
        return FileResponse(path, media_type=media_type, headers=headers)

    api.state.artifacts = artifacts


def _refused(refused: LinkRefused) -> Response:
    reason = refused.reason
    if reason == EXPIRED:
        return _page(
            410,
            "This link has expired",
            "Links to reports and models expire. Ask the bot for a fresh one: "
            "<code>/automl status JOB</code> in Slack.",
        )
    if reason == BAD_SIGNATURE:
        return _page(403, "This link is not valid", "It was changed or is incomplete.")
    return _page(403, "This link is not valid", "It does not point at a file of a job.")


def _page(status: int, title: str, text: str) -> HTMLResponse:
    return HTMLResponse(
        _REFUSED_PAGE.format(title=escape(title), text=text),
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
