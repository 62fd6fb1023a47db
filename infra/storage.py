"""Where jobs live: the S3 bucket (datasets and run folders) and the DynamoDB job table."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contract.aws import DATASETS_PREFIX, RUNS_PREFIX
from infra.config import DeployConfig
from infra.nag import acknowledge


@dataclass(frozen=True, slots=True)
class TableSchema:
    partition_key: str
    sort_key: str | None
    indexes: dict[str, tuple[str, str]]  # name -> (partition key, sort key)
    ttl_attribute: str


# The job table's keys, in one place. The DynamoDB job store describes the same table in
# bot/backends/aws/table.py (TABLE_SCHEMA); tests/infra/test_stack.py checks they agree.
# `pk` alone is the key (`job#<id>`, `dedupe#<key>`, ...). Every key is a string;
# `created_at` is fixed-width ISO-8601 UTC text, so it sorts by time. The TTL attribute
# holds epoch seconds (a Number); DynamoDB deletes expired items.
JOB_TABLE = TableSchema(
    partition_key="pk",
    sort_key=None,
    indexes={
        "by_channel": ("channel_id", "created_at"),
        "by_user": ("user_id", "created_at"),
        "by_status": ("status", "created_at"),
    },
    ttl_attribute="expires_at",
)


class Storage(Construct):
    """The artifact bucket and the job table."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        expiry = Duration.days(config.run_expiry_days)

        # Versioning off: a run folder is written once by one job and expires with it; old
        # versions would outlive the expiry the bot promises and cost storage for nothing.
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-runs", prefix=RUNS_PREFIX, expiration=expiry),
                s3.LifecycleRule(id="expire-datasets", prefix=DATASETS_PREFIX, expiration=expiry),
                # A streamed upload that was cut off (file over the size limit, timeout).
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Short-lived job artifacts read and written only by this stack's roles; "
            "CloudTrail S3 data events are the audit trail if one is needed. Server access "
            "logs would need a second bucket that is itself unlogged.",
        )

        self.table = dynamodb.Table(
            self,
            "Jobs",
            partition_key=_string(JOB_TABLE.partition_key),
            sort_key=_string(JOB_TABLE.sort_key) if JOB_TABLE.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=JOB_TABLE.ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        for name, (partition, sort) in JOB_TABLE.indexes.items():
            self.table.add_global_secondary_index(
                index_name=name,
                partition_key=_string(partition),
                sort_key=_string(sort),
                projection_type=dynamodb.ProjectionType.ALL,
            )


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)
