"""`Sweeper`: what the local backend keeps, and for how long.

- A job's dataset (the copy of the person's file) is deleted once the job has ended, unless
  `AUTOML_KEEP_DATASETS` is on.
- Runs, datasets, job rows, claims and remembered columns are deleted once nothing about
  them changed for `AUTOML_RUN_EXPIRY_DAYS` (30 by default, as the AWS stack's S3 lifecycle
  rule and DynamoDB TTL do). A queued or running job is never touched.

One daemon thread: a pass at start, then one a minute for ended jobs' datasets and an
expiry pass every hour. Standard library only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from bot.backends.local.artifacts import LocalArtifactStore
from bot.backends.local.job_store import SqliteJobStore
from contract.jobs import utc_now

log = logging.getLogger(__name__)

PASS_EVERY_S: Final = 60.0
EXPIRY_EVERY_S: Final = 3600.0
# A preview's copy lives for the preview only; one left by a crash goes after this.
_PREVIEW_HOLDER: Final = "preview-"
_STRAY_PREVIEW_S: Final = 3600.0


class Sweeper:
    def __init__(
        self,
        jobs: SqliteJobStore,
        artifacts: LocalArtifactStore,
        *,
        expiry_days: int,
        keep_datasets: bool = False,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.jobs = jobs
        self.artifacts = artifacts
        self.expiry = timedelta(days=expiry_days)
        self.keep_datasets = keep_datasets
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drop_ended_datasets(self) -> list[str]:
        """Delete the datasets of jobs that have ended; the ids whose dataset went."""
        if self.keep_datasets:
            return []
        now = self._clock().timestamp()
        dropped = []
        # Folders first, then their jobs: a folder exists only once its job is recorded.
        for job_id in sorted(self.artifacts.stored_ids()):
            if not self.artifacts.has_dataset(job_id):
                continue
            if job_id.startswith(_PREVIEW_HOLDER):
                ended = now - self.artifacts.last_changed(job_id) > _STRAY_PREVIEW_S
            else:
                job = self.jobs.get(job_id)
                ended = job is not None and job.finished
            if ended:
                self.artifacts.discard_dataset(job_id)
                dropped.append(job_id)
        return dropped

    def drop_expired(self) -> list[str]:
        """Delete what is older than the expiry; the job ids whose files went."""
        cutoff = self._clock() - self.expiry
        stored = self.artifacts.stored_ids()  # before the rows: see drop_ended_datasets
        expired = set(self.jobs.forget_before(cutoff))
        known = self.jobs.job_ids()  # every job still held, queued and running ones included
        for job_id in stored - known - expired:  # files without a job row: by their age
            if self.artifacts.last_changed(job_id) < cutoff.timestamp():
                expired.add(job_id)
        for job_id in sorted(expired & stored):
            self.artifacts.delete_job(job_id)
        return sorted(expired)

    def sweep(self, *, expiry: bool = True) -> None:
        try:
            if expiry:
                gone = self.drop_expired()
                if gone:
                    log.info("retention: deleted %d expired job(s)", len(gone))
            self.drop_ended_datasets()
        except Exception:  # a full disk or a locked file must not end the bot
            log.exception("retention sweep failed; trying again later")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="automl-sweeper", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        last_expiry = float("-inf")
        while not self._stop.is_set():
            due = time.monotonic() - last_expiry >= EXPIRY_EVERY_S
            self.sweep(expiry=due)
            if due:
                last_expiry = time.monotonic()
            self._stop.wait(PASS_EVERY_S)
