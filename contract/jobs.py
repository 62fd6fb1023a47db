"""The JSON contracts between the bot and the training job, versioned.

- `JobSpec` (spec.json): what to train, written by the bot (or the CLI), read by the job.
- `Event` (one JSON object per line): `started`, `progress`, `finished` and, when the EDA report
  follows the results, `report`, emitted by the job.
- `JobResult` (result.json): everything the job produced, for people and for the notifier.
- `PreviewRequest` -> `DatasetPreview`: the preview Lambda's event and answer.
- `PredictionSpec` (spec.json of a prediction job) -> `PredictionResult` (prediction.json):
  a file scored with a trained model, `python -m training predict SPEC`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contract.tasks import RequestedTask, TaskName

SCHEMA_VERSION = 1

JobStatus = Literal["succeeded", "failed", "interrupted"]
# What a job does: train models on a file, or score a file with a trained model.
JobKind = Literal["train", "predict"]

# Job ids become folder names and S3 prefixes: keep them boring.
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

MIN_TIME_BUDGET_S = 5
MAX_TIME_BUDGET_S = 6 * 3600


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    # Unknown fields are kept out, so a typo in a hand-written spec is an error, not ignored.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Limits(_Model):
    """Input limits; the bot sets them from its configuration."""

    max_file_mb: float = Field(default=500, gt=0)
    max_columns: int = Field(default=2000, gt=0)
    # What a file expands to: rows x columns, and bytes once inflated (xlsx, Parquet).
    max_cells: int = Field(default=50_000_000, gt=0)
    max_unpacked_mb: float = Field(default=2000, gt=0)


class PreviousModel(_Model):
    """The model a retraining is compared with (`@AutoML retrain`): a copy staged with the
    job's dataset, since a job reads only its own folders."""

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    model_uri: str = Field(min_length=1, description="local path or s3:// URI of the copy")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="the bot checked it against the model's signature; the job checks the "
        "copy against it before unpickling",
    )


class JobSpec(_Model):
    """spec.json: bot -> training."""

    schema_version: int = SCHEMA_VERSION
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    dataset_uri: str = Field(min_length=1, description="local path, file:// or s3:// URI")
    file_name: str = Field(min_length=1, description="the name the person gave the file")
    target: str = Field(min_length=1)
    task: RequestedTask = "auto"
    metric: str = "auto"
    time_budget_s: int = Field(default=60, ge=MIN_TIME_BUDGET_S, le=MAX_TIME_BUDGET_S)
    exclude_columns: list[str] = Field(default_factory=list)
    keep_columns: list[str] = Field(
        default_factory=list,
        description="columns to use even where the engine would leave them out (ids, leaks)",
    )
    seed: int = 0
    output_uri: str = Field(min_length=1, description="the run's folder: local path or s3:// URI")
    limits: Limits = Field(default_factory=Limits)
    previous_model: PreviousModel | None = Field(
        default=None, description="retraining: score this model on the new holdout rows too"
    )

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} is not supported (expected {SCHEMA_VERSION})")
        return value


# ---- events ------------------------------------------------------------------------------


class _EventBase(_Model):
    schema_version: int = SCHEMA_VERSION
    job_id: str
    at: datetime = Field(default_factory=utc_now)


class StartedEvent(_EventBase):
    type: Literal["started"] = "started"
    time_budget_s: int
    file_name: str


class ProgressEvent(_EventBase):
    type: Literal["progress"] = "progress"
    stage: str = Field(description="load, search, evaluate, charts, report, save")
    elapsed_s: float
    budget_s: float
    trials: int = 0
    best_estimator: str | None = None
    best_score: float | None = None
    metric: str | None = None


class FinishedEvent(_EventBase):
    type: Literal["finished"] = "finished"
    status: JobStatus
    result_path: str
    error_code: str | None = None
    report_pending: bool = Field(
        default=False,
        description="the results are final; the process keeps running to finish the EDA report "
        "and then emits a `report` event",
    )


class ReportEvent(_EventBase):
    """The EDA report of a job whose results went out before it (`report_pending`)."""

    type: Literal["report"] = "report"
    report: str | None = Field(description="relative to the run folder; None: not made")
    note: str | None = Field(default=None, description="why not, or what it leaves out")


# How long a job may keep running after its results to finish a pending EDA report: the job
# stops the report then, and launchers allow it (and their margin) past the budget.
REPORT_FOLLOW_UP_MAX_S = 180

AnyEvent = StartedEvent | ProgressEvent | FinishedEvent | ReportEvent
Event = Annotated[AnyEvent, Field(discriminator="type")]


class EventEnvelope(BaseModel):
    """Parses one event line: `EventEnvelope.model_validate_json(line).event`."""

    event: Event


def parse_event(line: str | bytes) -> AnyEvent:
    return EventEnvelope.model_validate_json(b'{"event":' + _as_bytes(line) + b"}").event


def _as_bytes(line: str | bytes) -> bytes:
    return line.encode() if isinstance(line, str) else line


# ---- result --------------------------------------------------------------------------------


# The error code of a failure that is not the input's fault (a bug): exit code 1, not 2.
INTERNAL_ERROR_CODE = "internal_error"


class ErrorInfo(_Model):
    """A failure explained for a person: never a traceback."""

    code: str
    message: str
    hint: str = ""


class DroppedColumn(_Model):
    name: str
    reason: str


class LeaderboardRow(_Model):
    rank: int
    estimator: str
    validation_score: float | None
    train_time_s: float | None
    trials: int
    config: dict[str, Any] = Field(default_factory=dict)
    weights: dict[str, float] = Field(
        default_factory=dict, description="an ensemble's members and their weights (sum 1)"
    )


class SuspectedLeak(_Model):
    """A column that alone predicts the target almost perfectly: maybe known only afterwards."""

    column: str
    metric: str = Field(description="how well it predicts alone: roc_auc, accuracy or r2")
    score: float
    kept: bool = Field(description="whether the model still uses it")


class DecisionThreshold(_Model):
    """How two-class predictions become labels: probability of `positive_class` >= value."""

    value: float
    positive_class: str
    criterion: str = Field(description="what the value maximised on validation rows")
    reason: str = Field(description="one sentence for a person")


class ClassMetrics(_Model):
    label: str
    precision: float
    recall: float
    support: int


class Chart(_Model):
    name: str
    path: str = Field(description="relative to the run folder")
    title: str
    alt_text: str


class ColumnEffect(_Model):
    """How much one column moves the best model's predictions, and which way."""

    column: str
    mean_abs_contribution: float = Field(ge=0, description="on the explanation's scale")
    direction: Literal["raises", "lowers", "mixed", "by_category"] = Field(
        description="what higher values do to the explained output; by_category for categories"
    )


class Explanations(_Model):
    """What drives the best model: each column's contribution to its predictions."""

    sentences: list[str] = Field(
        min_length=1, max_length=3, description="for a person: the columns that matter, and how"
    )
    explained: str = Field(
        min_length=1,
        description="the output explained: `target=class`, the predicted class, "
        "or the target's value",
    )
    scale: Literal["probability", "value"]
    rows: int = Field(ge=1, description="the holdout rows explained")
    method: str = Field(description="how the contributions were computed, for each member")
    columns: list[ColumnEffect] = Field(default_factory=list, max_length=50)

    @field_validator("sentences")
    @classmethod
    def _no_empty_sentence(cls, value: list[str]) -> list[str]:
        if any(not sentence.strip() for sentence in value):
            raise ValueError("a sentence is empty")
        return value


class ModelComparison(_Model):
    """A retraining's new model and the previous one, on the new file's holdout rows."""

    previous_job_id: str
    metric: str = Field(description="the holdout metric both scores are in")
    score: float | None = Field(default=None, description="the new model")
    previous_score: float | None = Field(default=None, description="the previous model")
    rows: int = Field(ge=0, description="the holdout rows both were scored on")
    note: str | None = Field(
        default=None, description="why the previous model could not be scored, for a person"
    )


class Artifacts(_Model):
    """Paths relative to the run folder; None where the artifact was not produced."""

    charts: list[Chart] = Field(default_factory=list)
    report: str | None = None
    model: str | None = None
    model_sha256: str | None = Field(
        default=None, description="hex SHA-256 of the model file; the bot signs it (model.sig)"
    )
    leaderboard_csv: str | None = None
    events_log: str | None = None
    search_log: str | None = None


class JobResult(_Model):
    """result.json: training -> bot."""

    schema_version: int = SCHEMA_VERSION
    job_id: str
    status: JobStatus
    error: ErrorInfo | None = None
    file_name: str = ""
    target: str = ""
    task: TaskName | None = None
    metric: str | None = None
    time_budget_s: int = 0
    rows_total: int | None = None
    rows_used: int | None = None
    rows_dropped_missing_target: int = 0
    columns_used: list[str] = Field(default_factory=list)
    dropped_columns: list[DroppedColumn] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)
    best_estimator: str | None = None
    leaderboard: list[LeaderboardRow] = Field(default_factory=list)
    holdout_metrics: dict[str, float] = Field(default_factory=dict)
    class_metrics: list[ClassMetrics] = Field(
        default_factory=list, description="precision and recall per class on the holdout rows"
    )
    decision_threshold: DecisionThreshold | None = None
    suspected_leaks: list[SuspectedLeak] = Field(default_factory=list)
    explanations: Explanations | None = Field(
        default=None, description="what drives the best model; None when not made"
    )
    comparison: ModelComparison | None = Field(
        default=None, description="retraining: the previous model on the same holdout rows"
    )
    holdout_rows: int | None = None
    trials: int = 0
    stopped_early: bool = Field(
        default=False, description="the search converged and ended before its budget"
    )
    timings_s: dict[str, float] = Field(default_factory=dict)
    artifacts: Artifacts = Field(default_factory=Artifacts)
    report_pending: bool = Field(
        default=False,
        description="the EDA report is still being made: a `report` event follows, and the "
        "job rewrites this file with the report (or a note) when it is done",
    )
    notes: list[str] = Field(
        default_factory=list, description="things a person should know: skipped charts, sampling"
    )
    versions: dict[str, str] = Field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None


# ---- preview -------------------------------------------------------------------------------

ColumnKind = Literal[
    "number", "category", "text", "date", "boolean", "identifier", "constant", "empty"
]


class ColumnPreview(_Model):
    name: str
    kind: ColumnKind
    missing: int = Field(ge=0, description="cells without a value")
    distinct: int = Field(ge=0, description="distinct non-missing values")
    examples: list[str] = Field(default_factory=list, description="a few values, as text")


class PreviewRequest(BaseModel):
    """The preview Lambda's event (bot -> training.aws.preview_lambda.preview_handler).

    Unknown fields are ignored, not refused: the bot may send more than this side reads.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    dataset_uri: str = Field(pattern=r"^s3://[^/]+/.+", description="the copy of the file in S3")
    file_name: str = Field(min_length=1, description="the name the person gave the file")
    limits: Limits = Field(default_factory=Limits)


class DatasetPreview(_Model):
    """What the bot shows when a table is shared: written by `python -m training preview`."""

    schema_version: int = SCHEMA_VERSION
    file_name: str
    format: str = Field(description="csv, tsv, xlsx or parquet")
    rows: int = Field(ge=0)
    columns: list[ColumnPreview] = Field(default_factory=list)
    suggested_target: str | None = None
    suggested_task: TaskName | None = None
    notes: list[str] = Field(default_factory=list)


# ---- prediction ----------------------------------------------------------------------------

SHA256_PATTERN = r"^[0-9a-f]{64}$"


class PredictionSpec(_Model):
    """spec.json of a prediction job: bot -> `python -m training predict`."""

    schema_version: int = SCHEMA_VERSION
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    model_job_id: str = Field(pattern=JOB_ID_PATTERN, description="the training job's id")
    model_uri: str = Field(min_length=1, description="its model.joblib: local path or s3:// URI")
    model_sha256: str = Field(
        pattern=SHA256_PATTERN,
        description="the digest model.sig vouches for, checked by the bot: the job loads the "
        "model only if its bytes have it",
    )
    dataset_uri: str = Field(min_length=1, description="the file to score: local path or s3://")
    file_name: str = Field(min_length=1, description="the name the person gave the file")
    output_uri: str = Field(min_length=1, description="the run's folder: local path or s3:// URI")
    limits: Limits = Field(default_factory=Limits)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        return JobSpec._known_version(value)

    @property
    def time_budget_s(self) -> int:
        """How long scoring may take (the events' budget; launchers stop it after that)."""
        return PREDICTION_TIME_BUDGET_S


# Scoring a file within the input limits takes seconds to a few minutes; the launchers stop a
# prediction job after this (plus their margin), as they stop training at its budget.
PREDICTION_TIME_BUDGET_S = 900

PredictionWarningKind = Literal[
    "extra_columns", "unseen_categories", "out_of_range", "reasons", "note"
]


class PredictionWarning(_Model):
    """Something a person should know about the scored file, in one sentence."""

    kind: PredictionWarningKind
    columns: list[str] = Field(default_factory=list, description="the columns it is about")
    sentence: str = Field(min_length=1)


class ClassCount(_Model):
    label: str
    rows: int = Field(ge=0)


class PredictionResult(_Model):
    """prediction.json: training -> bot, written last by a prediction job."""

    schema_version: int = SCHEMA_VERSION
    job_id: str
    model_job_id: str = ""
    status: JobStatus
    error: ErrorInfo | None = None
    file_name: str = ""
    target: str = ""
    task: TaskName | None = None
    rows_scored: int = Field(default=0, ge=0)
    class_counts: list[ClassCount] = Field(
        default_factory=list, description="classification: rows per predicted class, most first"
    )
    quantiles: dict[str, float] = Field(
        default_factory=dict,
        description="regression: the predicted values' min, p10, p50 (median), p90 and max",
    )
    warnings: list[PredictionWarning] = Field(default_factory=list)
    predictions_csv: str | None = Field(
        default=None, description="the scored rows, relative to the run folder"
    )
    with_reasons: bool = Field(default=False, description="the CSV has a `reasons` column")
    timings_s: dict[str, float] = Field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
