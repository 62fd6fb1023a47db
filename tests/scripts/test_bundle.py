"""`make bundle`: the bot's Lambda package is built, checked from the zip's contents alone,
and stays small."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

MB = 1024 * 1024


@pytest.mark.slow
def test_the_bundle_answers_slack_from_its_own_contents(tmp_path: Path) -> None:
    out = tmp_path / "bot-lambda.zip"
    # The script builds the app and answers a signed request from the unpacked files before
    # it zips them (see bundle_bot.check): exit 0 means the bundle works on its own.
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bundle_bot.py"), "--out", str(out),
         "--build-dir", str(tmp_path / "build")],
        check=True,
    )  # fmt: skip
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
    assert "bot/aws_lambda/bot_handler.py" in names
    assert {"contract/jobs.py", "contract/run_folder.py", "contract/aws.py"} <= names
    assert not any(
        n.startswith(("pandas/", "numpy/", "flaml/", "plotly/", "boto3/")) for n in names
    )
    assert not any(n.startswith(("bot/console/", "uvicorn/")) for n in names)
    assert "bot/backends/local/launcher.py" not in names  # Lambda runs no local jobs
    assert not any(n.startswith("training/") for n in names)  # only the contract crosses over
    assert out.stat().st_size < 5 * MB
