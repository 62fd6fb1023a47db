"""The CDK app: `python -m infra.app` (what `make synth` and `cdk.json` run).

Synthesizes the stack into `cdk.out/` (or the CDK CLI's output directory) with cdk-nag's
AWS Solutions checks; an unacknowledged error fails the synth with the report.
"""

from __future__ import annotations

import os
import sys

# jsii's warning that node 20 is past its end of life says nothing about this app.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import BOT_BUNDLE, REPO_ROOT, STACK_NAME, DeployConfig
from infra.stack import AutomlStack

__all__ = ["STACK_NAME", "add_nag", "build_app", "main"]


def build_app(
    *, outdir: str | None = None, context: dict[str, object] | None = None, nag: bool = True
) -> tuple[App, AutomlStack]:
    """The app and its one stack, not yet synthesized."""
    app = App(outdir=outdir, context=context)
    config = DeployConfig.from_context(app.node)
    stack = AutomlStack(
        app,
        config.stack_name,  # `AutomlBot`, or `AutomlBot-<stage>` for another stage
        config=config,
        description="Slack AutoML bot: HTTP API + Lambda, Batch on Fargate Spot, S3, DynamoDB",
    )
    if nag:
        add_nag(app)
    return app, stack


def add_nag(app: App) -> None:
    """cdk-nag 3 is a policy-validation plugin: it runs at synth, after the tree is built."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def main() -> int:
    # The CDK CLI says where to write (CDK_OUTDIR); run by hand, it is ./cdk.out.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(REPO_ROOT / "cdk.out")
    app, stack = build_app(outdir=outdir)
    try:
        assembly = app.synth()
    except RuntimeError as error:  # jsii's wrapper of the validation failure
        print(f"synth failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    if not stack.functions.bundled:
        print(
            f"warning: {BOT_BUNDLE.relative_to(REPO_ROOT)} is missing, the bot and completion "
            "Lambdas got the placeholder; run `make bundle` before deploying.",
            file=sys.stderr,
        )
    print(f"synthesized {stack.stack_name} into {assembly.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
