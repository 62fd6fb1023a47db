"""A whole bot for end-to-end tests: the real app on a real HTTP port, Slack faked.

`BotUnderTest` builds the bot exactly as `automl serve` does (settings, local backend,
Bolt, FastAPI under uvicorn on 127.0.0.1) against the Slack fake, and sends it requests
signed the way Slack signs them. Training is real.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from bot.backends.local.artifacts import LocalArtifactStore
from bot.console.slack_requests import SignedRequest, SlackRequests
from bot.http_server import server_options
from bot.runtime import Bot, build_bot
from bot.settings import Settings
from bot.web import ArtifactFiles, create_web_app
from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout_s: float = 180.0, what: str = "a condition") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def make_settings(fake: FakeSlack, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "AUTOML_DATA_DIR": str(data_dir),
        "AUTOML_PUBLIC_URL": "http://127.0.0.1:9",  # replaced by the server's real address
        "AUTOML_DEFAULT_TIME_BUDGET_S": 8,
        "AUTOML_MAX_CONCURRENT_JOBS": 2,
        "AUTOML_MAX_JOBS_PER_USER": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class BotUnderTest:
    def __init__(self, fake: FakeSlack, data_dir: Path, **overrides: Any) -> None:
        self.fake = fake
        self.data_dir = data_dir
        # Bind first, so links can carry the real address.
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        host, port = self._socket.getsockname()
        self.url = f"http://{host}:{port}"
        self.settings = make_settings(fake, data_dir, AUTOML_PUBLIC_URL=self.url, **overrides)
        self.bot: Bot = build_bot(self.settings)
        self.bot.start()
        artifacts = self.bot.backend.artifacts
        assert isinstance(artifacts, LocalArtifactStore) and artifacts.signer is not None
        web = create_web_app(
            self.bot.app,
            SIGNING_SECRET,
            ArtifactFiles(artifacts.resolve, artifacts.signer),
            max_body_bytes=self.settings.max_request_kb * 1024,
            body_timeout_s=self.settings.request_timeout_s,
        )
        self._server = uvicorn.Server(
            uvicorn.Config(
                web, log_level="warning", lifespan="off", **server_options(self.settings)
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        wait_for(lambda: self._server.started, 30, "the web server to start")
        self.requests = SlackRequests(fake, SIGNING_SECRET)

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.bot.close()

    # ---- HTTP ------------------------------------------------------------------------------

    def post(self, request: SignedRequest, **extra_headers: str) -> Response:
        return self.http(
            "POST", "/slack/events", request.bytes, {**request.headers, **extra_headers}
        )

    def get(self, url_or_path: str) -> Response:
        path = url_or_path.removeprefix(self.url)
        return self.http("GET", path)

    def http(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Response(answer.status, answer.read(), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read(), dict(error.headers))

    # ---- what happened ---------------------------------------------------------------------

    def job(self, job_id: str) -> Any:
        return self.bot.backend.jobs.get(job_id)

    def jobs(self) -> list[Any]:
        return self.bot.backend.jobs.list_for_channel(self.fake.channel, limit=100)

    def wait_for_job_end(self, job_id: str, timeout_s: float = 240) -> Any:
        return wait_for(
            lambda: (job := self.job(job_id)) is not None and job.finished and job,
            timeout_s,
            f"job {job_id} to end",
        )

    def ephemerals(self, user: str = "U0HUMAN") -> list[dict[str, Any]]:
        return [e for e in self.fake.ephemerals if e["user"] == user]
