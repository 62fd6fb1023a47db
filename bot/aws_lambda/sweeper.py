"""The scheduled sweep: queued and running jobs checked against AWS Batch.

A job whose Batch events were lost would stay "running" for weeks and hold its owner's slot.
Each sweep asks Batch about every active job older than `GRACE`: one that ended is ended
through the same path as its event would have taken; one Batch does not know is ended as lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from bot.backends.aws.launcher import batch_job_name
from bot.jobs import Job, JobStore
from bot.messages.aws_recovery import LOST_JOB
from bot.ports import JobEnding, JobEvents
from common.logs import log_context
from contract.aws import BATCH_FAILED, BATCH_SUCCEEDED

log = logging.getLogger(__name__)

# Longer than the bot's lazy half (5 minutes) may take between recording a job and submitting.
GRACE: Final = timedelta(minutes=15)


def sweep(
    jobs: JobStore,
    batch: Any,
    job_queue: str,
    events: JobEvents,
    on_batch_end: Callable[[dict[str, Any]], str],
    *,
    now: datetime | None = None,
    waiting: Collection[str] = (),
) -> list[str]:
    """Reconcile; returns what was done, one line per job acted on. Jobs in `waiting` wait
    for a slot (AUTOML_MAX_CONCURRENT_JOBS): Batch has not heard of them, nothing is lost."""
    now = now or datetime.now(UTC)
    done = []
    for job in jobs.list_by_status("queued", "running"):
        if now - job.created_at < GRACE or job.job_id in waiting:
            continue
        with log_context(job_id=job.job_id):  # what ending it follows logs with its job
            found_done = _reconcile(job, batch, job_queue, events, on_batch_end)
        if found_done:
            done.append(found_done)
    return done


def _reconcile(
    job: Job,
    batch: Any,
    job_queue: str,
    events: JobEvents,
    on_batch_end: Callable[[dict[str, Any]], str],
) -> str | None:
    """What was done about one job, None when Batch is still at it."""
    name = batch_job_name(job.job_id)
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
    )
    found = [s for page in pages for s in page.get("jobSummaryList", [])]
    found = [s for s in found if s.get("jobName") == name]
    if any(s.get("status") not in (BATCH_SUCCEEDED, BATCH_FAILED) for s in found):
        return None  # still waiting or running on Batch
    if found:  # ended on Batch: as its lost event would have said
        latest = max(found, key=lambda s: s.get("createdAt") or 0)
        (detail,) = batch.describe_jobs(jobs=[latest["jobId"]])["jobs"]
        return f"swept: {on_batch_end(detail)}"
    log.warning("job %s is %s but Batch has no job %s", job.job_id, job.status, name)
    events.job_ended(job.job_id, JobEnding(exit_code=None, detail=LOST_JOB))
    return f"swept: lost {job.job_id}"
