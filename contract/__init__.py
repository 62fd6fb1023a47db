"""The contract between the bot, the training job and the AWS stack: every value that crosses
from one to another is defined here, once, and imported by `bot/`, `training/` and `infra/`.

- `jobs`: the versioned JSON models: spec.json, the events, result.json, the preview.
- `tasks`, `metrics`: task names, and metric names as people read them.
- `wording`: what a result says to a person, worded once for Slack and the terminal.
- `run_folder`: the data folder's layout and the names of a run's files.
- `exit_codes`: what the job's exit status means (AWS Batch retries on it).
- `environment`: the environment variables one side sets and another reads.
- `aws`: EventBridge sources and detail types, S3 prefixes, fixed resource names, prices.

The rule: this package imports pydantic and the standard library, nothing else. The bot's
Lambda bundle carries it, the training image installs it, and the CDK app imports it; and
this file imports none of its modules, so `infra` never loads pydantic through it.
"""
