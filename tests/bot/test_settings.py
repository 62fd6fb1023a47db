"""Settings: defaults, parsing, and messages a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

VARIABLES = [
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "AUTOML_BACKEND",
    "AUTOML_DATA_DIR",
    "AUTOML_PUBLIC_URL",
    "AUTOML_MAX_FILE_MB",
    "AUTOML_MAX_COLUMNS",
    "AUTOML_DEFAULT_TIME_BUDGET_S",
    "AUTOML_MAX_TIME_BUDGET_S",
    "AUTOML_MAX_CONCURRENT_JOBS",
    "AUTOML_MAX_JOBS_PER_USER",
    "AUTOML_ALLOWED_CHANNELS",
    "AUTOML_ALLOWED_USERS",
    "AUTOML_LINK_EXPIRY_HOURS",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout


def test_defaults() -> None:
    settings = load_settings()
    assert settings.backend == "local"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.public_url == "http://localhost:3000"
    assert settings.data_dir == Path("automl-data")
    assert settings.slack_bot_token is None
    assert settings.default_time_budget_s <= settings.max_time_budget_s
    assert settings.max_jobs_per_user <= settings.max_concurrent_jobs
    assert settings.channel_allowed("C1") and settings.user_allowed("U1")
    assert settings.db_path == Path("automl-data") / "jobs.sqlite3"


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-3")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    monkeypatch.setenv("AUTOML_BACKEND", "aws")
    monkeypatch.setenv("AUTOML_PUBLIC_URL", "https://bot.example.com/")
    monkeypatch.setenv("AUTOML_ALLOWED_CHANNELS", " C1, C2 ,,")
    monkeypatch.setenv("AUTOML_MAX_FILE_MB", "2.5")
    settings = load_settings("serve")
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1-2-3"
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.public_url == "https://bot.example.com"
    assert settings.backend == "aws"
    assert settings.allowed_channels == frozenset({"C1", "C2"})
    assert settings.channel_allowed("C2") and not settings.channel_allowed("C3")
    assert settings.user_allowed("anyone")
    assert settings.max_file_bytes == int(2.5 * 1024 * 1024)


def test_reads_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=abc\nAUTOML_MAX_COLUMNS=50\n"
    )
    settings = load_settings("serve")
    assert settings.max_columns == 50
    assert settings.slack_signing_secret is not None


def test_constructed_by_attribute_name() -> None:
    settings = Settings(backend="aws", max_concurrent_jobs=4, _env_file=None)
    assert settings.backend == "aws" and settings.max_concurrent_jobs == 4


def test_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-very-secret")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-very-secret")
    settings = load_settings("serve")
    read = [settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token]
    assert [secret and secret.get_secret_value() for secret in read] == [
        "xoxb-very-secret",
        "signing-very-secret",
        "xapp-very-secret",
    ]  # they were read, and still:
    text = repr(settings) + str(settings)
    assert "very-secret" not in text


def test_missing_variables_are_named_for_serve() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings("serve")
    message = str(caught.value)
    assert "SLACK_BOT_TOKEN is not set" in message
    assert "SLACK_SIGNING_SECRET is not set" in message
    assert "xoxb-" in message  # what it should look like
    assert "SLACK_APP_TOKEN" not in message
    assert "pydantic" not in message.lower()
    assert len(caught.value.problems) == 2


def test_socket_needs_the_app_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "  ")
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN is not set") as caught:
        load_settings("socket")
    assert "SLACK_SIGNING_SECRET" not in str(caught.value)


def test_require_by_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN is not set"):
        load_settings(["SLACK_BOT_TOKEN"])
    with pytest.raises(ValueError, match="unknown setting"):
        load_settings(["NOT_A_SETTING"])


def test_invalid_values_are_all_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xapp-oops-secret")
    monkeypatch.setenv("AUTOML_BACKEND", "gcp")
    monkeypatch.setenv("AUTOML_MAX_COLUMNS", "lots")
    monkeypatch.setenv("AUTOML_PUBLIC_URL", "bot.example.com")
    with pytest.raises(SettingsError) as caught:
        load_settings("serve")
    message = str(caught.value)
    assert "AUTOML_BACKEND='gcp' is invalid" in message and "local or aws" in message
    assert "AUTOML_MAX_COLUMNS='lots' is invalid" in message
    assert "AUTOML_PUBLIC_URL='bot.example.com' is invalid" in message
    assert "SLACK_BOT_TOKEN is invalid" in message and "xoxb-" in message
    assert "oops-secret" not in message  # a wrong secret is still a secret
    assert "SLACK_SIGNING_SECRET is not set" in message  # missing ones are listed as well
    assert "Traceback" not in message and "validation error" not in message


def test_inconsistent_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_DEFAULT_TIME_BUDGET_S", "600")
    monkeypatch.setenv("AUTOML_MAX_TIME_BUDGET_S", "60")
    with pytest.raises(SettingsError, match="AUTOML_DEFAULT_TIME_BUDGET_S \\(600\\) is more"):
        load_settings()


def test_out_of_range_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_MAX_CONCURRENT_JOBS", "0")
    with pytest.raises(SettingsError, match="AUTOML_MAX_CONCURRENT_JOBS='0' is invalid"):
        load_settings()
