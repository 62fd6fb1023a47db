"""Posting a job's one-line summary in its channel (`share=channel`, the Share button)."""

from __future__ import annotations

import logging
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.jobs import Job, JobStore
from bot.messages.sharing import channel_summary
from contract.jobs import JobResult

log = logging.getLogger(__name__)


Shared = Literal["shared", "already shared", "failed"]


def share_in_channel(client: WebClient, jobs: JobStore, job: Job, result: JobResult) -> Shared:
    """A reply in the job's thread, also sent to the channel, once per job (a double click
    or `share=channel` then the button post one summary). After a failure a later try may."""
    key = f"share:{job.job_id}"
    if not jobs.claim(key):
        return "already shared"
    try:
        client.chat_postMessage(
            channel=job.channel_id,
            thread_ts=job.thread_ts or job.status_ts,
            reply_broadcast=True,
            **channel_summary(result, job.user_id),
        )
    except (SlackClientError, OSError) as exc:
        log.warning("could not share job %s in the channel: %s", job.job_id, exc)
        jobs.release(key)
        return "failed"
    log.info("shared job %s in channel %s", job.job_id, job.channel_id)
    return "shared"
