"""Bolt listeners, one module per kind of Slack request, as in Slack's starter template.

Each module's `register(app, service)` wires plain functions to the app. A listener is split
in two where Slack's 3-second limit demands it: a quick `ack` half, and a lazy half that
does the slow work after the response (a worker thread locally, an asynchronous
self-invocation on Lambda).
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import (
    actions,
    commands,
    direct_messages,
    events,
    home,
    models,
    sharing,
    shortcuts,
    workspace,
)
from bot.service import JobService


def register_listeners(app: App, service: JobService) -> None:
    commands.register(app, service)
    direct_messages.register(app, service)  # before events: its `message` listener
    events.register(app, service)
    actions.register(app, service)
    shortcuts.register(app, service)
    models.register(app, service)
    home.register(app, service)
    sharing.register(app, service)
    workspace.register(app, service)
