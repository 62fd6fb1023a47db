"""`JobEventHandler`: the `JobEvents` a launcher reports to, locally and in the completion Lambda.

Each report becomes a status change, asked of the `JobLifecycle`, then what the person
sees, drawn by the `Notifier`. Reports may come twice, late or out of order; the lifecycle
refuses the moves they no longer allow, and only the caller whose move ended the job posts
its outcome (one notification per job, however many processes hear of its end).

Standard library and the bot's own modules only: this module is on the Lambda's path.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from bot.jobs import Job, JobStore
from bot.lifecycle import JobLifecycle
from bot.messages.results import REPORT_UNFINISHED
from bot.model_signature import signature
from bot.notifier import Notifier
from bot.outcome import Outcome, read_outcome
from bot.ports import ArtifactStore, JobEnding
from common.logs import log_context
from contract.jobs import ProgressEvent, ReportEvent

log = logging.getLogger(__name__)

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _logged_as(event: str) -> Callable[[_Method], _Method]:
    """Every line logged while handling the report carries its job id and kind."""

    def decorate(method: _Method) -> _Method:
        @functools.wraps(method)
        def wrapper(self: Any, job_id: str, *args: Any) -> Any:
            with log_context(job_id=job_id, event=event):
                return method(self, job_id, *args)

        return wrapper  # type: ignore[return-value]

    return decorate


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

    @_logged_as("job started")
    def job_started(self, job_id: str) -> None:
        job = self._store.get(job_id)
        if job is not None and job.status == "queued":
            # Whoever reports the start may not have moved the job yet (the AWS Lambda).
            self._lifecycle.start(job_id)
        self._notifier.show_started(job_id)

    @_logged_as("job progress")
    def job_progress(self, job_id: str, event: ProgressEvent) -> None:
        self._notifier.show_progress(job_id, event)

    @_logged_as("job ended")
    def job_ended(self, job_id: str, ending: JobEnding) -> None:
        job = self._store.get(job_id)
        if job is None:
            # Its record was deleted (the app was uninstalled): what it wrote while it
            # stopped is deleted too, and nobody is told.
            log.warning("job %s ended but is not in the job store: deleting its files", job_id)
            self._artifacts.delete_job(job_id)
            return
        if job.status == "cancelled":
            # Whoever cancelled it has said so; only the status message shows it.
            self._notifier.show_cancelled(job)
            return
        if job.finished:
            self._notifier.forget(job_id)  # a repeated or late ending: the person was told
            if job.status == "succeeded" and not ending.still_running:
                self._report_unfinished(job)
            return
        outcome = read_outcome(self._artifacts, job, ending)
        if outcome.result.report_pending and not ending.still_running:
            # It ended with the report its result promised still unmade: say so at once.
            outcome.result.report_pending = False
            outcome.result.notes.append(REPORT_UNFINISHED)
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

    @_logged_as("job report")
    def job_report(self, job_id: str, event: ReportEvent) -> None:
        """The report that followed a job's results: linked in its thread. Only once the job
        has ended: before that, its results (read after the report) carry the link."""
        job = self._store.get(job_id)
        if job is None or job.status != "succeeded":
            return
        self._notifier.show_report(job, event)

    def _report_unfinished(self, job: Job) -> None:
        """The process of a job whose results were posted has ended: if its result.json still
        says the report is being made, it never will be (killed, out of time, lost)."""
        try:
            result = self._artifacts.load_result(job.job_id)
        except Exception:
            log.exception("could not read the result of job %s", job.job_id)
            return
        if result is not None and result.report_pending:
            self._notifier.show_report_unfinished(job)

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
