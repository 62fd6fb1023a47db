"""PLACEHOLDER handler: see infra/placeholder_lambda/README.md."""

from typing import Any


def handler(event: Any, context: Any) -> None:
    raise RuntimeError(
        "This Lambda runs the placeholder code from infra/placeholder_lambda: "
        "dist/bot-lambda.zip was missing at synth time. Run `make bundle`, then deploy again."
    )
