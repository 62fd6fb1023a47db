"""The bot's ports: the outside things it needs, each with a local and an aws implementation.

`bot.jobs.JobStore` is the fifth port; it lives with the job record. The bot's logic (the
job service, the notifier, the listeners) only ever sees these protocols; which
implementation it gets is decided once, by `bot.backends.load_backend(settings)`.

Standard library and the contract models only: this module is on the Lambda's path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bot.jobs import Job, JobStore
from contract.jobs import (
    DatasetPreview,
    FinishedEvent,
    JobResult,
    JobSpec,
    PredictionSpec,
    ProgressEvent,
    ReportEvent,
)


@runtime_checkable
class ArtifactStore(Protocol):
    """Datasets in, run folders out. Paths inside a run are relative (`charts/roc.png`)."""

    def save_dataset(
        self, job_id: str, file_name: str, chunks: Iterable[bytes], max_bytes: int
    ) -> str:
        """Stream a dataset in; return the URI the training job reads (`spec.dataset_uri`).

        Raises `bot.errors.FileTooLarge` past `max_bytes`, keeping nothing.
        """
        ...

    def output_uri(self, job_id: str) -> str:
        """Where the job writes its run folder (`spec.output_uri`)."""
        ...

    def save_spec(self, spec: JobSpec | PredictionSpec) -> str:
        """Write `spec.json` (a training's or a prediction's) into the run folder; its URI."""
        ...

    def save_result(self, result: JobResult) -> str:
        """Write `result.json` for a job that ended before its training ran (bad file...)."""
        ...

    def discard_dataset(self, job_id: str) -> None:
        """Delete a stored dataset (a file fetched only to preview it); missing is fine."""
        ...

    def delete_job(self, job_id: str) -> None:
        """Delete everything stored for a job (its dataset, its run folder); missing is fine."""
        ...

    def load_result(self, job_id: str) -> JobResult | None:
        """The run's `result.json`, or None when the job wrote none (yet)."""
        ...

    def save_model_signature(self, job_id: str, record: bytes) -> None:
        """Write `model.sig` (bot.model_signature) beside the run's model."""
        ...

    def read_bytes(self, job_id: str, relative_path: str) -> bytes:
        """One artifact's content (charts to upload to Slack)."""
        ...

    def link(self, job_id: str, relative_path: str) -> str:
        """A URL that opens one artifact for a limited time, for whoever has it."""
        ...


@runtime_checkable
class JobEvents(Protocol):
    """What a launcher reports about the jobs it runs (`bot.job_events.JobEventHandler`).

    Every method may be called more than once for the same event, late, or out of order
    (a restart re-reads an events log; AWS delivers at least once); implementations make
    that harmless.
    """

    def job_started(self, job_id: str) -> None: ...

    def job_progress(self, job_id: str, event: ProgressEvent) -> None: ...

    def job_ended(self, job_id: str, ending: JobEnding) -> None: ...

    def job_report(self, job_id: str, event: ReportEvent) -> None:
        """The EDA report of a job whose results went out before it (or why there is none)."""
        ...


@dataclass(frozen=True, slots=True)
class JobEnding:
    """How a job's process ended, as far as the launcher could see.

    `finished` is the job's own `finished` event when it wrote one; `exit_code` the process's
    exit code when known; `detail` a sentence for a person when the job ended without a
    result (never started, killed, lost), and `log_tail` the last lines of its log then;
    `cost` what running it cost, in a sentence, where the launcher can tell (AWS).
    `still_running`: the job wrote its results and keeps running to finish its EDA report
    (`finished.report_pending`); its exit is reported again, as another ending.
    """

    finished: FinishedEvent | None = None
    exit_code: int | None = None
    detail: str = ""
    log_tail: str = ""
    cost: str = ""
    still_running: bool = False


@runtime_checkable
class Launcher(Protocol):
    """Runs training jobs somewhere and reports them to a `JobEvents`."""

    def submit(self, job: Job, spec_uri: str) -> None:
        """Hand over a job whose spec is written. The job is `queued` in the store; it moves
        to `running` (through `bot.lifecycle`) when it really starts: it may wait for capacity."""
        ...

    def cancel(self, job: Job) -> None:
        """Stop a queued or running job. The lifecycle has already moved it to `cancelled`."""
        ...

    def queue_position(self, job_id: str) -> int | None:
        """1 for the next job to start; None when the job is not waiting."""
        ...


@runtime_checkable
class Previewer(Protocol):
    """Reads a dataset enough to describe it (rows, column kinds, a suggested target)."""

    def preview(self, dataset_uri: str, file_name: str) -> DatasetPreview:
        """Raises `bot.errors.PreviewFailed` with a sentence for a person."""
        ...


@dataclass(slots=True)
class Backend:
    """One backend's implementations of every port, built from settings."""

    name: str
    jobs: JobStore
    artifacts: ArtifactStore
    launcher: Launcher
    previewer: Previewer
    # Background work the backend runs besides the launcher (the local sweeper), stopped too.
    workers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for part in (*self.workers, self.launcher):
            close = getattr(part, "close", None)
            if callable(close):
                close()
