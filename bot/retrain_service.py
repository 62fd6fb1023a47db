"""Retraining: train again on a new file with a previous job's target and settings.

`@AutoML retrain [JOB]` in a results thread where a new table was shared, or the *Retrain on
a new file* button. Without JOB it is the newest succeeded training job of the thread. The
new job gets the previous model (a copy, staged with its dataset, with the SHA-256 its
signature vouches for) and scores it on its own holdout rows, so the results can say which
model is better on the same rows. Same permissions as using a model to predict.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot import slack_files
from bot.command_parser import TrainCommand
from bot.jobs import Job
from bot.messages import problems
from bot.messages.retraining import (
    model_not_signed,
    new_file_needed,
    no_model_in_thread,
    which_model_to_retrain,
)
from bot.model_signature import ModelNotTrusted, check_model_bytes, signed_sha256
from bot.models import find_model, is_model
from bot.service import JobService, TrainRequest, TrainStarted
from contract.jobs import PreviousModel
from contract.run_folder import MODEL_SIGNATURE_FILE

# The name of the previous model's copy among the new job's inputs.
PREVIOUS_MODEL_COPY = "previous-model.joblib"


@dataclass(frozen=True, slots=True)
class RetrainRequest:
    user_id: str
    channel_id: str
    job_id: str | None = None  # None: the newest succeeded training job of the thread
    file_id: str | None = None  # known from the button's form; else the thread's new file
    thread_ts: str | None = None  # the thread a mention came from
    dedupe_key: str | None = None


def retrain(service: JobService, request: RetrainRequest) -> TrainStarted:
    service.check_allowed(request.user_id, request.channel_id)
    previous = _previous_job(service, request)
    _signature(service, previous.job_id)  # refused before any job exists; bytes checked later
    file_id = request.file_id or _new_file(service, request, previous)
    command = TrainCommand(
        target=previous.target,
        time_budget_s=previous.time_budget_s,
        metric=previous.metric,
        task=previous.task,
        exclude=previous.exclude_columns,
        keep=previous.keep_columns,
    )
    return service.train(
        TrainRequest(
            user_id=request.user_id,
            channel_id=request.channel_id,
            command=command,
            file_id=file_id,
            thread_ts=request.thread_ts or previous.thread_ts,
            dedupe_key=request.dedupe_key,
            previous_job_id=previous.job_id,
        )
    )


def _previous_job(service: JobService, request: RetrainRequest) -> Job:
    backend = service.backend
    if request.job_id:
        return find_model(
            backend, request.job_id, user_id=request.user_id, channel_id=request.channel_id
        )
    if not request.thread_ts:
        raise which_model_to_retrain()
    for job in backend.jobs.list_for_channel(request.channel_id, limit=100):
        if job.thread_ts == request.thread_ts and is_model(job):
            return job  # newest first
    raise no_model_in_thread()


def _new_file(service: JobService, request: RetrainRequest, previous: Job) -> str:
    """The newest table shared in the thread (or, outside one, the channel) that is not the
    previous job's own file."""
    if request.thread_ts:
        try:
            replies: list[dict[str, Any]] = service.client.conversations_replies(
                channel=request.channel_id, ts=request.thread_ts, limit=200
            ).get("messages", [])
        except Exception as exc:  # SlackApiError and network errors alike
            raise problems.thread_unreadable() from exc
        for message in reversed(replies):
            for file in message.get("files") or []:
                if slack_files.is_table_file(file) and file.get("id") != previous.file_id:
                    return str(file["id"])
        raise new_file_needed()
    newest = slack_files.newest_table_file(service.client, request.channel_id, None)
    if newest.id == previous.file_id:
        raise new_file_needed()
    return newest.id


def _signature(service: JobService, job_id: str) -> bytes:
    """The previous model's model.sig, if it vouches for a model with this bot's key."""
    try:
        record = service.backend.artifacts.read_bytes(job_id, MODEL_SIGNATURE_FILE)
    except Exception:  # no model.sig (expired, never signed) or unreadable: not trusted
        raise model_not_signed(job_id, "it was not signed by this bot.") from None
    try:
        signed_sha256(record, [service.model_key] if service.model_key else [])
    except ModelNotTrusted:
        raise model_not_signed(job_id, "it was not signed by this bot.") from None
    return record


def stage_previous_model(
    service: JobService, new_job_id: str, previous_job_id: str
) -> PreviousModel:
    """Copy the previous model beside the new job's dataset, once its signature is checked.

    Raises a `UserFacingError` when the model is missing or not signed by this installation:
    a model file is code, and nothing unsigned is handed to a job.
    """
    artifacts = service.backend.artifacts
    result = artifacts.load_result(previous_job_id)
    model_path = result.artifacts.model if result is not None else None
    if not model_path:
        raise model_not_signed(previous_job_id, "its run folder has no model.")
    record = _signature(service, previous_job_id)
    model = artifacts.read_bytes(previous_job_id, model_path)
    try:
        keys = [service.model_key] if service.model_key else []
        check_model_bytes(previous_job_id, model, record, keys)
    except ModelNotTrusted:
        raise model_not_signed(previous_job_id, "its model file changed after training.") from None
    uri = artifacts.save_dataset(new_job_id, PREVIOUS_MODEL_COPY, iter([model]), max(len(model), 1))
    return PreviousModel(
        job_id=previous_job_id, model_uri=uri, sha256=hashlib.sha256(model).hexdigest()
    )
