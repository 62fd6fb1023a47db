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
from bot.model_signature import signature
from bot.notifier import Notifier
from bot.outcome import Outcome, read_outcome
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
        model_key: bytes | None = None,
    ) -> None:
        self._lifecycle = lifecycle
        self._store = store
        self._artifacts = artifacts
        self._notifier = notifier
        self._model_key = model_key  # signs each model's SHA-256 (bot.model_signature)

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
        self._sign_model(outcome)
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

    def _sign_model(self, outcome: Outcome) -> None:
        artifacts = outcome.result.artifacts
        if self._model_key is None or not artifacts.model or not artifacts.model_sha256:
            return
        job_id = outcome.result.job_id
        try:
            record = signature(job_id, artifacts.model_sha256, self._model_key)
            self._artifacts.save_model_signature(job_id, record)
        except Exception:  # an unsigned model is refused on load: nothing worse follows
            log.exception("could not sign the model of job %s", job_id)
