"""Scoring a shared table with a trained model: the `predict` half of `JobService`.

A prediction is a job of its own kind (`Job.kind == "predict"`): the same record, limits,
queue, cancel and lifecycle as training, launched as `python -m training predict SPEC`. Before
anything is recorded the request is checked: the person may use the model (its channel, or
their own), the model finished training, and model.sig vouches for it; the digest it signs
goes into the spec, so the job loads only those bytes.

Standard library, slack_sdk and the bot's own modules only: this is on the Lambda's path.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import slack_files
from bot.errors import UserFacingError
from bot.jobs import ActiveLimitReached, Job, new_job_id
from bot.messages import prediction as says
from bot.messages import problems
from bot.model_signature import ModelNotTrusted, signed_sha256
from bot.models import find_model, is_model
from bot.slack_files import SlackFile
from contract.jobs import PREDICTION_TIME_BUDGET_S, PredictionSpec
from contract.run_folder import MODEL_FILE, MODEL_SIGNATURE_FILE

if TYPE_CHECKING:
    from bot.service import JobService

log = logging.getLogger(__name__)

THREAD_SCAN_LIMIT = 50  # a channel's newest jobs looked through for a thread's model


@dataclass(frozen=True, slots=True)
class PredictRequest:
    """One person asking to score one file with one model, from any of Slack's surfaces."""

    user_id: str
    channel_id: str
    # None: the newest succeeded training job of the thread (or, outside one, the channel)
    model_job_id: str | None = None
    file_id: str | None = None  # known when asked from the file (button, shortcut, modal)
    file_name: str | None = None  # `file=NAME`: the newest table so named in the channel
    thread_ts: str | None = None  # the thread a mention came from
    dedupe_key: str | None = None  # Slack's id of the user action (event id, view id)


@dataclass(frozen=True, slots=True)
class PredictStarted:
    job: Job
    created: bool  # False: this action had already started `job` (a retry or a double click)
    queue_position: int | None = None
    problem: str | None = None  # recorded but ended before scoring (its thread says why)

    def sentence(self) -> str:
        return says.prediction_started(
            self.job,
            created=self.created,
            queue_position=self.queue_position,
            problem=self.problem,
        )


def start_prediction(service: JobService, request: PredictRequest) -> PredictStarted:
    """Check, record, announce, stage and launch one prediction job.

    Raises `UserFacingError` before anything is recorded (not allowed, no such model, not a
    table, over the limit). Once recorded, problems end the job with a message in its thread.
    """
    service.check_allowed(request.user_id, request.channel_id)
    jobs = service.backend.jobs
    if request.dedupe_key:
        existing = jobs.get_by_dedupe_key(request.dedupe_key)
        if existing is not None:
            return PredictStarted(existing, created=False)
    model = _model_for(service, request)
    file = _file_for(service, request)
    digest = _verified_digest(service, model.job_id)
    duplicate = _active_duplicate(service, request, file, model)
    if duplicate is not None:
        return PredictStarted(duplicate, created=False)
    service.check_user_limit(request.user_id)
    try:
        job, created = service.lifecycle.record(
            _new_job(request, file, model), max_active=service.settings.max_jobs_per_user
        )
    except ActiveLimitReached:
        raise service.over_limit(request.user_id) from None
    if not created:
        return PredictStarted(job, created=False)

    service.notifier.announce(job)
    try:
        spec_uri = _stage(service, job, file, model, digest)
    except UserFacingError as error:
        service.end_before_start(job, error.message, error.hint, error.code)
        return PredictStarted(job, created=True, problem=error.message)
    except Exception:
        log.exception("could not stage prediction job %s", job.job_id)
        service.end_with_our_fault(job, problems.STAGING_FAILED, "internal")
        return PredictStarted(job, created=True, problem=problems.STAGING_FAILED)
    try:
        service.backend.launcher.submit(job, spec_uri)
    except Exception:
        log.exception("could not hand prediction job %s to the launcher", job.job_id)
        service.end_with_our_fault(job, problems.LAUNCH_FAILED, "launch_failed")
        return PredictStarted(job, created=True, problem=problems.LAUNCH_FAILED)
    position = service.waiting_position(job)
    if position:
        service.notifier.show_queue_position(job.job_id, position)
    return PredictStarted(job, created=True, queue_position=position)


# ---- what the request is about ----------------------------------------------------------


def _model_for(service: JobService, request: PredictRequest) -> Job:
    """The training job whose model scores the file: named, or the thread's newest."""
    backend = service.backend
    if request.model_job_id:
        return find_model(
            backend, request.model_job_id, user_id=request.user_id, channel_id=request.channel_id
        )
    # Newest first: in a thread, its newest model; in the channel, the channel's newest.
    for job in backend.jobs.list_for_channel(request.channel_id, limit=THREAD_SCAN_LIMIT):
        if is_model(job) and (request.thread_ts is None or job.thread_ts == request.thread_ts):
            return job
    raise says.no_model_in_thread() if request.thread_ts else says.which_model()


def _file_for(service: JobService, request: PredictRequest) -> SlackFile:
    """The table to score: the one given, the thread's newest, or the channel's newest."""
    client = service.client
    if request.file_id:
        file = slack_files.file_info(client, request.file_id, request.channel_id)
    elif request.thread_ts and not request.file_name:
        file = _newest_file_in_thread(service, request.channel_id, request.thread_ts)
    else:
        file = slack_files.newest_table_file(client, request.channel_id, request.file_name)
    if not slack_files.is_table_file(
        {"name": file.name, "filetype": file.filetype, "mimetype": file.mimetype}
    ):
        raise problems.not_a_table(file.name)
    return file


def _newest_file_in_thread(service: JobService, channel_id: str, thread_ts: str) -> SlackFile:
    """The newest table file shared in a thread, its first message included."""
    try:
        replies: list[dict[str, Any]] = service.client.conversations_replies(
            channel=channel_id, ts=thread_ts, limit=200
        ).get("messages", [])
    except Exception as exc:  # SlackApiError and network errors alike
        raise problems.thread_unreadable() from exc
    for message in reversed(replies):
        for file in reversed(message.get("files") or []):
            if slack_files.is_table_file(file):
                return slack_files.file_info(service.client, file["id"], channel_id)
    raise problems.no_file_in_thread()


def _verified_digest(service: JobService, model_job_id: str) -> str:
    """The model's SHA-256 as model.sig vouches for it with this bot's key."""
    key = service.model_key
    try:
        record = service.backend.artifacts.read_bytes(model_job_id, MODEL_SIGNATURE_FILE)
    except Exception:  # missing (expired, or never signed) or unreadable: not trusted
        log.warning("no readable model.sig for job %s", model_job_id, exc_info=True)
        raise says.model_not_signed(model_job_id) from None
    try:
        digest = signed_sha256(record, [key] if key else [])
        signed_for = json.loads(record).get("job_id")
    except (ModelNotTrusted, ValueError, AttributeError):
        raise says.model_not_signed(model_job_id) from None
    if signed_for != model_job_id:
        raise says.model_not_signed(model_job_id)
    return digest


def _active_duplicate(
    service: JobService, request: PredictRequest, file: SlackFile, model: Job
) -> Job | None:
    """The person's running or waiting prediction of this file with this model, if any."""
    for job in service.backend.jobs.list_for_user(request.user_id, limit=100):
        if (
            job.kind == "predict"
            and job.active
            and job.file_id == file.id
            and job.model_job_id == model.job_id
            and job.channel_id == request.channel_id
        ):
            return job
    return None


def _new_job(request: PredictRequest, file: SlackFile, model: Job) -> Job:
    return Job(
        job_id=new_job_id(),
        user_id=request.user_id,
        channel_id=request.channel_id,
        # A file attached to a form is shared nowhere: the thread it was asked from.
        thread_ts=file.thread_ts or file.message_ts or request.thread_ts,
        file_id=file.id,
        file_name=file.name,
        target=model.target,
        task=model.task,
        metric=model.metric,
        time_budget_s=PREDICTION_TIME_BUDGET_S,
        dedupe_key=request.dedupe_key,
        kind="predict",
        model_job_id=model.job_id,
    )


def _stage(service: JobService, job: Job, file: SlackFile, model: Job, digest: str) -> str:
    """Copy the Slack file into the artifact store and write the prediction's spec."""
    artifacts = service.backend.artifacts
    max_bytes = service.settings.max_file_bytes
    chunks = slack_files.download(
        file, service.token, max_bytes, slack_api_url=service.client.base_url
    )
    dataset_uri = artifacts.save_dataset(job.job_id, file.name, chunks, max_bytes)
    model_uri = f"{artifacts.output_uri(model.job_id).rstrip('/')}/{MODEL_FILE}"
    spec = PredictionSpec(
        job_id=job.job_id,
        model_job_id=model.job_id,
        model_uri=model_uri,
        model_sha256=digest,
        dataset_uri=dataset_uri,
        file_name=file.name,
        output_uri=artifacts.output_uri(job.job_id),
        limits=service.settings.input_limits(),
    )
    return artifacts.save_spec(spec)
