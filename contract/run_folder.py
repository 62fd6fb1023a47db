"""Where a job's files are: the data folder's layout and the names of a run's files.

The data folder is a local directory (the local backend) or the S3 bucket (the aws
backend), laid out the same way::

    datasets/<job_id>/<file name>   the table, as fetched from Slack
    runs/<job_id>/...               the run folder: the files below

The bot writes the spec and reads the result and the events; the job writes the rest.
`JobResult.artifacts` names the files a run produced, relative to its folder.

A prediction job (`python -m training predict`) has a run folder of its own, beside its
model's: `spec.json` (a `PredictionSpec`), `events.jsonl`, `run.log`, `job.log` (local),
`predictions.csv` and `prediction.json` (the `PredictionResult`, written last). Its file is
in `datasets/<job_id>/`; it reads the model from `runs/<model_job_id>/model.joblib`. A
`result.json` there is the bot's: the job ended before it ran (the file could not be fetched).
"""

from __future__ import annotations

from typing import Final

DATASETS_DIR: Final = "datasets"
RUNS_DIR: Final = "runs"

SPEC_FILE: Final = "spec.json"  # the `JobSpec`, written by the bot (or `automl train`)
RESULT_FILE: Final = "result.json"  # the `JobResult`, written last
EVENTS_FILE: Final = "events.jsonl"  # one event per line, as they happen
RUN_LOG_FILE: Final = "run.log"  # the job's own log (INFO and up)
JOB_LOG_FILE: Final = "job.log"  # the job's stderr, kept by the local launcher
SEARCH_LOG_FILE: Final = "search_log.jsonl"  # every trial of the search
LEADERBOARD_FILE: Final = "leaderboard.csv"
REPORT_FILE: Final = "report.html"
MODEL_FILE: Final = "model.joblib"  # a `training.pipeline.model.TrainedModel`
MODEL_SIGNATURE_FILE: Final = "model.sig"  # the bot's (or CLI's) signature of its SHA-256
PREDICTIONS_FILE: Final = "predictions.csv"  # a prediction job's scored rows
PREDICTION_RESULT_FILE: Final = "prediction.json"  # a `PredictionResult`, written last
CHARTS_DIR: Final = "charts"  # the chart images, `charts/<name>.png`
# The explanation charts, `charts/<name>.png`: mean contribution per column, then how the
# three strongest columns' values move the prediction (`<prefix>1` … `<prefix>3`).
EXPLANATION_CHART: Final = "explanation_importance"
DEPENDENCE_CHART_PREFIX: Final = "explanation_dependence_"
