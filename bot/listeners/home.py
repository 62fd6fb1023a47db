"""`app_home_opened`: publish the person's Home tab (their jobs, their models, the help)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.home import publish_home
from bot.listeners.replies import ack_only
from bot.service import JobService
from common.logs import log_context

log = logging.getLogger(__name__)


def make_home_listener(service: JobService) -> Any:
    def on_home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        # The Messages tab opens this event too; only the Home tab is ours to draw.
        if not user or event.get("tab", "home") != "home":
            return
        if not service.settings.user_allowed(user):
            return
        with log_context(user=user, event="app home"):
            try:
                publish_home(service, user)
            except Exception:  # nobody to tell: the tab keeps what it showed before
                log.exception("could not publish the Home tab")

    return on_home_opened


def register(app: App, service: JobService) -> None:
    app.event("app_home_opened")(ack=ack_only, lazy=[make_home_listener(service)])
