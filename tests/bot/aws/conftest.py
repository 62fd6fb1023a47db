"""Moto-backed AWS for the aws backend's tests: fake credentials, one region, no network."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.core.responses import BaseResponse

from bot.backends.aws.artifacts import S3ArtifactStore
from bot.backends.aws.job_store import DynamoJobStore
from bot.backends.aws.table import create_table_kwargs
from bot.links import LinkSigner

REGION = "us-east-1"
BUCKET = "automl-test-artifacts"
TABLE = "automl-test-jobs"
PUBLIC_URL = "https://abc123.execute-api.us-east-1.amazonaws.com"  # the bot's API
LINK_KEY = b"link-key-of-the-tests-0123456789"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no config files: nothing here can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    # moto's EC2 would otherwise load its 2,600 public AMIs on every start (0.5 s); none is used.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture
def aws() -> Iterator[None]:
    """Every AWS call answered by moto, in this process; Batch without Docker."""
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield


@pytest.fixture
def linearizable(monkeypatch: pytest.MonkeyPatch) -> None:
    """One moto request at a time, as DynamoDB itself would order them.

    Moto's in-memory backends are not thread-safe (a cancelled transaction restores a snapshot
    that can drop another thread's write); real DynamoDB serializes conditional writes on an
    item. Threads still interleave freely between requests, which is what the tests exercise.
    """
    lock = threading.RLock()
    original: Callable[..., Any] = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(BaseResponse, "call_action", call_action)


@pytest.fixture
def s3_client(aws: None) -> Any:
    client = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def s3_store(s3_client: Any) -> S3ArtifactStore:
    return S3ArtifactStore(
        BUCKET,
        s3_client=s3_client,
        signer=LinkSigner(LINK_KEY),
        public_url=PUBLIC_URL,
        link_expiry_s=3600,
    )


@pytest.fixture
def dynamodb_client(aws: None, linearizable: None) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(**create_table_kwargs(TABLE))
    return client


@pytest.fixture
def dynamo_store(dynamodb_client: Any) -> DynamoJobStore:
    return DynamoJobStore(TABLE, client=dynamodb_client, ttl_days=30)


QUEUE = "automl-spot"
DEFINITION = "automl-training"
MB = 1024 * 1024


@pytest.fixture
def batch(aws: None) -> Any:
    """A Fargate Spot compute environment, its queue and the training job definition."""
    ec2 = boto3.client("ec2", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    client = boto3.client("batch", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="automl", Description="jobs", VpcId=vpc)
    role = iam.create_role(RoleName="automl-batch", AssumeRolePolicyDocument=json.dumps({}))
    role_arn = role["Role"]["Arn"]
    environment = client.create_compute_environment(
        computeEnvironmentName="automl-fargate-spot",
        type="MANAGED",
        state="ENABLED",
        computeResources={
            "type": "FARGATE_SPOT",
            "maxvCpus": 64,
            "subnets": [subnet],
            "securityGroupIds": [group["GroupId"]],
        },
        serviceRole=role_arn,
    )
    client.create_job_queue(
        jobQueueName=QUEUE,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
        ],
    )
    client.register_job_definition(
        jobDefinitionName=DEFINITION,
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "automl-training:latest",
            "command": ["python", "-m", "training", "--help"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "2"},
                {"type": "MEMORY", "value": "4096"},
            ],
            "executionRoleArn": role_arn,
            "networkConfiguration": {"assignPublicIp": "DISABLED"},
        },
    )
    return client
