"""`BatchLauncher`: the aws backend's launcher, one AWS Batch job per training run.

- `submit` reads the spec the service just wrote, sizes the Fargate task from the dataset's
  size in S3 (`sizing.task_size`) and calls SubmitJob on the Fargate Spot queue, named
  `automl-<job_id>` so whoever gets Batch's events can find the job again
  (`job_id_from_batch_name`). A SubmitJob error propagates: the service ends the job.
- `cancel` finds the Batch job by name and terminates it (Batch cancels it if it has not
  started yet).
- No `start()`, no watching: Batch's state changes and the job's own events reach the
  completion Lambda through EventBridge, and that moves the job to `running` and to its end.

Standard library and the contract models only; the Batch client is handed in.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.sizing import TaskSize, task_size
from bot.jobs import Job
from bot.links import check_job_id
from contract import environment as env
from contract.aws import BATCH_FAILED, BATCH_QUEUE_TAG, BATCH_SUCCEEDED
from contract.jobs import JobSpec

log = logging.getLogger(__name__)

JOB_NAME_PREFIX: Final = "automl-"
CANCEL_REASON: Final = "Cancelled in Slack"

MIN_ATTEMPT_S: Final = 60  # Batch's minimum attemptDurationSeconds
START_AND_UPLOAD_MARGIN_S: Final = 600
MARGIN_FRACTION: Final = 0.1

# Statuses a Batch job never leaves: nothing to terminate.
_FINAL: Final = frozenset({BATCH_SUCCEEDED, BATCH_FAILED})
# Batch job names: letters, digits, hyphens and underscores, 128 at most.
_BATCH_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def attempt_timeout_s(time_budget_s: int) -> int:
    """Batch's `attemptDurationSeconds` for a job with this time budget.

    The job stops its own search, charts and report at its budget; the margin covers what
    the budget does not: importing the libraries, downloading the spec and dataset, uploading
    the run folder, and a Spot task that runs slower than the machine the budget was planned
    on (10 % of the budget). A job still running past it is hung, and Batch stops it.
    """
    if time_budget_s < 0:
        raise ValueError("time_budget_s must not be negative")
    margin = START_AND_UPLOAD_MARGIN_S + int(time_budget_s * MARGIN_FRACTION)
    return max(MIN_ATTEMPT_S, time_budget_s + margin)


def batch_job_name(job_id: str) -> str:
    """`automl-<job_id>`; ValueError for a job id Batch cannot carry in a name (a dot)."""
    name = JOB_NAME_PREFIX + check_job_id(job_id)
    if not _BATCH_NAME.fullmatch(name):
        raise ValueError(f"job id {job_id!r} cannot be part of an AWS Batch job name")
    return name


def job_id_from_batch_name(name: str) -> str | None:
    """The job id in a Batch job's name, or None for a job this bot did not name."""
    if not name.startswith(JOB_NAME_PREFIX):
        return None
    try:
        return check_job_id(name.removeprefix(JOB_NAME_PREFIX))
    except ValueError:
        return None


def training_command(spec_uri: str) -> list[str]:
    return ["python", "-m", "training", "run", spec_uri]


class BatchLauncher:
    """The `bot.ports.Launcher` port on AWS Batch. Stateless: safe in any Lambda."""

    def __init__(
        self,
        batch_client: Any,
        *,
        job_queue: str,
        job_definition: str,
        artifacts: S3ArtifactStore,
    ) -> None:
        if not job_queue or not job_definition:
            raise ValueError("job_queue and job_definition must be set")
        self.batch = batch_client
        self.job_queue = job_queue
        self.job_definition = job_definition
        self.artifacts = artifacts

    def submit(self, job: Job, spec_uri: str) -> None:
        name = batch_job_name(job.job_id)
        spec = JobSpec.model_validate_json(self.artifacts.read_uri(spec_uri))
        size = self.size_for(spec)
        response = self.batch.submit_job(
            jobName=name,
            jobQueue=self.job_queue,
            jobDefinition=self.job_definition,
            containerOverrides={
                "command": training_command(spec_uri),
                "resourceRequirements": size.resource_requirements(),
                "environment": [{"name": env.JOB_ID, "value": job.job_id}],
            },
            timeout={"attemptDurationSeconds": attempt_timeout_s(spec.time_budget_s)},
            # The bot's role may terminate only jobs with this tag (infra/functions.py).
            tags={BATCH_QUEUE_TAG: self.job_queue},
        )
        log.info(
            "job %s submitted to Batch as %s (%g vCPU, %d MiB)",
            job.job_id,
            response.get("jobId"),
            size.vcpu,
            size.memory_mib,
        )

    def size_for(self, spec: JobSpec) -> TaskSize:
        dataset_bytes = self.artifacts.size_of(spec.dataset_uri)
        return task_size(dataset_bytes, spec.time_budget_s, file_name=spec.file_name)

    def cancel(self, job: Job) -> None:
        name = batch_job_name(job.job_id)
        found = False
        # With a filter ListJobs returns every status, newest first.
        pages = self.batch.get_paginator("list_jobs").paginate(
            jobQueue=self.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        for page in pages:
            for summary in page.get("jobSummaryList", []):
                if summary.get("jobName") != name or summary.get("status") in _FINAL:
                    continue
                found = True
                self.batch.terminate_job(jobId=summary["jobId"], reason=CANCEL_REASON)
                log.info("terminated Batch job %s of job %s", summary["jobId"], job.job_id)
        if not found:
            log.info("job %s has no unfinished Batch job to terminate", job.job_id)

    def queue_position(self, job_id: str) -> int | None:
        # Batch does not say where a job stands in its queue.
        return None
