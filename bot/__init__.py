"""The Slack-facing side: listeners, messages, job service, backends, web app, CLI.

A request: a listener (`listeners/`) parses it (`command_parser`) and hands it to
`command_dispatcher` or straight to the `service`, which records, stages and launches a job.
A job's status changes only in `lifecycle`; a launcher's reports reach `job_events`, which
asks the lifecycle to move the job and the `notifier` to show it, with the words of
`messages/`.

Import nothing heavy here: this package is the Lambda's import path.
"""
