"""`make deploy` / `make destroy` (scripts/deploy.py, infra/deploy/): the Slack secrets against
moto's Secrets Manager, the manifest from the real template, the CDK CLI faked at the
subprocess boundary (it cannot reach AWS here)."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from infra.config import DeployConfig
from infra.deploy import cdk_cli
from infra.deploy.manifest import ManifestProblem, filled_manifest
from infra.deploy.secrets import SecretProblem, ensure_secrets, slack_secrets

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "infra" / "slack-manifest.yaml"
URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/slack/events"
TOKEN = "xoxb-1111-2222-do-not-print-me"
SIGNING = "0123456789abcdef-signing-do-not-print"


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_script", REPO_ROOT / "scripts/deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


deploy_script = _load_script()


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")


class FakeCdk:
    """The CDK CLI at the subprocess boundary: records the command, writes its outputs file."""

    def __init__(self, *, url: str | None = URL, returncode: int = 0) -> None:
        self.url, self.returncode = url, returncode
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, command: Sequence[str], env: Mapping[str, str]) -> int:
        self.calls.append((list(command), dict(env)))
        if "--outputs-file" in command and self.url:
            stack = command[command.index("deploy") + 1]
            out = Path(command[command.index("--outputs-file") + 1])
            out.write_text(json.dumps({stack: {"SlackRequestUrl": self.url, "BucketName": "b"}}))
        return self.returncode


def _paths(config: DeployConfig, tmp_path: Path, *, bundle: bool = True) -> Any:
    bundle_path = tmp_path / "bot-lambda.zip"
    if bundle:
        bundle_path.write_bytes(b"PK")
    return deploy_script.paths_for(config, dist=tmp_path / "dist", bundle=bundle_path)


def _deploy(config: DeployConfig, tmp_path: Path, client: Any, **overrides: Any) -> Any:
    said: list[str] = []
    kwargs: dict[str, Any] = {
        "secrets_client": client,
        "run": FakeCdk(),
        "paths": overrides.get("paths") or _paths(config, tmp_path),
        "environ": {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING},
        "ask": None,
        "say": said.append,
        "approve": True,
        "cdk": ["cdk"],
    }
    kwargs.update(overrides)
    url = deploy_script.deploy(config, **kwargs)
    return url, said, kwargs


# --- secrets ----------------------------------------------------------------------------------


def test_missing_secrets_are_created_from_the_environment_and_never_shown(
    secretsmanager: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # botocore's DEBUG echoes requests: nothing here enables it
    config = DeployConfig(stage="staging")
    url, _, _ = _deploy(config, tmp_path, secretsmanager, say=print)
    out = capsys.readouterr()
    shown = out.out + out.err + caplog.text
    assert url == URL
    stored = {
        name: secretsmanager.get_secret_value(SecretId=name)["SecretString"]
        for name in ("automl/slack-bot-token-staging", "automl/slack-signing-secret-staging")
    }
    assert stored == {
        "automl/slack-bot-token-staging": TOKEN,
        "automl/slack-signing-secret-staging": SIGNING,
    }
    assert "automl/slack-bot-token-staging: created from SLACK_BOT_TOKEN" in shown
    for secret in (TOKEN, SIGNING, "do-not-print"):
        assert secret not in shown


def test_existing_secrets_are_left_alone(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="automl/slack-bot-token", SecretString="xoxb-old")
    secretsmanager.create_secret(Name="automl/slack-signing-secret", SecretString="old")
    said: list[str] = []
    config = DeployConfig()
    ensure_secrets(
        secretsmanager,
        slack_secrets(config.bot_token_secret, config.signing_secret_secret),
        environ={"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING},
        ask=None,
        say=said.append,
    )
    value = secretsmanager.get_secret_value(SecretId="automl/slack-bot-token")["SecretString"]
    assert value == "xoxb-old"
    assert said == [
        "secret automl/slack-bot-token: found",
        "secret automl/slack-signing-secret: found",
    ]


def test_a_missing_value_is_asked_for_without_echo_or_explained(secretsmanager: Any) -> None:
    config = DeployConfig()
    secrets = slack_secrets(config.bot_token_secret, config.signing_secret_secret)
    prompts: list[str] = []

    def ask(prompt: str) -> str:  # getpass's place: what it returns is never shown
        prompts.append(prompt)
        return TOKEN if "SLACK_BOT_TOKEN" in prompt else SIGNING

    said: list[str] = []
    ensure_secrets(secretsmanager, secrets, environ={}, ask=ask, say=said.append)
    assert len(prompts) == 2 and all("not shown" in p for p in prompts)
    assert said[0] == "secret automl/slack-bot-token: created from the prompt"
    assert not any(TOKEN in line or SIGNING in line for line in said)

    secretsmanager.delete_secret(SecretId="automl/slack-bot-token", ForceDeleteWithoutRecovery=True)
    with pytest.raises(SecretProblem, match="Set SLACK_BOT_TOKEN") as caught:
        ensure_secrets(secretsmanager, secrets, environ={}, ask=None, say=said.append)
    assert "automl/slack-bot-token" in str(caught.value)


def test_a_value_of_the_wrong_kind_is_refused_without_quoting_it(secretsmanager: Any) -> None:
    config = DeployConfig()
    user_token = "xoxp-a-user-token-not-to-print"
    with pytest.raises(SecretProblem, match="does not start with xoxb-") as caught:
        ensure_secrets(
            secretsmanager,
            slack_secrets(config.bot_token_secret, config.signing_secret_secret),
            environ={"SLACK_BOT_TOKEN": user_token, "SLACK_SIGNING_SECRET": SIGNING},
            ask=None,
            say=lambda _: None,
        )
    assert user_token not in str(caught.value)
    assert secretsmanager.list_secrets()["SecretList"] == []


# --- the manifest -----------------------------------------------------------------------------


def test_the_manifest_gets_the_request_url_in_its_three_places() -> None:
    filled = yaml.safe_load(filled_manifest(TEMPLATE.read_text(encoding="utf-8"), URL))
    assert filled["features"]["slash_commands"][0]["url"] == URL
    assert filled["settings"]["event_subscriptions"]["request_url"] == URL
    assert filled["settings"]["interactivity"]["request_url"] == URL
    assert "YOUR-BOT-HOST" not in json.dumps(filled)
    with pytest.raises(ManifestProblem, match="1 times, not 3"):
        filled_manifest("url: https://YOUR-BOT-HOST/slack/events", URL)
    with pytest.raises(ManifestProblem, match="https://"):
        filled_manifest(TEMPLATE.read_text(encoding="utf-8"), "http://plain")


# --- the flow ---------------------------------------------------------------------------------


def test_deploy_runs_cdk_for_the_stage_and_writes_a_ready_manifest(
    secretsmanager: Any, tmp_path: Path
) -> None:
    cdk = FakeCdk()
    config = DeployConfig(stage="staging", alarm_email="ops@example.com")
    url, _, kwargs = _deploy(config, tmp_path, secretsmanager, run=cdk, approve=False)
    ((command, env),) = cdk.calls
    outputs = tmp_path / "dist" / "cdk-outputs-staging.json"
    assert command == [
        "cdk",
        "deploy",
        "AutomlBot-staging",
        "-c",
        "automl:stage=staging",
        "-c",
        "automl:alarm_email=ops@example.com",
        "--outputs-file",
        str(outputs),
    ]
    assert env == {"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"}
    manifest = kwargs["paths"].manifest
    assert manifest == tmp_path / "dist" / "slack-manifest-staging.yaml"
    assert yaml.safe_load(manifest.read_text())["settings"]["interactivity"]["request_url"] == URL
    steps = deploy_script.next_steps(config, url, REPO_ROOT / "dist" / "slack-manifest.yaml")
    assert URL in steps and "dist/slack-manifest.yaml" in steps


def test_deploy_stops_before_anything_without_the_bundle(
    secretsmanager: Any, tmp_path: Path
) -> None:
    cdk = FakeCdk()
    config = DeployConfig()
    with pytest.raises(deploy_script.DeployProblem, match="make bundle"):
        _deploy(
            config, tmp_path, secretsmanager, run=cdk, paths=_paths(config, tmp_path, bundle=False)
        )
    assert cdk.calls == []
    assert secretsmanager.list_secrets()["SecretList"] == []


def test_a_failed_cdk_deploy_says_so_and_writes_no_manifest(
    secretsmanager: Any, tmp_path: Path
) -> None:
    config = DeployConfig()
    with pytest.raises(deploy_script.DeployProblem, match="bootstrap"):
        _deploy(config, tmp_path, secretsmanager, run=FakeCdk(url=None, returncode=1))
    assert not (tmp_path / "dist" / "slack-manifest.yaml").exists()


def test_destroy_runs_cdk_destroy_of_the_stage(tmp_path: Path) -> None:
    cdk = FakeCdk()
    deploy_script.destroy(
        DeployConfig(stage="qa"), run=cdk, say=lambda _: None, force=True, cdk=["cdk"]
    )
    assert cdk.calls == [
        (["cdk", "destroy", "AutomlBot-qa", "-c", "automl:stage=qa", "--force"], {})
    ]


def test_the_cli_refuses_a_bad_stage_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_script.main(["deploy", "--stage", "Bad Stage"]) == 2
    assert "automl:stage must be lowercase" in capsys.readouterr().err


def test_cdk_runs_through_npx_unless_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cdk_cli.shutil, "which", lambda name: None)
    assert cdk_cli.cdk_executable() == ["npx", "--yes", "aws-cdk@2"]
    monkeypatch.setattr(cdk_cli.shutil, "which", lambda name: "/usr/bin/cdk")
    assert cdk_cli.cdk_executable() == ["/usr/bin/cdk"]
