"""The job record and the `JobStore` port.

A job is one training run asked for by one person in one thread. Which statuses it moves
through, and who moves it, is `bot.lifecycle`'s business: the stores only make each move
atomically, from the statuses `bot.lifecycle.transition_sources` allows.

Implementations: `bot.backends.local.job_store.SqliteJobStore` (SQLite, WAL) and, on AWS,
DynamoDB with conditional writes. Standard library only: this module is on the Lambda's path.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from contract.jobs import utc_now

JobKind = Literal["train", "predict"]  # training a model, or scoring a file with one
JOB_KINDS: tuple[JobKind, ...] = get_args(JobKind)

Status = Literal["queued", "running", "succeeded", "failed", "interrupted", "cancelled"]
STATUSES: tuple[Status, ...] = get_args(Status)

ACTIVE: frozenset[Status] = frozenset({"queued", "running"})
TERMINAL: frozenset[Status] = frozenset({"succeeded", "failed", "interrupted", "cancelled"})

# Fields `JobStore.transition` may set together with the status.
MUTABLE_FIELDS: frozenset[str] = frozenset(
    {"status_ts", "result_path", "error_code", "error_message"}
)


class ActiveLimitReached(Exception):
    """`JobStore.create` refused: the person already has `max_active` queued or running jobs."""


def check_statuses(statuses: tuple[str, ...]) -> None:
    """ValueError for a status that does not exist (a typo must not match nothing silently)."""
    unknown = [status for status in statuses if status not in STATUSES]
    if unknown:
        raise ValueError(f"unknown job status(es): {', '.join(map(repr, unknown))}")


def new_job_id() -> str:
    """A short id people can type (`/automl cancel 3fa9c1b2`); safe as a folder name."""
    return secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class Job:
    """One job: a training run, or a file scored with a trained model (`kind`). Stores hand
    out copies; change a job through the store."""

    job_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None  # the file's message: every reply goes into its thread
    file_name: str
    target: str
    status: Status = "queued"
    file_id: str | None = None  # Slack's file id (F...)
    task: str = "auto"
    metric: str = "auto"
    time_budget_s: int = 60
    exclude_columns: tuple[str, ...] = ()
    keep_columns: tuple[str, ...] = ()  # used even where the engine would leave them out
    status_ts: str | None = None  # the one status message updated while the job runs
    result_path: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    dedupe_key: str | None = None  # Slack event id / trigger id / request id that created it
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    kind: JobKind = "train"
    # A prediction job: the training job whose model scores the file (`target` is its target).
    model_job_id: str | None = None
    # The Slack workspace (T...) it was asked in: uninstalling the app deletes by it.
    team_id: str | None = None
    # "channel": the results also go to the channel as a one-line summary (`share=channel`).
    share_to: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown job status {self.status!r}")
        if self.kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {self.kind!r}")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@runtime_checkable
class JobStore(Protocol):
    """Where jobs live. Every method is safe to call from several threads."""

    def create(self, job: Job, *, max_active: int | None = None) -> tuple[Job, bool]:
        """Store a new job; `(job, True)`.

        If a job with the same `dedupe_key` exists already, store nothing and return
        `(existing_job, False)`: one user action, one job, however often Slack retries.
        A `dedupe_key` of None never deduplicates. With `max_active`, raise
        `ActiveLimitReached` instead when the job's owner has that many active jobs: the
        count and the write are one atomic step, so racing requests cannot both pass.
        """
        ...

    def get(self, job_id: str) -> Job | None: ...

    def get_by_dedupe_key(self, dedupe_key: str) -> Job | None: ...

    def list_for_channel(self, channel_id: str, limit: int = 20) -> list[Job]:
        """Newest first."""
        ...

    def list_for_user(self, user_id: str, limit: int = 20) -> list[Job]:
        """Newest first."""
        ...

    def list_by_status(self, *statuses: Status) -> list[Job]:
        """Oldest first (queue order)."""
        ...

    def count_active(self, user_id: str | None = None) -> int:
        """Queued and running jobs: all of them, or one person's."""
        ...

    def transition(self, job_id: str, new_status: Status, **fields: Any) -> bool:
        """Move a job to `new_status`, setting `fields` (see `MUTABLE_FIELDS`) too.

        Atomic: returns False, changing nothing, when the job does not exist or its current
        status is not one of `bot.lifecycle.transition_sources(new_status)`. Only
        `bot.lifecycle.JobLifecycle` calls it: it owns every status change.
        """
        ...

    def set_status_message(self, job_id: str, status_ts: str) -> bool:
        """Remember the ts of the job's status message; False if there is no such job."""
        ...

    def claim(self, key: str) -> bool:
        """True the first time `key` is claimed, False ever after (atomic).

        For one-off work that is not a job, such as the preview of a shared file, so a Slack
        retry of the same event does not do it twice.
        """
        ...

    def release(self, key: str) -> None:
        """Undo a claim whose work did not happen, so it may be claimed again."""
        ...

    def take_lease(self, key: str, seconds: float) -> bool:
        """True when `key` is free or its lease has run out; it is then this caller's for
        `seconds` (atomic across processes and Lambda containers). A holder that dies
        without `end_lease` blocks the key only until its lease runs out."""
        ...

    def end_lease(self, key: str) -> None:
        """Give a lease back before it runs out."""
        ...

    def remember_columns(self, file_id: str, columns: list[str]) -> None:
        """Keep a previewed file's column names, to check a request before it is a job."""
        ...

    def forget_workspace(self, team_id: str) -> list[str]:
        """Delete a workspace's jobs, claims, leases and column lists (the app was
        uninstalled); the ids of the jobs deleted. Active jobs are cancelled before."""
        ...

    def columns_of(self, file_id: str) -> list[str] | None:
        """The column names its preview found; None when the file was not previewed."""
        ...
