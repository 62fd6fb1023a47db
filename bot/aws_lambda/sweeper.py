"""The scheduled sweep: queued and running jobs checked against AWS Batch.

A job whose Batch events were lost would stay "running" for weeks and hold its owner's slot.
Each sweep asks Batch about every active job older than `GRACE`: one that ended is ended
through the same path as its event would have taken; one Batch does not know is ended as lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from bot.backends.aws.launcher import batch_job_name
from bot.jobs import JobStore
from bot.messages.aws_recovery import LOST_JOB
from bot.ports import JobEnding, JobEvents
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
) -> list[str]:
    """Reconcile; returns what was done, one line per job acted on."""
    now = now or datetime.now(UTC)
    done = []
    for job in jobs.list_by_status("queued", "running"):
        if now - job.created_at < GRACE:
            continue
        name = batch_job_name(job.job_id)
        pages = batch.get_paginator("list_jobs").paginate(
            jobQueue=job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        found = [s for page in pages for s in page.get("jobSummaryList", [])]
        found = [s for s in found if s.get("jobName") == name]
        if any(s.get("status") not in (BATCH_SUCCEEDED, BATCH_FAILED) for s in found):
            continue  # still waiting or running on Batch
        if found:  # ended on Batch: as its lost event would have said
            latest = max(found, key=lambda s: s.get("createdAt") or 0)
            (detail,) = batch.describe_jobs(jobs=[latest["jobId"]])["jobs"]
            done.append(f"swept: {on_batch_end(detail)}")
            continue
        log.warning("job %s is %s but Batch has no job %s", job.job_id, job.status, name)
        events.job_ended(job.job_id, JobEnding(exit_code=None, detail=LOST_JOB))
        done.append(f"swept: lost {job.job_id}")
    return done
