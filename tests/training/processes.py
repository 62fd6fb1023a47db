"""Watching a training job run as a process, for the tests that stop it mid-search."""

from __future__ import annotations

import subprocess

import pytest

from contract.jobs import parse_event


def wait_for_trials(process: subprocess.Popen[str], minimum: int) -> None:
    """Read the job's events on stdout until its search has run `minimum` trials."""
    assert process.stdout is not None
    for line in process.stdout:
        event = parse_event(line)
        if event.type == "progress" and event.stage == "search" and event.trials >= minimum:
            return
        assert event.type != "finished", "the job ended before it could be interrupted"
    pytest.fail("no search progress before the job ended")
