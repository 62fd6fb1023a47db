"""Where a job's files are: the data folder's layout and the names of a run's files.

The data folder is a local directory (the local backend) or the S3 bucket (the aws
backend), laid out the same way::

    datasets/<job_id>/<file name>   the table, as fetched from Slack
    runs/<job_id>/...               the run folder: the files below

The bot writes the spec and reads the result and the events; the job writes the rest.
`JobResult.artifacts` names the files a run produced, relative to its folder.
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
CHARTS_DIR: Final = "charts"  # the chart images, `charts/<name>.png`
