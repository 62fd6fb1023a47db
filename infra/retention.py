"""Log retention: every log group gets one, so no log is kept (and billed) for ever."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_cdk import aws_logs as logs

# The periods CloudWatch Logs accepts, up to a year, and their names in the CDK's enum.
# Plain names here: infra.config (and the deploy script through it) need no CDK to check one.
_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
}


def retention(days: int) -> logs.RetentionDays:
    from aws_cdk import aws_logs

    days_enum: logs.RetentionDays = getattr(aws_logs.RetentionDays, _RETENTION[days])
    return days_enum


SUPPORTED_DAYS = tuple(_RETENTION)
