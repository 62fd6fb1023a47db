"""`automl serve | socket | shell` as a person starts them: real processes, real output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_CHURN

AUTOML = [sys.executable, "-m", "bot.cli"]


def run(
    args: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUTOML_"))}
    clean.update(env)
    return subprocess.run(
        [*AUTOML, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env from the repository
        env={**clean, "PYTHONPATH": str(REPO)},
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("mode", "missing"),
    [("serve", ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]), ("socket", ["SLACK_APP_TOKEN"])],
)
def test_missing_settings_are_named_not_traced(
    mode: str, missing: list[str], tmp_path: Path
) -> None:
    done = run([mode], tmp_path)
    assert done.returncode == 2
    for name in missing:
        assert name in done.stderr
    assert "Traceback" not in done.stderr


def test_a_token_of_the_wrong_kind_is_explained(tmp_path: Path) -> None:
    done = run(["serve"], tmp_path, SLACK_BOT_TOKEN="xapp-1-abc", SLACK_SIGNING_SECRET="s")
    assert done.returncode == 2
    assert "xoxb-" in done.stderr and "xapp-1-abc" not in done.stderr  # secrets never echoed


@pytest.mark.slow
def test_the_shell_replays_a_conversation(tmp_path: Path) -> None:
    conversation = "\n".join(
        [
            "# a comment is skipped",
            f"upload {SAMPLE_CHURN}",
            "/automl help",
            "/automl train target=churned time=6s",
            "wait",
            "/automl status",
            "nonsense",
        ]
    )
    done = run(["shell"], tmp_path, conversation, AUTOML_DATA_DIR=str(tmp_path / "data"))
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "Suggested target" in out  # the preview
    assert "Leaderboard" in out and "Results: churn.csv" in out
    assert "saved" in out and list((tmp_path / "data" / "console-files").glob("*.png"))
    assert "I don't know" in out  # an unknown console command is answered
    assert "Traceback" not in out + done.stderr
