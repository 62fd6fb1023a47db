"""The composition root: settings in, a running bot out. Every way of running it starts here.

`automl serve`, `automl socket`, `automl shell`, the tests and (with the aws backend) the
Lambda all call `build_bot`; nothing else decides which implementation a port gets.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field

from slack_bolt import App

from bot.app import build_app
from bot.backends import load_backend
from bot.job_events import JobEventHandler
from bot.lifecycle import JobLifecycle
from bot.links import derive_link_key
from bot.model_signature import derive_model_key, local_key
from bot.notifier import Notifier
from bot.ports import Backend
from bot.service import JobService
from bot.settings import Settings
from bot.slack_budget import memory_budget
from bot.slack_client import make_client

log = logging.getLogger(__name__)


@dataclass
class Bot:
    settings: Settings
    backend: Backend
    notifier: Notifier
    events: JobEventHandler  # what the launcher reports to
    service: JobService
    app: App
    signing_secret: str = field(repr=False, default="")

    def start(self) -> None:
        """Start running jobs: recover what a previous run of the bot left, then dispatch."""
        start = getattr(self.backend.launcher, "start", None)
        if callable(start):
            start(self.events)

    def close(self) -> None:
        # Let the slow halves of requests already acknowledged finish their replies.
        self.app.listener_runner.listener_executor.shutdown(wait=True)
        self.backend.close()


def _stored_link_key(settings: Settings) -> bytes:
    """A random link key kept in the data folder, so links outlive a restart of the bot."""
    path = settings.data_dir / ".link-key"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def build_bot(settings: Settings, *, process_before_response: bool = False) -> Bot:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if not token:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    if settings.slack_signing_secret is not None:
        signing_secret = settings.slack_signing_secret.get_secret_value()
        link_key = derive_link_key(signing_secret)
        model_key: bytes | None = derive_model_key(signing_secret)
    else:  # Socket Mode and the console: Slack signs nothing, links need a key of their own
        signing_secret = secrets.token_hex(32)
        link_key = _stored_link_key(settings)
        model_key = local_key(create=True)  # the one `automl predict` reads too
    backend = load_backend(settings, link_key=link_key)
    client = make_client(token, settings.slack_api_url)
    lifecycle = JobLifecycle(backend.jobs)
    # One process serves every job of the workspace: the budget can live in memory.
    budget = memory_budget(settings.progress_updates_per_minute)
    notifier = Notifier(client, backend.jobs, backend.artifacts, budget=budget)
    events = JobEventHandler(lifecycle, backend.jobs, backend.artifacts, notifier, model_key)
    service = JobService(
        settings,
        backend,
        client,
        notifier,
        lifecycle=lifecycle,
        events=events,
        model_key=model_key,
    )
    app = build_app(
        service,
        signing_secret=signing_secret,
        process_before_response=process_before_response,
    )
    return Bot(settings, backend, notifier, events, service, app, signing_secret)
