"""The models a person may use: succeeded training jobs, and who may score files with them.

A model belongs to the channel it was trained in: anyone there may use it, and so may the
person who trained it, from anywhere. Everyone else is told there is no such job (its file
name and target belong to that channel), as `/automl status` does.

Standard library and the bot's own modules only: this is on the Lambda's path.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.jobs import Job
from bot.messages import problems
from bot.messages.models import not_a_model
from bot.ports import Backend

# How many of a channel's newest jobs are looked through for models: a list people scan.
SCAN_LIMIT = 50
MAX_MODELS = 20


@dataclass(frozen=True, slots=True)
class UsableModel:
    job: Job
    metric: str | None  # the metric its score is in
    score: float | None  # the best model's validation score


def is_model(job: Job) -> bool:
    """A training job that ended with a model (a prediction job is not one)."""
    return job.status == "succeeded" and getattr(job, "kind", "train") == "train"


def may_use(job: Job, user_id: str, channel_id: str) -> bool:
    return job.channel_id == channel_id or job.user_id == user_id


def find_model(backend: Backend, job_id: str, *, user_id: str, channel_id: str) -> Job:
    """The model of `job_id` if this person may use it here; else a sentence for them."""
    job = backend.jobs.get(job_id)
    if job is None or not may_use(job, user_id, channel_id):
        raise problems.no_such_job(job_id)
    if not is_model(job):
        raise not_a_model(job.job_id, job.status)
    return job


def find_model_from_home(backend: Backend, job_id: str, *, user_id: str) -> Job:
    """From the Home tab, which has no channel: the person's own models, or those of a
    channel where they have trained (so they are known to be in it)."""
    job = backend.jobs.get(job_id)
    if job is None:
        raise problems.no_such_job(job_id)
    if job.user_id != user_id and job.channel_id not in _channels_of(backend, user_id):
        raise problems.no_such_job(job_id)
    return find_model(backend, job_id, user_id=user_id, channel_id=job.channel_id)


def _channels_of(backend: Backend, user_id: str) -> set[str]:
    return {job.channel_id for job in backend.jobs.list_for_user(user_id, limit=SCAN_LIMIT)}


def usable_models(backend: Backend, *, user_id: str, channel_id: str) -> list[UsableModel]:
    """The channel's models and the person's own, newest first."""
    seen: dict[str, Job] = {}
    for job in (
        *backend.jobs.list_for_channel(channel_id, limit=SCAN_LIMIT),
        *backend.jobs.list_for_user(user_id, limit=SCAN_LIMIT),
    ):
        if is_model(job) and may_use(job, user_id, channel_id):
            seen.setdefault(job.job_id, job)
    newest = sorted(seen.values(), key=lambda j: j.created_at, reverse=True)[:MAX_MODELS]
    return [scored(backend, job) for job in newest]


def home_models(backend: Backend, *, user_id: str) -> list[UsableModel]:
    """For the Home tab: the models of every channel the person has trained in, and theirs."""
    seen: dict[str, Job] = {}
    for channel_id in _channels_of(backend, user_id):
        for job in backend.jobs.list_for_channel(channel_id, limit=SCAN_LIMIT):
            if is_model(job):
                seen.setdefault(job.job_id, job)
    newest = sorted(seen.values(), key=lambda j: j.created_at, reverse=True)[:MAX_MODELS]
    return [scored(backend, job) for job in newest]


def scored(backend: Backend, job: Job) -> UsableModel:
    try:
        result = backend.artifacts.load_result(job.job_id)
    except Exception:  # an unreadable result still leaves a usable model to list
        result = None
    if result is None:
        return UsableModel(job, None, None)
    best = result.best_estimator or (
        result.leaderboard[0].estimator if result.leaderboard else None
    )
    score = next((r.validation_score for r in result.leaderboard if r.estimator == best), None)
    return UsableModel(job, result.metric, score)
