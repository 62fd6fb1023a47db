"""The bot's web app (FastAPI): Slack's requests, a health check and the artifact links.

    POST /slack/events               events, the slash command and interactivity (Bolt)
    GET  /health                     for load balancers and people
    GET  /artifacts/<job>/<path>     a signed, expiring link to one file of one job

The link route is the same for both backends: it checks the link (`bot.links`), then sends
what the artifact store that made it delivers (a local file, a report's bytes read from S3,
or a redirect to a fresh download), always with the headers below.

Importing this module stays light (no pandas, FLAML or plotly): `benchmarks/bot_import.py`
measures it.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from bot.http_guard import BODY_TIMEOUT_S, MAX_BODY_BYTES, RequestGuard
from bot.links import (
    BAD_SIGNATURE,
    EXPIRED,
    LINK_PREFIX,
    Delivery,
    InlineContent,
    LinkedArtifacts,
    LinkRefused,
    LinkSigner,
    RedirectTo,
)

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

# A redirect to a download: the signed link in the address bar must not travel further.
_REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_SHOWN_TYPES = ("text/html", "image/")  # opened in the browser; everything else downloads


class ArtifactFiles:
    """What the link route needs: the signer of the links, and how their files are delivered
    (`deliver(job_id, path)`, a `bot.links.Delivery`; a local store's `resolve` is one)."""

    def __init__(self, deliver: Callable[[str, str], Delivery], signer: LinkSigner) -> None:
        self.deliver = deliver
        self.signer = signer


def served_links(artifacts: object) -> ArtifactFiles | None:
    """The link route's view of an artifact store whose links the web app serves, else None."""
    if isinstance(artifacts, LinkedArtifacts) and artifacts.signer is not None:
        return ArtifactFiles(artifacts.deliver, artifacts.signer)
    return None


def create_web_app(
    bolt_app: App,
    signing_secret: str,
    artifacts: ArtifactFiles | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> FastAPI:
    """The FastAPI app; with `artifacts` (see `served_links`) it serves their links too."""
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
    @api.get(LINK_PREFIX + "/{job_id}/{artifact_path:path}")
    def artifact(job_id: str, artifact_path: str, expires: str = "", sig: str = "") -> Response:
        try:
            artifacts.signer.verify(job_id, artifact_path, expires, sig)
            delivery = artifacts.deliver(job_id, artifact_path)
        except LinkRefused as refused:
            return _refused(refused)
        except (FileNotFoundError, ValueError):
            return _refusal(404, "Not found.", "This job has no such file (any more).")
        except Exception:  # the store could not be read (S3 throttled, a permission gone)
            log.exception("could not deliver %s of job %s", artifact_path, job_id)
            return _refusal(
                503, "The file could not be fetched just now.", "Try the link again in a minute."
            )
        return _send(delivery)

    api.state.artifacts = artifacts


def _send(delivery: Delivery) -> Response:
    if isinstance(delivery, RedirectTo):
        return RedirectResponse(delivery.url, status_code=302, headers=_REDIRECT_HEADERS)
    name = delivery.name
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = dict(_REPORT_HEADERS)
    shown = media_type.startswith(_SHOWN_TYPES)
    if isinstance(delivery, InlineContent):
        if not shown:
            headers["Content-Disposition"] = f'attachment; filename="{_quoted(name)}"'
        return Response(delivery.data, media_type=media_type, headers=headers)
    if not shown:
        return FileResponse(delivery, media_type=media_type, headers=headers, filename=name)
    return FileResponse(delivery, media_type=media_type, headers=headers)


def _quoted(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)


def _refused(refused: LinkRefused) -> Response:
    reason = refused.reason
    if reason == EXPIRED:
        return _refusal(
            410,
            "This link has expired.",
            "Links to reports and models expire. For a fresh one, type /automl status JOB "
            "in Slack, with the job's id.",
        )
    if reason == BAD_SIGNATURE:
        return _refusal(403, "This link is not valid.", "It was changed or is incomplete.")
    return _refusal(403, "This link is not valid.", "It does not point at a file of a job.")


def _refusal(status: int, title: str, text: str) -> PlainTextResponse:
    """A short plain-text answer: nothing in it is rendered, nothing is cached."""
    return PlainTextResponse(
        f"{title}\n{text}\n",
        status_code=status,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
