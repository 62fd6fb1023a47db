"""ASGI middleware in front of the web app: a request body is bounded in size and time, and
a Slack request's signature is checked on the raw bytes before anything parses them.

Without it an unsigned 100 MB body was read whole and parsed before its 401, and a body
that is not UTF-8 or nests JSON deeply reached Bolt's parser and ended in a 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from slack_bolt.request.internals import parse_body

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024  # Slack's largest payloads are a few tens of KB
BODY_TIMEOUT_S = 10.0
MAX_CLOCK_SKEW_S = 300  # Slack's rule, as Bolt applies it
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class RequestGuard:
    """Reads each body itself (within `max_body_bytes` and `body_timeout_s`), verifies the
    Slack signature for `signed_paths`, then hands the app the bytes it read."""

    def __init__(
        self,
        app: ASGIApp,
        signing_secret: str,
        signed_paths: Collection[str],
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.secret = signing_secret.encode()
        self.signed_paths = frozenset(signed_paths)
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_length(scope)
            if scope["method"] in _NO_BODY:
                await self.app(scope, receive, send)
                return
            body = await self._read(receive)
            if body is None:
                return  # the client left
            if scope["path"] in self.signed_paths:
                self._check_signed(scope, body)
        except Refused as refused:
            log.warning("Refused %s %s: %s", scope["method"], scope["path"], refused.text)
            await _answer(send, refused.status, refused.text)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_length(self, scope: Scope) -> None:
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise Refused(413, "request body too large")

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:  # chunked bodies have no Content-Length
                        raise Refused(413, "request body too large")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise Refused(408, "request body too slow") from None

    def _check_signed(self, scope: Scope, body: bytes) -> None:
        timestamp = _header(scope, b"x-slack-request-timestamp")
        signature = _header(scope, b"x-slack-signature")
        if not (timestamp and timestamp.isdigit() and signature):
            raise Refused(401, "invalid request")
        # On the bytes: slack_sdk's verifier decodes them first, and fails on bad UTF-8.
        digest = hmac.new(self.secret, b"v0:%s:%s" % (timestamp.encode(), body), hashlib.sha256)
        fresh = abs(time.time() - int(timestamp)) <= MAX_CLOCK_SKEW_S
        if not (fresh and hmac.compare_digest(f"v0={digest.hexdigest()}", signature)):
            raise Refused(401, "invalid request")
        # Signed by Slack, yet Bolt must never meet a body it cannot parse.
        try:
            content_type = (_header(scope, b"content-type") or "").split(";")[0] or None
            parsed = parse_body(body.decode("utf-8"), content_type)  # as Bolt will
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise Refused(400, "malformed request body") from None
        if not isinstance(parsed, dict):
            raise Refused(400, "malformed request body")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1")).strip()
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # only a disconnect is left to hear
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # what is left of the body is never read
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
