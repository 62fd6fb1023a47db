"""`JobEventHandler`: the `JobEvents` a launcher reports to, locally and in the completion Lambda.

Each report becomes a status change, asked of the `JobLifecycle`, then what the person
sees, drawn by the `Notifier`. Reports may come twice, late or out of order; the lifecycle
refuses the moves they no longer allow, and only the caller whose move ended the job posts
its outcome (one notification per job, however many processes hear of its end).

Standard library and the bot's own modules only: this module is on the Lambda's path.
"""

from __future__ import annotations

import logging

from bot.jobs import JobStore
from bot.lifecycle import JobLifecycle
from bot.notifier import Notifier
from bot.outcome import read_outcome
from bot.ports import ArtifactStore, JobEnding
from contract.jobs import ProgressEvent

log = logging.getLogger(__name__)


class JobEventHandler:
    """The `bot.ports.JobEvents` port. Safe to call from several threads."""

    def __init__(
        self,
        lifecycle: JobLifecycle,
        store: JobStore,
        artifacts: ArtifactStore,
        notifier: Notifier,
    ) -> None:
        self._lifecycle = lifecycle
        self._store = store
        self._artifacts = artifacts
        self._notifier = notifier

    def job_started(self, job_id: str) -> None:
        job = self._store.get(job_id)
        if job is not None and job.status == "queued":
            # Whoever reports the start may not have moved the job yet (the AWS Lambda).
            self._lifecycle.start(job_id)
        self._notifier.show_started(job_id)

    def job_progress(self, job_id: str, event: ProgressEvent) -> None:
        self._notifier.show_progress(job_id, event)

    def job_ended(self, job_id: str, ending: JobEnding) -> None:
        job = self._store.get(job_id)
        if job is None:
            log.warning("job %s ended but is not in the job store", job_id)
            return
        if job.status == "cancelled":
            # Whoever cancelled it has said so; only the status message shows it.
            self._notifier.show_cancelled(job)
            return
        if job.finished:
            self._notifier.forget(job_id)  # a repeated or late ending: the person was told
            return
        outcome = read_outcome(self._artifacts, job, ending)
        error = outcome.error
        ended = self._lifecycle.end(
            job_id,
            outcome.status,
            result_path=outcome.result_path,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )
        if ended:
            self._notifier.show_outcome(job, outcome)
        else:  # another caller ended it first (or it was cancelled meanwhile)
            self._notifier.forget(job_id)
