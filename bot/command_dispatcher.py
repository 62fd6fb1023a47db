"""`run_command`: does what a parsed command asks, wherever it was typed.

`/automl ...` (the commands listener) and `@AutoML ...` in a thread (the events listener)
both parse the words with `bot.command_parser` and hand the command here, so a command
means the same thing however it reaches the bot.
"""

from __future__ import annotations

from bot.channel_cost import channel_cost
from bot.command_parser import (
    CancelCommand,
    Command,
    CostCommand,
    HelpCommand,
    ListCommand,
    ModelsCommand,
    PredictCommand,
    RetrainCommand,
    StatusCommand,
    TrainCommand,
)
from bot.messages import problems
from bot.messages.models import models_list
from bot.models import usable_models
from bot.retrain_service import RetrainRequest, retrain
from bot.service import JobService, PredictRequest, TrainRequest
from common.logs import log_context


def run_command(
    service: JobService,
    command: Command,
    *,
    user_id: str,
    channel_id: str,
    thread_ts: str | None = None,
    dedupe_key: str | None = None,
) -> str | None:
    """Do what a parsed command asks; the sentence to tell the person (privately).

    None for help, which the caller answers with the usage as soon as it has parsed it.
    Every log line on the way says where, who and which command.
    """
    name = type(command).__name__.removesuffix("Command").lower()
    job_id = getattr(command, "job_id", None)  # status and cancel may name one
    with log_context(channel=channel_id, user=user_id, job_id=job_id, event=f"command {name}"):
        return _run_command(
            service,
            command,
            user_id=user_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            dedupe_key=dedupe_key,
        )


def _run_command(
    service: JobService,
    command: Command,
    *,
    user_id: str,
    channel_id: str,
    thread_ts: str | None,
    dedupe_key: str | None,
) -> str | None:
    if isinstance(command, TrainCommand):
        started = service.train(
            TrainRequest(
                user_id=user_id,
                channel_id=channel_id,
                command=command,
                thread_ts=thread_ts,
                dedupe_key=dedupe_key,
            )
        )
        return started.sentence()
    if isinstance(command, PredictCommand):
        return service.predict(
            PredictRequest(
                user_id=user_id,
                channel_id=channel_id,
                model_job_id=command.job_id,
                file_name=command.file_name,
                thread_ts=thread_ts,
                dedupe_key=dedupe_key,
            )
        ).sentence()
    service.check_allowed(user_id, channel_id)
    if isinstance(command, StatusCommand):
        return service.status(user_id, channel_id, command.job_id)
    if isinstance(command, ListCommand):
        return service.list_jobs(channel_id)
    if isinstance(command, CancelCommand):
        return service.cancel(user_id, command.job_id)
    if isinstance(command, CostCommand):
        backend = service.backend
        return channel_cost(backend.jobs, backend.artifacts, channel_id).sentence()
    if isinstance(command, RetrainCommand):
        request = RetrainRequest(
            user_id=user_id,
            channel_id=channel_id,
            job_id=command.job_id,
            thread_ts=thread_ts,
            dedupe_key=dedupe_key,
        )
        return retrain(service, request).sentence()
    if isinstance(command, ModelsCommand):
        return models_list(usable_models(service.backend, user_id=user_id, channel_id=channel_id))
    if isinstance(command, HelpCommand):
        return None
    raise problems.not_understood()
