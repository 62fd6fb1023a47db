"""The CDK CLI's deploy and destroy commands for one stage, and the outputs it writes.

The CLI runs `cdk.json`'s app (`python -m infra.app`), which reads the same context keys.
Run with `npx`, pinned to CDK v2, unless a `cdk` is on PATH.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

NPX_CDK = ["npx", "--yes", "aws-cdk@2"]
REQUEST_URL_OUTPUT = "SlackRequestUrl"

# Docker would otherwise wrap the training image in an index with a provenance attestation,
# which Lambda refuses for container-image functions.
DEPLOY_ENV = {"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"}


def cdk_executable() -> list[str]:
    found = shutil.which("cdk")
    return [found] if found else list(NPX_CDK)


def context_args(stage: str, alarm_email: str | None) -> list[str]:
    args = ["-c", f"automl:stage={stage}"]
    if alarm_email:
        args += ["-c", f"automl:alarm_email={alarm_email}"]
    return args


def deploy_command(
    cdk: list[str],
    *,
    stack: str,
    stage: str,
    alarm_email: str | None,
    outputs_file: Path,
    approve: bool,
) -> list[str]:
    command = [*cdk, "deploy", stack, *context_args(stage, alarm_email)]
    command += ["--outputs-file", str(outputs_file)]
    if approve:  # else the CLI asks before widening any permission
        command += ["--require-approval", "never"]
    return command


def destroy_command(cdk: list[str], *, stack: str, stage: str, force: bool) -> list[str]:
    command = [*cdk, "destroy", stack, *context_args(stage, None)]
    if force:
        command.append("--force")
    return command


def request_url(outputs_file: Path, stack: str) -> str:
    """The stack's `SlackRequestUrl` from the CLI's `--outputs-file`."""
    try:
        outputs = json.loads(outputs_file.read_text(encoding="utf-8"))
        return str(outputs[stack][REQUEST_URL_OUTPUT])
    except (OSError, ValueError, KeyError, TypeError):
        raise LookupError(
            f"{outputs_file} has no {REQUEST_URL_OUTPUT} for {stack}: did the deploy finish?"
        ) from None
