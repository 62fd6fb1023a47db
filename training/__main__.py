"""The container's entry point: `python -m training run SPEC` (a path or an s3:// URI).

`python -m training predict SPEC` scores a file with a trained model (a `PredictionSpec`;
training/predict_job.py), with the same events, staging and exit codes.

Events go to stdout as JSON lines (the local runner reads them); logs go to stderr. With
`AUTOML_EVENT_BUS` set (the Batch job definition sets it) they go to EventBridge too. When
the spec's dataset or output URI is `s3://`, the job downloads the one and uploads the run
folder to the other (training/input/staging.py).

`python -m training preview PATH [--name NAME]` prints a `DatasetPreview` as JSON on stdout
(exit 0), or `{"error": {"code", "message", "hint"}}` for a file it cannot read (exit 2).
The bot runs it as a subprocess, so the bot's own process never imports pandas.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from common.logs import JSON, configure_logging, set_process_log_context
from contract import environment as env
from contract import exit_codes
from contract.jobs import JobSpec, Limits, PredictionSpec

if TYPE_CHECKING:
    from training.outputs.events import EventSink

# Set (to anything): say on stderr which heavy modules were imported before the job began;
# the tests use it to tell a job forked by training.warm_worker from a cold start.
LOG_PRELOADED_ENV = "AUTOML_LOG_PRELOADED"
HEAVY_MODULES = ("pandas", "sklearn", "lightgbm", "xgboost", "flaml")

Spec = TypeVar("Spec", JobSpec, PredictionSpec)


def main(argv: list[str] | None = None) -> int:
    if os.environ.get(LOG_PRELOADED_ENV):
        loaded = [name for name in HEAVY_MODULES if name in sys.modules]
        print(f"preloaded modules: {' '.join(loaded) or 'none'}", file=sys.stderr, flush=True)
    parser = argparse.ArgumentParser(prog="python -m training")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the training job described by a spec.json")
    run.add_argument("spec", help="spec.json: a local path or an s3:// URI")
    predict = commands.add_parser("predict", help="score a file with the model a spec names")
    predict.add_argument("spec", help="a prediction's spec.json: a local path or an s3:// URI")
    preview = commands.add_parser("preview", help="describe a table file as JSON")
    preview.add_argument("path", type=Path)
    preview.add_argument("--name", help="the file's name as the person gave it")
    preview.add_argument("--max-file-mb", type=float, default=Limits().max_file_mb)
    preview.add_argument("--max-columns", type=int, default=Limits().max_columns)
    preview.add_argument("--max-cells", type=int, default=Limits().max_cells)
    preview.add_argument("--max-unpacked-mb", type=float, default=Limits().max_unpacked_mb)
    args = parser.parse_args(argv)

    if os.environ.get(env.BATCH_JOB_ID):
        # On AWS Batch stderr is CloudWatch, the operator's view: INFO, as JSON lines.
        configure_logging(level=logging.INFO, output=JSON)
    else:
        # The run's log file records INFO. The local launcher shows the last lines of stderr
        # to the person (job.log): warnings in text, whatever the bot's own log is set to.
        configure_logging(stderr_level=logging.WARNING, from_environment=False)
    if args.command == "preview":
        limits = Limits(
            max_file_mb=args.max_file_mb,
            max_columns=args.max_columns,
            max_cells=args.max_cells,
            max_unpacked_mb=args.max_unpacked_mb,
        )
        return _preview(args.path, args.name or args.path.name, limits)
    if args.spec.startswith("s3://"):  # imports overlap the downloads of a cold container
        from training.preload import start_background_imports

        start_background_imports()
    # One process, one job: every line says which, from whatever thread (the search's, the
    # browser's). The launcher names it on Batch before the spec is read.
    set_process_log_context(job_id=os.environ.get(env.JOB_ID) or None)
    if args.command == "predict":
        return _predict(args.spec)
    spec = _read_spec(args.spec)
    if spec is None:
        return exit_codes.BAD_INPUT
    set_process_log_context(job_id=spec.job_id)

    from training.run import RunOptions, run_job

    result = run_job(spec, RunOptions(sinks=_event_sinks()))
    return exit_codes.for_result(result)


def _predict(location: str) -> int:
    spec = _read_spec(location, PredictionSpec)
    if spec is None:
        return exit_codes.BAD_INPUT
    set_process_log_context(job_id=spec.job_id)

    from training.predict_job import run_prediction

    result = run_prediction(spec, _event_sinks())
    return exit_codes.for_result(result)


def _read_spec(location: str, model: type[Spec] = JobSpec) -> Spec | None:  # type: ignore[assignment]
    """The spec, or None after saying on stderr why it cannot be had."""
    try:
        content = _spec_bytes(location)
    except Exception as error:  # the reason is for whoever runs the job: said in one line
        print(f"error: cannot read the spec {location}: {_reason(error)}", file=sys.stderr)
        return None
    try:
        return model.model_validate_json(content)
    except ValidationError as error:
        print(f"error: {location} is not a valid job spec:\n{error}", file=sys.stderr)
        return None


def _spec_bytes(location: str) -> bytes:
    from training.aws import storage

    if storage.is_s3(location):
        return storage.read_bytes(location)
    return Path(location).read_bytes()


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _event_sinks() -> list[EventSink]:
    from training.outputs.events import JsonLinesSink

    sinks: list[EventSink] = [JsonLinesSink.to_stdout()]
    bus = os.environ.get(env.EVENT_BUS, "").strip()
    if bus:
        from training.aws.eventbridge import EventBridgeSink

        sinks.append(EventBridgeSink(bus))
    return sinks


def _preview(path: Path, name: str, limits: Limits) -> int:
    from training.errors import InputError
    from training.preview import preview_table

    try:
        preview = preview_table(path, name, limits=limits)
    except InputError as error:
        _write_stdout(json.dumps({"error": error.info().model_dump()}, ensure_ascii=False))
        return exit_codes.BAD_INPUT
    _write_stdout(preview.model_dump_json())
    return exit_codes.SUCCEEDED


def _write_stdout(text: str) -> None:
    # UTF-8 bytes whatever the locale: column names and messages are rarely pure ASCII.
    sys.stdout.buffer.write(text.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    sys.exit(main())
