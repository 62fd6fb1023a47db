"""The App Home tab, published for one person when they open it (`app_home_opened`)."""

from __future__ import annotations

import logging

from bot.messages.home import home_view
from bot.models import UsableModel, home_models, scored
from bot.service import JobService

log = logging.getLogger(__name__)

RECENT_JOBS = 10


def _permalink(service: JobService, channel_id: str, ts: str | None) -> str | None:
    """A link to a job's thread; None when Slack will not give one (the tab still opens)."""
    if not ts:
        return None
    try:
        answer = service.client.chat_getPermalink(channel=channel_id, message_ts=ts)
    except Exception:  # a missing link is not worth a failed tab
        log.warning("no permalink for %s in %s", ts, channel_id)
        return None
    link = answer.get("permalink")
    return str(link) if link else None


def publish_home(service: JobService, user_id: str) -> None:
    backend = service.backend
    recent = backend.jobs.list_for_user(user_id, limit=RECENT_JOBS)
    jobs: list[tuple[UsableModel, str | None]] = [
        (scored(backend, job), _permalink(service, job.channel_id, job.thread_ts)) for job in recent
    ]
    models = home_models(backend, user_id=user_id)
    service.client.views_publish(user_id=user_id, view=home_view(jobs, models))
