"""Sentences for what the AWS deployment recovers on its own: lost jobs, failed lazy work."""

from __future__ import annotations

LOST_JOB = (
    "AWS Batch has no running job for this request any more (it was lost on the way), "
    "so it has been ended. Try again."
)
LAZY_WORK_FAILED = (
    "Sorry, something went wrong while I worked on your request, and it was not finished. "
    "Try again in a minute; if it keeps happening, tell whoever runs this bot."
)
