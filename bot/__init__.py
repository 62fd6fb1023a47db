"""The Slack-facing side: listeners, messages, job service, backends, web app, CLI.

Import nothing heavy here: this package is the Lambda's import path.
"""
