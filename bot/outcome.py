"""How a job ended: its `result.json`, or, when it wrote none, a failure saying what was seen.

A prediction job's outcome is its `prediction.json`, with a `JobResult` that carries its
status and error for what is shared with training (the lifecycle, the failure message).

The status the lifecycle records and the message the notifier posts both come from here.
Standard library and the contract models only: this module is on the Lambda's path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.jobs import Job
from bot.messages.failure import NO_RESULT_HINT, no_result_sentence
from bot.ports import ArtifactStore, JobEnding
from contract.jobs import ErrorInfo, JobResult, JobStatus, PredictionResult
from contract.run_folder import PREDICTION_RESULT_FILE, RESULT_FILE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A job's result, where the job wrote it, and what running it cost (in a sentence)."""

    result: JobResult
    result_path: str | None  # None: the job wrote no result; `result` says what was seen
    cost: str = ""
    prediction: PredictionResult | None = None  # a prediction job's prediction.json

    @property
    def status(self) -> JobStatus:
        return self.result.status

    @property
    def error(self) -> ErrorInfo | None:
        return self.result.error


def read_outcome(artifacts: ArtifactStore, job: Job, ending: JobEnding) -> Outcome:
    """The job's result as it wrote it; a failed one when it wrote none (or a torn one)."""
    if job.kind == "predict":
        prediction = _load_prediction(artifacts, job.job_id)
        if prediction is not None:
            path = f"{artifacts.output_uri(job.job_id).rstrip('/')}/{PREDICTION_RESULT_FILE}"
            if ending.finished is not None:
                path = ending.finished.result_path
            return Outcome(_as_job_result(job, prediction), path, ending.cost, prediction)
        # No prediction.json: the bot's result.json (ended before it ran), or what was seen.
    result = _load_result(artifacts, job.job_id)
    if result is None:
        # The details are for whoever runs the bot, never for Slack.
        log.warning(
            "job %s ended without a result (exit code %s): %s\n%s",
            job.job_id,
            ending.exit_code,
            ending.detail or "no detail",
            ending.log_tail,
        )
        return Outcome(_no_result(job, ending), None, ending.cost)
    if ending.finished is not None:
        return Outcome(result, ending.finished.result_path, ending.cost)
    path = f"{artifacts.output_uri(job.job_id).rstrip('/')}/{RESULT_FILE}"
    return Outcome(result, path, ending.cost)


def _load_result(artifacts: ArtifactStore, job_id: str) -> JobResult | None:
    try:
        return artifacts.load_result(job_id)
    except Exception:
        # A torn or invalid result.json is a failed job, not a crashed caller.
        log.exception("could not read the result of job %s", job_id)
        return None


def _load_prediction(artifacts: ArtifactStore, job_id: str) -> PredictionResult | None:
    try:
        data = artifacts.read_bytes(job_id, PREDICTION_RESULT_FILE)
    except Exception:  # not written (the job never ran, or died first): no outcome of its own
        return None
    try:
        return PredictionResult.model_validate_json(data)
    except ValueError:
        log.exception("could not read the prediction result of job %s", job_id)
        return None


def _as_job_result(job: Job, prediction: PredictionResult) -> JobResult:
    """What a prediction shares with a training result: its status, its error, its file."""
    return JobResult(
        job_id=job.job_id,
        status=prediction.status,
        error=prediction.error,
        file_name=prediction.file_name or job.file_name,
        target=prediction.target or job.target,
    )


def _no_result(job: Job, ending: JobEnding) -> JobResult:
    """A failed result for a job that wrote none, saying what the launcher saw."""
    return JobResult(
        job_id=job.job_id,
        status="failed",
        file_name=job.file_name,
        target=job.target,
        error=ErrorInfo(
            code="no_result",
            message=no_result_sentence(ending.detail, ending.log_tail),
            hint=NO_RESULT_HINT,
        ),
    )
