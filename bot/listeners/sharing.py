"""The Share in channel button under a job's results.

Only the person who asked for the job may share it: a summary in the channel speaks for
them and notifies everyone there; anyone else is told privately whom to ask.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from bot.listeners.replies import ack_only, answer_safely, response_url_reply
from bot.messages.sharing import (
    ALREADY_SHARED,
    COULD_NOT_SHARE,
    NOTHING_TO_SHARE,
    ONLY_THE_OWNER,
    SHARE_BUTTON_ACTION,
    SHARED,
    can_share,
)
from bot.messages.text import mention
from bot.service import JobService
from bot.sharing import share_in_channel


def _clicked_job_id(body: dict[str, Any]) -> str:
    for action in body.get("actions") or []:
        if action.get("action_id") == SHARE_BUTTON_ACTION:
            return str(action.get("value") or "")
    return ""


def make_share_button_listener(service: JobService) -> Any:
    def on_share(body: dict[str, Any], respond: Respond) -> None:
        user = (body.get("user") or {}).get("id") or ""
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        job_id = _clicked_job_id(body)

        def share() -> str | None:
            job = service.backend.jobs.get(job_id) if job_id else None
            if job is None or job.channel_id != channel:  # a button from elsewhere
                return NOTHING_TO_SHARE.format(job_id=job_id or "?")
            if job.user_id != user:
                return ONLY_THE_OWNER.format(owner=mention(job.user_id, "the person who asked"))
            result = service.backend.artifacts.load_result(job.job_id)
            if result is None or not can_share(result):
                return NOTHING_TO_SHARE.format(job_id=job.job_id)
            shared = share_in_channel(service.client, service.backend.jobs, job, result)
            if shared == "failed":
                return COULD_NOT_SHARE.format(job_id=job.job_id)
            if shared == "already shared":
                return ALREADY_SHARED.format(job_id=job.job_id)
            return SHARED.format(job_id=job.job_id)

        answer_safely(
            response_url_reply(respond), share, channel=channel, user=user, event="share button"
        )

    return on_share


def register(app: App, service: JobService) -> None:
    app.action(SHARE_BUTTON_ACTION)(ack=ack_only, lazy=[make_share_button_listener(service)])
