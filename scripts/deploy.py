"""`make deploy` and `make destroy`: the whole AWS deployment of one stage, in one command.

    python scripts/deploy.py deploy [--stage staging] [--alarm-email ops@example.com] [--yes]
    python scripts/deploy.py destroy [--stage staging] [--yes]

deploy: checks the bot's bundle is built (`make deploy` builds it first), checks the stage's
two Slack secrets exist in Secrets Manager or creates them (from SLACK_BOT_TOKEN and
SLACK_SIGNING_SECRET, or a prompt that does not echo), runs `cdk deploy` for the stage's
stack, then writes `dist/slack-manifest[-<stage>].yaml` with the request URL filled in and
prints what to do with it. destroy: `cdk destroy` of the stage's stack; the bucket, the job
table and the secrets are kept (README, "Deploying to AWS").

AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, ...).
"""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script, from the Makefile
    sys.path.insert(0, str(REPO_ROOT))

from infra.config import BOT_BUNDLE, DeployConfig  # noqa: E402
from infra.deploy import cdk_cli  # noqa: E402
from infra.deploy.manifest import ManifestProblem, write_manifest  # noqa: E402
from infra.deploy.secrets import SecretProblem, ensure_secrets, slack_secrets  # noqa: E402

MANIFEST_TEMPLATE = REPO_ROOT / "infra" / "slack-manifest.yaml"
DIST = REPO_ROOT / "dist"

Run = Callable[[Sequence[str], Mapping[str, str]], int]


class DeployProblem(Exception):
    """Why the deploy stopped, in a sentence a person can act on."""


@dataclass(frozen=True)
class Paths:
    bundle: Path
    outputs: Path
    manifest: Path


def paths_for(config: DeployConfig, dist: Path = DIST, bundle: Path = BOT_BUNDLE) -> Paths:
    suffix = "" if config.is_default_stage else f"-{config.stage}"
    return Paths(
        bundle=bundle,
        outputs=dist / f"cdk-outputs{suffix}.json",
        manifest=dist / f"slack-manifest{suffix}.yaml",
    )


def run_subprocess(command: Sequence[str], extra_env: Mapping[str, str]) -> int:
    env = {**os.environ, **extra_env}
    return subprocess.run(list(command), cwd=REPO_ROOT, env=env, check=False).returncode


def deploy(
    config: DeployConfig,
    *,
    secrets_client: Any,
    run: Run,
    paths: Paths,
    environ: Mapping[str, str],
    ask: Callable[[str], str] | None,
    say: Callable[[str], None],
    approve: bool,
    cdk: list[str],
) -> str:
    """Deploy the stage; returns its Slack request URL."""
    if not paths.bundle.is_file():
        raise DeployProblem(
            f"{paths.bundle} is missing: run `make bundle` (or `make deploy`, which builds it)."
        )
    secrets = slack_secrets(config.bot_token_secret, config.signing_secret_secret)
    ensure_secrets(secrets_client, secrets, environ=environ, ask=ask, say=say)
    paths.outputs.parent.mkdir(parents=True, exist_ok=True)
    command = cdk_cli.deploy_command(
        cdk,
        stack=config.stack_name,
        stage=config.stage,
        alarm_email=config.alarm_email or None,
        outputs_file=paths.outputs,
        approve=approve,
    )
    say(f"deploying {config.stack_name}: {' '.join(command)}")
    if run(command, cdk_cli.DEPLOY_ENV) != 0:
        raise DeployProblem(
            f"`cdk deploy` of {config.stack_name} failed (its output is above). A first "
            "deploy in an account and region needs `npx aws-cdk@2 bootstrap` once."
        )
    url = cdk_cli.request_url(paths.outputs, config.stack_name)
    write_manifest(MANIFEST_TEMPLATE, url, paths.manifest)
    return url


def destroy(
    config: DeployConfig, *, run: Run, say: Callable[[str], None], force: bool, cdk: list[str]
) -> None:
    command = cdk_cli.destroy_command(cdk, stack=config.stack_name, stage=config.stage, force=force)
    say(f"destroying {config.stack_name}: {' '.join(command)}")
    if run(command, {}) != 0:
        raise DeployProblem(f"`cdk destroy` of {config.stack_name} failed (its output is above).")


def next_steps(config: DeployConfig, url: str, manifest: Path) -> str:
    new_app = "https://api.slack.com/apps?new_app=1"
    return "\n".join(
        [
            "",
            f"Deployed {config.stack_name}. Slack's request URL: {url}",
            f"The Slack app manifest with it filled in: {manifest.relative_to(REPO_ROOT)}",
            f"  - a new app: {new_app} -> From an app manifest -> paste that file,",
            "    then Install to Workspace;",
            "  - an app that exists: App Manifest -> replace the three request URLs with the",
            "    one above (or paste the file) and save.",
            "The token and signing secret must be that app's: if you created the app just now,",
            f"update the secrets {config.bot_token_secret} and {config.signing_secret_secret}",
            "(aws secretsmanager put-secret-value) with its values.",
        ]
    )


def secrets_manager() -> Any:
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.client("secretsmanager")
    except NoRegionError:
        raise DeployProblem(
            "No AWS region is set: set AWS_REGION (or a profile with a region) to the region "
            "to deploy to."
        ) from None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("action", choices=["deploy", "destroy"])
    parser.add_argument(
        "--stage",
        default=os.environ.get("STAGE") or None,
        help="another independent stack in the same account, e.g. staging (default: prod)",
    )
    parser.add_argument(
        "--alarm-email",
        default=os.environ.get("ALARM_EMAIL") or "",
        help="the address the alarms' SNS topic mails (AWS asks it to confirm first)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="no questions: approve IAM changes, destroy at once"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = DeployConfig(
            **({"stage": args.stage} if args.stage else {}), alarm_email=args.alarm_email
        )
    except ValueError as error:
        print(f"deploy: {error}", file=sys.stderr)
        return 2
    say = print
    cdk = cdk_cli.cdk_executable()
    try:
        if args.action == "destroy":
            destroy(config, run=run_subprocess, say=say, force=args.yes, cdk=cdk)
            return 0
        interactive = sys.stdin.isatty() and not args.yes
        url = deploy(
            config,
            secrets_client=secrets_manager(),
            run=run_subprocess,
            paths=paths_for(config),
            environ=os.environ,
            ask=getpass.getpass if interactive else None,
            say=say,
            approve=args.yes,
            cdk=cdk,
        )
    except (DeployProblem, SecretProblem, ManifestProblem, LookupError) as problem:
        print(f"deploy: {problem}", file=sys.stderr)
        return 1
    print(next_steps(config, url, paths_for(config).manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
