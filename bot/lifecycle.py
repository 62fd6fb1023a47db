"""`JobLifecycle`: the one owner of a job's status. Every status change goes through it.

The service records a job (`queued`) and cancels it; a launcher, or the completion Lambda
on AWS, starts it (`running`); whoever learns how it ended ends it. The moves a status may
make are the table below and nothing else:

    queued ──> running ──> succeeded | failed | interrupted | cancelled
       └──────────────────> failed | cancelled

A job that has ended never moves again, so a late or repeated event (a Slack retry, AWS
delivering twice, a restart re-reading an events log) cannot undo what a person was told.

The lifecycle knows a job by its id and status only, never by what the job does: training
a model and, later, scoring a file with one are both jobs that wait, run and end, so a
second kind of job needs no second state machine.

Standard library only (with the job record): this module is on the Lambda's path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from bot.jobs import MUTABLE_FIELDS, Job, JobStore, Status, check_statuses

log = logging.getLogger(__name__)

# Every move a job's status may make, and what makes it.
TRANSITIONS: Final[Mapping[tuple[Status, Status], str]] = {
    ("queued", "running"): "its launcher started it",
    ("queued", "failed"): "it could not start: a bad file, a refused launch, a restart",
    ("queued", "cancelled"): "its owner cancelled it while it waited",
    ("running", "succeeded"): "it wrote its results",
    ("running", "failed"): "it failed, or stopped without writing results",
    ("running", "interrupted"): "it was stopped and kept the models it had found",
    ("running", "cancelled"): "its owner cancelled it",
}

# Repairs: an ending reported for a job in a status it cannot end from, and the status it
# evidently passed through. A job with results ran, even when the event saying it started
# was lost or is still on its way (AWS delivers events late and out of order).
REPAIRS: Final[Mapping[tuple[Status, Status], Status]] = {
    ("queued", "succeeded"): "running",
    ("queued", "interrupted"): "running",
}

INITIAL: Final[Status] = "queued"
ENDINGS: Final[frozenset[Status]] = frozenset({"succeeded", "failed", "interrupted"})


def allowed(current: Status, new: Status) -> bool:
    """Whether the table lets a job move from `current` to `new`."""
    return (current, new) in TRANSITIONS


def sources(new: Status) -> list[Status]:
    """The statuses a job may move to `new` from, sorted; ValueError for an unknown status."""
    check_statuses((new,))
    return sorted(current for current, target in TRANSITIONS if target == new)


def transition_sources(new_status: Status, fields: dict[str, Any]) -> list[Status]:
    """What every `JobStore.transition` checks before it writes: `sources(new_status)`.

    The store makes the move atomically, only from these statuses; ValueError for an unknown
    status, TypeError for a field `transition` may not set.
    """
    allowed_from = sources(new_status)
    unknown = set(fields) - MUTABLE_FIELDS
    if unknown:
        raise TypeError(
            f"transition() cannot set {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(MUTABLE_FIELDS))}"
        )
    return allowed_from


class JobLifecycle:
    """Moves jobs through `TRANSITIONS`, atomically, in whatever store holds them.

    An illegal move is refused: logged, nothing changed, and False returned, never raised.
    Which moves are legal depends on the status the job has at that instant, which no caller
    can know (events arrive twice, late, out of order and from several processes): the
    store's atomic write decides, and a refusal is how a repeated event is recognised and
    made harmless. A call that is wrong whatever the status (ending a job as `running`,
    recording one that is not `queued`) is a bug, and raises ValueError.
    """

    def __init__(self, store: JobStore) -> None:
        self._store = store

    def record(self, job: Job, *, max_active: int | None = None) -> tuple[Job, bool]:
        """Store a new job, `queued`; `JobStore.create`'s answer (a retry gets the first job).

        `bot.jobs.ActiveLimitReached` when its owner already has `max_active` active jobs.
        """
        if job.status != INITIAL:
            raise ValueError(f"a new job is {INITIAL}, not {job.status}")
        return self._store.create(job, max_active=max_active)

    def start(self, job_id: str) -> bool:
        """`queued` -> `running`; False when the job was cancelled or ended meanwhile."""
        return self._move(job_id, "running")

    def cancel(self, job_id: str) -> bool:
        """-> `cancelled`; False when the job has ended already."""
        return self._move(job_id, "cancelled")

    def end(
        self,
        job_id: str,
        status: Status,
        *,
        result_path: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        """-> `status` (succeeded, failed or interrupted), repairing a lost start.

        True only for the one caller that ended the job: it tells the person how it went.
        """
        if status not in ENDINGS:
            raise ValueError(f"{status!r} is not how a job ends; one of {sorted(ENDINGS)}")
        fields = {
            "result_path": result_path,
            "error_code": error_code,
            "error_message": error_message,
        }
        if self._store.transition(job_id, status, **fields):
            return True
        for (source, target), via in REPAIRS.items():
            # The store moves a job to `via` only from `sources(via)`, which is `[source]`
            # (tests/bot/test_lifecycle.py holds the table to that).
            if target == status and self._store.transition(job_id, via):
                log.info(
                    "job %s: repaired %s -> %s (that event was lost or is late)",
                    job_id,
                    source,
                    via,
                )
                return self._move(job_id, status, **fields)
        log.info("job %s: not ended as %s: it had ended already (or is gone)", job_id, status)
        return False

    def _move(self, job_id: str, new: Status, **fields: Any) -> bool:
        if self._store.transition(job_id, new, **fields):
            return True
        log.info("job %s: refused to move to %s: only from %s", job_id, new, sources(new))
        return False
