"""The app was uninstalled, or its bot token revoked: stop the workspace's jobs and delete
its data at once, rather than failing silently until everything expires.

No Slack call is made: the token is dead. The job rows go before the launcher stops the
jobs, so a job's ending, reported after, finds no job and tells nobody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.jobs import JobStore
from bot.lifecycle import JobLifecycle
from bot.ports import ArtifactStore, Launcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Removed:
    cancelled: int  # queued or running jobs stopped
    deleted: int  # job records deleted, with their datasets and run folders


def remove_workspace(
    team_id: str,
    *,
    jobs: JobStore,
    lifecycle: JobLifecycle,
    launcher: Launcher,
    artifacts: ArtifactStore,
    why: str,
) -> Removed:
    """Cancel the workspace's active jobs, delete its jobs, claims and files; one log line."""
    active = [
        job
        for job in jobs.list_by_status("queued", "running")
        if job.team_id in (team_id, None)  # None: recorded before jobs carried a team id
    ]
    stopping = [job for job in active if lifecycle.cancel(job.job_id)]
    gone = jobs.forget_workspace(team_id)
    for job in stopping:
        try:
            launcher.cancel(job)
        except Exception:  # one job that will not stop must not keep the data
            log.exception("could not stop job %s of an uninstalled workspace", job.job_id)
    for job_id in dict.fromkeys([*gone, *(job.job_id for job in stopping)]):
        try:
            artifacts.delete_job(job_id)
        except Exception:
            log.exception("could not delete the files of job %s", job_id)
    log.warning(
        "%s in workspace %s: cancelled %d running or queued jobs, deleted %d jobs and their data",
        why,
        team_id,
        len(stopping),
        len(gone),
    )
    return Removed(cancelled=len(stopping), deleted=len(gone))
