"""One prediction job from spec to prediction.json: `python -m training predict SPEC`.

Reads the file as training does (same reader, same limits), loads the model only if its bytes
have the digest the bot verified from model.sig, checks the file against what the model saw
(`training.pipeline.scoring_checks`), scores every row with its reasons, and writes
`predictions.csv` then `prediction.json`. It emits the events training does. Every run ends
with prediction.json and a `finished` event: bad input (a missing column, a tampered model)
gives `failed` with a sentence; SIGTERM gives `interrupted`; a bug gives `internal_error`.
"""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.files import write_atomically
from common.memory import memory_limit_mb
from contract.jobs import (
    ErrorInfo,
    FinishedEvent,
    PredictionResult,
    PredictionSpec,
    ProgressEvent,
    StartedEvent,
    utc_now,
)
from contract.run_folder import (
    EVENTS_FILE,
    MODEL_FILE,
    PREDICTION_RESULT_FILE,
    PREDICTIONS_FILE,
    RUN_LOG_FILE,
    SPEC_FILE,
)
from training.errors import InputError, disk_full, internal_error, is_disk_full
from training.input.limits import out_of_memory
from training.input.staging import Staging, open_staging
from training.outputs.events import EventEmitter, EventSink, JsonLinesSink
from training.outputs.run_log import run_log

if TYPE_CHECKING:
    import pandas as pd

    from training.pipeline.model import TrainedModel

log = logging.getLogger(__name__)

# The reasons column is left out (with a warning) when it would take longer than this.
REASONS_SECONDS = 120.0


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived: the job stops where it is (a BaseException, so code that
    catches Exception on the way, such as the reasons', does not swallow it)."""


def run_prediction(
    spec: PredictionSpec, sinks: list[EventSink] | None = None, *, handle_signals: bool = True
) -> PredictionResult:
    return _Prediction(spec, sinks or [], handle_signals).execute()


class _Prediction:
    def __init__(self, spec: PredictionSpec, sinks: list[EventSink], handle_signals: bool) -> None:
        self.spec = spec
        self.sinks = sinks
        self.handle_signals = handle_signals
        self.staging: Staging = open_staging(spec)
        self.run_dir = self.staging.run_dir
        self.t0 = time.monotonic()
        self.emitter = EventEmitter([])
        self.result = PredictionResult(
            job_id=spec.job_id,
            model_job_id=spec.model_job_id,
            status="failed",
            file_name=spec.file_name,
            started_at=utc_now(),
        )

    def execute(self) -> PredictionResult:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(self.run_dir / SPEC_FILE, self.spec.model_dump_json(indent=2))
        self.emitter = EventEmitter(
            [JsonLinesSink.to_file(self.run_dir / EVENTS_FILE), *self.sinks]
        )
        with run_log(self.run_dir / RUN_LOG_FILE), self._signals():
            self.emitter.emit(
                StartedEvent(
                    job_id=self.spec.job_id,
                    time_budget_s=self.spec.time_budget_s,
                    file_name=self.spec.file_name,
                )
            )
            try:
                self._stages()
                self.result.status = "succeeded"
            except InputError as error:
                log.info("bad input: %s (%s)", error.message, error.code)
                self.result.error = error.info()
            except Stopped as stopped:
                log.warning("stopped by %s", stopped)
                self.result.status = "interrupted"
                self.result.predictions_csv = None
                self.result.error = ErrorInfo(
                    code="interrupted",
                    message="The scoring was stopped before it finished, so no CSV was written.",
                    hint="Ask for the prediction again.",
                )
            except MemoryError:
                log.exception("out of memory")
                self.result.error = out_of_memory(self.spec.file_name, memory_limit_mb()).info()
            except Exception as error:
                log.exception("the prediction failed")
                self.result.error = (
                    disk_full() if is_disk_full(error) else internal_error(self.spec.job_id)
                )
            finally:
                self._finish()
        return self.result

    # -- stages -------------------------------------------------------------------------------

    def _stages(self) -> None:
        from training.input.reading import read_table_within

        limits = self.spec.limits
        with self._stage("load"):
            frame = read_table_within(self.staging.dataset_path(), self.spec.file_name, limits)
            model = self._load_model()
        self.result.target = model.target
        self.result.task = model.task
        with self._stage("check"):
            checks = model.check_rows(frame)  # refuses a file without the columns it needs
        with self._stage("score"):
            sentences = list(checks.sentences)  # scoring adds what it has to say about reasons
            predictions = model.scored_table(frame, sentences, seconds=REASONS_SECONDS)
        with self._stage("save"):
            self._write_csv(frame, predictions)
            self._summarise(model, predictions, checks, sentences)

    def _load_model(self) -> TrainedModel:
        from training.aws import storage
        from training.pipeline.model import TrainedModel

        uri = self.spec.model_uri
        try:
            if not storage.is_s3(uri):
                return TrainedModel.load(Path(uri), sha256=self.spec.model_sha256)
            with tempfile.TemporaryDirectory(prefix="automl-model-") as folder:
                path = storage.download(uri, Path(folder) / MODEL_FILE)
                return TrainedModel.load(path, sha256=self.spec.model_sha256)
        except storage.ObjectNotFound:
            raise _model_gone(self.spec.model_job_id) from None
        except InputError as error:
            # Its sentences name a path on this machine; say it with the job's id instead.
            if error.code == "model_tampered":
                raise _model_tampered(self.spec.model_job_id) from None
            if error.code == "model_not_found":
                raise _model_gone(self.spec.model_job_id) from None
            raise

    def _write_csv(self, frame: pd.DataFrame, predictions: pd.DataFrame) -> None:
        from training.outputs.spreadsheet import safe_frame

        # A file that has a column named like an output keeps it; the output is renamed.
        clash = {c: f"{c} (predicted)" for c in predictions.columns if c in frame.columns}
        table = safe_frame(frame.join(predictions.rename(columns=clash)))
        partial = self.run_dir / f".{PREDICTIONS_FILE}.partial"
        table.to_csv(partial, index=False)
        partial.replace(self.run_dir / PREDICTIONS_FILE)  # readers never see half a file
        self.result.predictions_csv = PREDICTIONS_FILE
        self.result.rows_scored = len(table)

    def _summarise(
        self,
        model: TrainedModel,
        predictions: pd.DataFrame,
        checks: Any,
        sentences: list[str],
    ) -> None:
        from training.pipeline.model import REASONS_COLUMN
        from training.prediction_summary import class_counts, quantiles, structured_warnings

        predicted = predictions[f"predicted_{model.target}"]
        if model.task == "regression":
            self.result.quantiles = quantiles(predicted)
        else:
            self.result.class_counts = class_counts(predicted)
        self.result.warnings = structured_warnings(model, checks, sentences)
        self.result.with_reasons = REASONS_COLUMN in predictions.columns

    # -- the end, events, signals ---------------------------------------------------------------

    def _finish(self) -> None:
        self.result.finished_at = utc_now()
        self.result.timings_s["total"] = round(time.monotonic() - self.t0, 3)
        try:
            write_atomically(
                self.run_dir / PREDICTION_RESULT_FILE, self.result.model_dump_json(indent=2)
            )
            self.emitter.emit(
                FinishedEvent(
                    job_id=self.spec.job_id,
                    status=self.result.status,
                    result_path=self.staging.location(PREDICTION_RESULT_FILE),
                    error_code=self.result.error.code if self.result.error else None,
                )
            )
            self.staging.publish(last=PREDICTION_RESULT_FILE)
        except Exception:
            # Without prediction.json the bot learns the end from the exit (or Batch).
            log.exception("could not publish the prediction to %s", self.spec.output_uri)
            self.result.status = "failed"
            self.result.error = internal_error(self.spec.job_id)
        finally:
            self.staging.close()

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        self.emitter.emit(
            ProgressEvent(
                job_id=self.spec.job_id,
                stage=name,
                elapsed_s=round(time.monotonic() - self.t0, 2),
                budget_s=self.spec.time_budget_s,
            )
        )
        started = time.monotonic()
        try:
            yield
        finally:
            self.result.timings_s[name] = round(time.monotonic() - started, 3)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, _frame: object) -> None:
            raise Stopped(signal.Signals(signum).name)

        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _model_gone(model_job_id: str) -> InputError:
    return InputError(
        "model_not_found",
        f"The model of job {model_job_id} is no longer stored, so nothing was scored.",
        "Train a model again on the training file, then predict with the new job's id.",
    )


def _model_tampered(model_job_id: str) -> InputError:
    return InputError(
        "model_tampered",
        f"The model file of job {model_job_id} has changed since it was signed, so it was "
        "not loaded and nothing was scored.",
        "Train the model again; tell whoever runs the bot, as nobody but the job should "
        "change a stored model.",
    )
