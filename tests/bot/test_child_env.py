"""What the local backend's children may see of the bot's environment, and one preview at a
time per person."""

from __future__ import annotations

from pathlib import Path

from bot.backends.local.child_env import child_environment
from bot.backends.local.job_store import SqliteJobStore
from bot.preview_turns import PreviewTurns


def test_secrets_and_credentials_stay_in_the_bot() -> None:
    bot = {
        "SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "x", "SLACK_APP_TOKEN": "x",
        "SLACK_API_URL": "x", "GITHUB_TOKEN": "x", "DB_PASSWORD": "x", "AUTOML_LINK_KEY": "x",
        "AWS_ACCESS_KEY_ID": "x", "AWS_PROFILE": "x", "my_secret_thing": "x",
        "PATH": "/usr/bin", "HOME": "/root", "PYTHONPATH": "/work", "AUTOML_DATA_DIR": "d",
    }  # fmt: skip
    assert child_environment(bot) == {
        "PATH": "/usr/bin", "HOME": "/root", "PYTHONPATH": "/work", "AUTOML_DATA_DIR": "d",
    }  # fmt: skip


def test_one_preview_at_a_time_per_person(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.sqlite")
    turns = PreviewTurns(store)
    with turns.take("U1") as first:
        with turns.take("U1") as second, turns.take("U2") as other:
            assert (first, second, other) == (True, False, True)
        with turns.take("U1") as third:
            assert not third  # the second share ending does not free the first's turn
    with turns.take("U1") as later:
        assert later
    # Another process (another store on the same file) sees the same turns.
    with turns.take("U1"), PreviewTurns(SqliteJobStore(tmp_path / "jobs.sqlite")).take("U1") as b:
        assert not b
