"""cdk-nag acknowledgements: each deliberate finding is accepted on one construct, with why.

cdk-nag 3 reads CDK's own `Validations.of(construct).acknowledge(...)` (there is no
`NagSuppressions` any more); an acknowledgement covers the construct and its children.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept one finding, e.g. `AwsSolutions-IAM5[Resource::*]`, on `construct`."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def arn_finding(stack: Stack, construct: IConstruct, suffix: str) -> str:
    """The `Resource::<LogicalId.Arn>suffix` finding IAM5 reports for a wildcard below an ARN."""
    logical_id = stack.resolve(stack.get_logical_id(construct.node.default_child))  # type: ignore[arg-type]
    return f"Resource::<{logical_id}.Arn>{suffix}"
