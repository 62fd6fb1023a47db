"""`BatchLauncher`: the aws backend's launcher, one AWS Batch job per training run or
prediction (`python -m training predict`, with the model's job id in its environment).

- `submit` reads the spec the service just wrote, sizes the Fargate task from the dataset's
  size in S3 (`sizing.task_size`) and calls SubmitJob on the Fargate Spot queue, named
  `automl-<job_id>` so whoever gets Batch's events can find the job again
  (`job_id_from_batch_name`), with a fresh token the job shows the credential issuer
  (bot/aws_lambda/job_credentials.py) for S3 credentials limited to its own files.
  A SubmitJob error propagates: the service ends the job.
- `cancel` finds the Batch job by name and terminates it (Batch cancels it if it has not
  started yet).
- No `start()`, no watching: Batch's state changes and the job's own events reach the
  completion Lambda through EventBridge, and that moves the job to `running` and to its end.
- With a job store and `max_concurrent` (AUTOML_MAX_CONCURRENT_JOBS), only the oldest
  `max_concurrent` active jobs hold a slot; the rest stay `queued` in the store, Batch never
  hears of them, and `queue_position` says where they stand. `start_waiting` submits every
  slot holder not yet submitted: the service calls it for a new job, the completion Lambda
  after each ending, the sweeper on schedule. Why this is safe across Lambdas without a lock:
  new jobs join at the back, so a job once among the oldest N stays there until it ends, and
  at most N active jobs are ever submitted; each is submitted once, by whoever wins the
  store's atomic claim on `batch-submit:<job id>`.

Standard library and the contract models only; the Batch client is handed in.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any, Final

from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.sizing import TaskSize, task_size
from bot.jobs import Job, JobStore
from bot.links import check_job_id
from contract import environment as env
from contract.aws import (
    BATCH_FAILED,
    BATCH_JOB_TAGS,
    BATCH_QUEUE_TAG,
    BATCH_SUCCEEDED,
    JOB_CREDENTIALS_FUNCTION_NAME,
)
from contract.jobs import JobSpec, PredictionSpec
from contract.run_folder import SPEC_FILE

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


def prediction_command(spec_uri: str) -> list[str]:
    return ["python", "-m", "training", "predict", spec_uri]


class BatchLauncher:
    """The `bot.ports.Launcher` port on AWS Batch. Stateless: safe in any Lambda."""

    def __init__(
        self,
        batch_client: Any,
        *,
        job_queue: str,
        job_definition: str,
        artifacts: S3ArtifactStore,
        credentials_function: str = JOB_CREDENTIALS_FUNCTION_NAME,
        jobs: JobStore | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        if not job_queue or not job_definition:
            raise ValueError("job_queue and job_definition must be set")
        if (jobs is None) != (max_concurrent is None) or (max_concurrent or 1) < 1:
            raise ValueError("a concurrency limit needs a job store and at least one slot")
        self.jobs = jobs
        self.max_concurrent = max_concurrent
        self.batch = batch_client
        self.job_queue = job_queue
        self.job_definition = job_definition
        self.artifacts = artifacts
        self.credentials_function = credentials_function

    def submit(self, job: Job, spec_uri: str) -> None:
        if self.jobs is None:
            self.submit_to_batch(job, spec_uri)
            return
        self.start_waiting(report=job.job_id)

    def start_waiting(self, report: str | None = None) -> list[str]:
        """Submit the slot holders Batch has not been given yet; their ids. A job that could
        not be submitted stays queued for the next call; only the error of `report` (the job
        the caller is starting) is raised, for the service to end that job."""
        if self.jobs is None or self.max_concurrent is None:
            return []
        submitted = []
        for job in self._active()[: self.max_concurrent]:
            if job.status != "queued" or not self.jobs.claim(_submit_claim(job.job_id)):
                continue  # running, or submitted by this or another invocation
            try:
                self.submit_to_batch(job, self._spec_uri(job.job_id))
            except Exception:
                self.jobs.release(_submit_claim(job.job_id))
                if job.job_id == report:
                    raise
                log.exception("could not submit waiting job %s; it stays queued", job.job_id)
                continue
            submitted.append(job.job_id)
        return submitted

    def waiting(self) -> list[str]:
        """Ids of the jobs waiting for a slot, the next to start first."""
        if self.max_concurrent is None:
            return []
        return [job.job_id for job in self._active()[self.max_concurrent :]]

    def submit_to_batch(self, job: Job, spec_uri: str) -> None:
        name = batch_job_name(job.job_id)
        content = self.artifacts.read_uri(spec_uri)
        spec: JobSpec | PredictionSpec
        environment = self.job_environment(job.job_id)
        if job.kind == "predict":
            spec = PredictionSpec.model_validate_json(content)
            command = prediction_command(spec_uri)
            # Read back by the credential issuer from DescribeJobs: the model it may read.
            environment.append({"name": env.MODEL_JOB_ID, "value": spec.model_job_id})
        else:
            spec = JobSpec.model_validate_json(content)
            command = training_command(spec_uri)
        size = self.size_for(spec)
        response = self.batch.submit_job(
            jobName=name,
            jobQueue=self.job_queue,
            jobDefinition=self.job_definition,
            containerOverrides={
                "command": command,
                "resourceRequirements": size.resource_requirements(),
                "environment": environment,
            },
            timeout={"attemptDurationSeconds": attempt_timeout_s(spec.time_budget_s)},
            tags=self.job_tags(job),
            # Onto the ECS task too, where Fargate's cost is billed (Cost Explorer, CUR).
            propagateTags=True,
        )
        log.info(
            "job %s submitted to Batch as %s (%g vCPU, %d MiB)",
            job.job_id,
            response.get("jobId"),
            size.vcpu,
            size.memory_mib,
        )

    def job_tags(self, job: Job) -> dict[str, str]:
        """The queue tag (the bot's role may terminate only jobs with it: infra/functions.py)
        and the cost-allocation tags: job id, channel and person (Slack ids, not names)."""
        tags = {BATCH_QUEUE_TAG: self.job_queue}
        tags[BATCH_JOB_TAGS["job_id"]] = job.job_id
        tags[BATCH_JOB_TAGS["channel_id"]] = job.channel_id
        tags[BATCH_JOB_TAGS["user_id"]] = job.user_id
        return tags

    def job_environment(self, job_id: str) -> list[dict[str, str]]:
        """The job's id, and what it needs to get S3 credentials for its own files only.

        The token is new for each job and set nowhere else: the credential issuer gives S3
        credentials only to the Batch job whose environment holds it (the job role cannot
        describe other jobs, so it cannot read theirs). It is never logged.
        """
        return [
            {"name": env.JOB_ID, "value": job_id},
            {"name": env.JOB_CREDENTIALS_FUNCTION, "value": self.credentials_function},
            {"name": env.JOB_TOKEN, "value": secrets.token_urlsafe(32)},
        ]

    def size_for(self, spec: JobSpec | PredictionSpec) -> TaskSize:
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
        # Batch does not say where a job stands in its queue; the store says who waits.
        waiting = self.waiting()
        return waiting.index(job_id) + 1 if job_id in waiting else None

    def _active(self) -> list[Job]:
        """Queued and running jobs, oldest first: the first `max_concurrent` hold the slots."""
        assert self.jobs is not None
        active = self.jobs.list_by_status("queued", "running")
        return sorted(active, key=lambda job: (job.created_at, job.job_id))

    def _spec_uri(self, job_id: str) -> str:
        return f"{self.artifacts.output_uri(job_id)}/{SPEC_FILE}"


def _submit_claim(job_id: str) -> str:
    return f"batch-submit:{job_id}"
