"""`WebApi`: the stand-in's front door. Every request is recorded (`calls`); a Web API method
is first checked for an injected server error, a token, an injected rate limit and an
injected failure, as Slack would answer them: HTTP 500 or 503, HTTP 429 with `Retry-After`,
`not_authed`, `invalid_auth`, and so on. A method may also be given Slack's tier limit
(`limit_per_minute`): past that many answered calls in the last 60 s, HTTP 429 with the
seconds until the oldest leaves the window, as Slack enforces Tier 3 on `chat.update`.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.console.slack_standin.methods import Answer, Methods
from bot.console.slack_standin.validation import SlackError
from bot.console.slack_standin.workspace import Workspace

JsonAnswer = tuple[int, dict[str, Any], dict[str, str]]  # HTTP status, body, headers

# Slack's documented errors for its own failures, by the HTTP status that carries them.
SERVER_ERRORS = {500: "fatal_error", 503: "service_unavailable"}


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage", or "upload" / "download" / "respond" for the other URLs
    params: dict[str, Any]  # the token is left out
    time: float
    token: str | None
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


class WebApi:
    """Answers the Web API and the URLs it hands out, for one workspace."""

    def __init__(self, workspace: Workspace, methods: Methods) -> None:
        self.workspace = workspace
        self.methods = methods
        self._by_name = methods.by_name()
        self._calls: list[Call] = []
        self._rate_limits: dict[str, list[int]] = {}  # method -> [remaining, retry_after]
        self._failures: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._server_errors: dict[str, list[int]] = {}  # method -> HTTP statuses, in order
        self._per_minute: dict[str, int] = {}  # method -> calls allowed in any 60 s
        self._answered: dict[str, deque[float]] = {}  # method -> times of calls let through

    # ---- what tests and the console inject and inspect ----------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self.workspace.lock:
            return [c for c in self._calls if method is None or c.method == method]

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and `Retry-After`."""
        with self.workspace.lock:
            self._rate_limits[method] = [times, retry_after]

    def limit_per_minute(self, method: str, calls: int | None) -> None:
        """Let at most `calls` calls of `method` through in any 60 s (None: no limit)."""
        with self.workspace.lock:
            if calls is None:
                self._per_minute.pop(method, None)
            else:
                self._per_minute[method] = calls

    def fail_next(self, method: str, error: str, times: int = 1, **extra: Any) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        with self.workspace.lock:
            self._failures.setdefault(method, []).extend([(error, extra)] * times)

    def server_error(self, method: str, times: int = 1, status: int = 500) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (500 or 503), doing
        nothing, as Slack does when it fails on its side; queued after earlier ones."""
        if status not in SERVER_ERRORS:
            raise ValueError(f"status must be one of {sorted(SERVER_ERRORS)}")
        with self.workspace.lock:
            self._server_errors.setdefault(method, []).extend([status] * times)

    # ---- requests -----------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], token: str | None) -> JsonAnswer:
        """A Web API method (`/api/<method>`), recorded with its answer."""
        with self.workspace.lock:
            status, response, headers = self._answer(method, params, token)
            self._calls.append(Call(method, params, time.time(), token, status, response))
        return status, response, headers

    def upload(self, path: str, data: bytes) -> Answer:
        with self.workspace.lock:
            answer = self.methods.upload(path, data)
            if answer[0] == 200:
                file_id = path.strip("/").split("/")[2]
                self._record("upload", {"file_id": file_id, "size": len(data)}, None)
        return answer

    def respond(self, path: str, data: bytes) -> Answer:
        with self.workspace.lock:
            target = self.methods.response_target(path)
            if target is None:
                return 404, b"expired_url", "text/plain"
            try:
                payload = json.loads(data or b"{}")
            except ValueError:
                return 400, b"invalid_payload", "text/plain"
            self._record("respond", dict(payload), None)
            return self.methods.respond(target, payload)

    def download(self, path: str, token: str | None) -> Answer:
        with self.workspace.lock:
            self._record("download", {"path": path}, token)
            return self.methods.download(path, token)

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> JsonAnswer:
        server_errors = self._server_errors.get(method)
        if server_errors:
            status = server_errors.pop(0)
            return status, {"ok": False, "error": SERVER_ERRORS[status]}, {}
        limit = self._rate_limits.get(method)
        if limit and limit[0] > 0:
            limit[0] -= 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(limit[1])}
        wait_s = self._over_tier_limit(method)
        if wait_s is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait_s)}
        handler = self._by_name.get(method)
        if handler is None:
            return 404, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.workspace.bot_token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        failures = self._failures.get(method)
        if failures:
            error, extra = failures.pop(0)
            return 200, {"ok": False, "error": error, **extra}, {}
        try:
            body = handler(params)
        except SlackError as exc:
            return 200, {"ok": False, "error": exc.code, **exc.extra}, {}
        headers = {"x-oauth-scopes": ",".join(sorted(self.workspace.scopes))}
        return 200, {"ok": True, **body}, headers

    def _over_tier_limit(self, method: str) -> int | None:
        """Seconds to wait when `method` has had its calls in the last minute; else counts
        this call and says None."""
        allowed = self._per_minute.get(method)
        if allowed is None:
            return None
        now = time.monotonic()
        answered = self._answered.setdefault(method, deque())
        while answered and answered[0] <= now - 60.0:
            answered.popleft()
        if len(answered) >= allowed:
            return max(1, math.ceil(answered[0] + 60.0 - now))
        answered.append(now)
        return None

    def _record(self, method: str, params: dict[str, Any], token: str | None) -> None:
        self._calls.append(Call(method, params, time.time(), token))
