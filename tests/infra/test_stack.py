"""The AWS CDK stack (infra/): what it creates, the permissions it grants, cdk-nag, cfn-lint.

The stack is built and synthesized once for the module (with cdk-nag, as `make synth`
does), then every test reads the same template. Intrinsics in policies are rendered the way
cdk-nag prints them (`<LogicalId.Arn>/runs/*`) so a statement reads as one string.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

if shutil.which("node") is None:  # jsii runs the CDK's JavaScript in Node.js
    pytest.skip("the AWS CDK needs Node.js", allow_module_level=True)

from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra import functions
from infra.app import STACK_NAME, add_nag, build_app
from infra.config import DeployConfig
from infra.stack import AutomlStack
from infra.storage import JOB_TABLE

# Synthesizes the CDK stack (seconds): not for the fast loop.
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_ENV = {
    "AUTOML_BACKEND",
    "AUTOML_BUCKET",
    "AUTOML_TABLE",
    "AUTOML_JOB_QUEUE",
    "AUTOML_JOB_DEFINITION",
    "AUTOML_BOT_TOKEN_SECRET",
    "AUTOML_RUN_EXPIRY_DAYS",
}
JOB_TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
}
SECRET_READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
ARN_PREFIX = "arn:<AWS::Partition>"
ISSUER = "automl-job-credentials"  # the credential issuer's fixed name
REGION_ACCOUNT = "<AWS::Region>:<AWS::AccountId>"
ALARM_EMAIL = "ops@example.com"


@dataclass
class Synth:
    stack: AutomlStack
    outdir: Path
    raw: dict[str, Any]
    template: Template
    assets: dict[str, Any]

    def id(self, construct: IConstruct) -> str:
        """The logical id of an L2 construct's CloudFormation resource."""
        child = construct.node.default_child
        assert child is not None, construct.node.path
        return str(self.stack.resolve(self.stack.get_logical_id(child)))  # type: ignore[arg-type]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.raw["Resources"].items() if r["Type"] == kind}

    def props(self, construct: IConstruct) -> dict[str, Any]:
        resource: dict[str, Any] = self.raw["Resources"][self.id(construct)]
        return resource["Properties"]

    def statements(self, role: IConstruct) -> list[tuple[frozenset[str], frozenset[str]]]:
        """Every (actions, resources) the role's inline policies allow, rendered."""
        role_id = self.id(role)
        found = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} not in policy["Properties"]["Roles"]:
                continue
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow"
                found.append((_strings(statement["Action"]), _strings(statement["Resource"])))
        return found

    def allowed(self, role: IConstruct) -> set[tuple[str, str]]:
        """Every (action, resource) pair the role is allowed."""
        return {
            (a, r)
            for actions, resources in self.statements(role)
            for a in actions
            for r in resources
        }


def render(value: Any) -> str:
    """An intrinsic as cdk-nag prints it: `<Logical.Arn>`, `<Logical>`, joins concatenated."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(render(part) for part in parts)
        if function == "Fn::Sub":
            return str(argument)
    raise AssertionError(f"cannot render {value!r}")


def _strings(value: Any) -> frozenset[str]:
    values = value if isinstance(value, list) else [value]
    return frozenset(render(v) for v in values)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # with cdk-nag, as `make synth`; the alarms' e-mail from context, as `make deploy` gives it
    app, stack = build_app(outdir=str(outdir), context={"automl:alarm_email": ALARM_EMAIL})
    try:
        assembly = app.synth()
    except RuntimeError as error:
        report = AwsSolutionsChecks().validate_scope(stack)
        found = [
            f"{v.rule_name} on {v.violating_resources[0].construct_path}" for v in report.violations
        ]
        pytest.fail(f"synth failed: {str(error).splitlines()[0]}; cdk-nag found {found}")
    artifact = assembly.get_stack_by_name(stack.stack_name)
    raw = artifact.template
    assets = json.loads((outdir / f"{STACK_NAME}.assets.json").read_text())
    return Synth(stack, outdir, raw, Template.from_json(raw), assets)


# --- storage -------------------------------------------------------------------------------


def test_bucket_is_private_encrypted_and_ssl_only(synth: Synth) -> None:
    bucket = synth.props(synth.stack.storage.bucket)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert "VersioningConfiguration" not in bucket
    synth.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_runs_and_datasets_expire(synth: Synth) -> None:
    rules = synth.props(synth.stack.storage.bucket)["LifecycleConfiguration"]["Rules"]
    expiring = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules if "Prefix" in rule}
    assert expiring == {"runs/": 30, "datasets/": 30}
    assert any(rule.get("AbortIncompleteMultipartUpload") for rule in rules)


def test_context_settings_are_read_and_checked() -> None:
    app = App(context={"automl:run_expiry_days": "7", "automl:max_vcpus": 64})
    config = DeployConfig.from_context(app.node)
    assert (config.run_expiry_days, config.max_vcpus) == (7, 64)
    assert DeployConfig.from_context(App().node) == DeployConfig()
    with pytest.raises(ValueError, match="log_retention_days"):
        DeployConfig(log_retention_days=31)
    with pytest.raises(ValueError, match="run_expiry_days"):
        DeployConfig(run_expiry_days=0)


def test_job_table(synth: Synth) -> None:
    table = synth.props(synth.stack.storage.table)
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    indexes = {
        index["IndexName"]: [key["AttributeName"] for key in index["KeySchema"]]
        for index in table["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by_channel": ["channel_id", "created_at"],
        "by_user": ["user_id", "created_at"],
        "by_status": ["status", "created_at"],
    }
    assert {a["AttributeType"] for a in table["AttributeDefinitions"]} == {"S"}


def test_job_table_matches_the_job_store() -> None:
    """The stack and the DynamoDB job store describe one table: keys, indexes, TTL."""
    store = pytest.importorskip("bot.backends.aws.table").TABLE_SCHEMA
    sort_key = store["sort_key"]["name"] if store["sort_key"] else None
    assert (JOB_TABLE.partition_key, JOB_TABLE.sort_key) == (
        store["partition_key"]["name"],
        sort_key,
    )
    assert JOB_TABLE.ttl_attribute == store["ttl_attribute"]
    assert JOB_TABLE.indexes == {
        index["index_name"]: (index["partition_key"]["name"], index["sort_key"]["name"])
        for index in store["global_secondary_indexes"]
    }


# --- network and Batch ----------------------------------------------------------------------


def test_vpc_has_public_subnets_only_and_no_nat(synth: Synth) -> None:
    subnets = synth.resources("AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is True for s in subnets.values())
    synth.template.resource_count_is("AWS::EC2::NatGateway", 0)
    synth.template.resource_count_is("AWS::EC2::InternetGateway", 1)
    routes = synth.resources("AWS::EC2::Route").values()
    assert all("GatewayId" in r["Properties"] for r in routes)  # to the internet gateway


def test_task_security_group_has_no_inbound_rules(synth: Synth) -> None:
    group = synth.props(synth.stack.training.security_group)
    assert "SecurityGroupIngress" not in group
    synth.template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    assert [
        (r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in group["SecurityGroupEgress"]
    ] == [("tcp", 443, 443)]


def test_nothing_is_billed_by_the_hour(synth: Synth) -> None:
    for kind in (
        "AWS::EC2::NatGateway",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "AWS::EC2::Instance",
        "AWS::RDS::DBInstance",
    ):
        synth.template.resource_count_is(kind, 0)
    endpoints = synth.resources("AWS::EC2::VPCEndpoint").values()
    assert [e["Properties"]["VpcEndpointType"] for e in endpoints] == ["Gateway"]  # free
    for function in synth.resources("AWS::Lambda::Function").values():
        assert "ProvisionedConcurrencyConfig" not in json.dumps(function)
    synth.template.resource_count_is("AWS::Lambda::Alias", 0)
    for environment in synth.resources("AWS::Batch::ComputeEnvironment").values():
        assert environment["Properties"]["ComputeResources"].get("MinvCpus", 0) == 0


def test_spot_then_on_demand_fargate(synth: Synth) -> None:
    training = synth.stack.training
    spot, on_demand = synth.props(training.spot), synth.props(training.on_demand)
    assert (spot["ComputeResources"]["Type"], on_demand["ComputeResources"]["Type"]) == (
        "FARGATE_SPOT",
        "FARGATE",
    )
    for environment in (spot, on_demand):
        assert environment["Type"] == "managed"
        assert environment["ComputeResources"]["MaxvCpus"] == 32
        assert len(environment["ComputeResources"]["Subnets"]) == 2
    order = synth.props(training.queue)["ComputeEnvironmentOrder"]
    assert [(entry["Order"], render(entry["ComputeEnvironment"])) for entry in order] == [
        (1, f"<{synth.id(training.spot)}.ComputeEnvironmentArn>"),
        (2, f"<{synth.id(training.on_demand)}.ComputeEnvironmentArn>"),
    ]


def test_stuck_jobs_are_cancelled(synth: Synth) -> None:
    actions = synth.props(synth.stack.training.queue)["JobStateTimeLimitActions"]
    assert {a["Action"] for a in actions} == {"CANCEL"}
    assert {a["State"] for a in actions} == {"RUNNABLE"}
    reasons = {a["Reason"]: a["MaxTimeSeconds"] for a in actions}
    assert set(reasons) == {
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    }
    assert all(600 <= seconds <= 3600 for seconds in reasons.values())


def test_job_definition(synth: Synth) -> None:
    training = synth.stack.training
    definition = synth.props(training.job_definition)
    assert definition["PlatformCapabilities"] == ["FARGATE"]
    # The launcher's cost-allocation tags reach the ECS task, where Fargate is billed.
    assert definition["PropagateTags"] is True
    container = definition["ContainerProperties"]
    assert container["NetworkConfiguration"] == {"AssignPublicIp": "ENABLED"}
    assert {r["Type"]: r["Value"] for r in container["ResourceRequirements"]} == {
        "VCPU": "2",
        "MEMORY": "4096",
    }
    assert {e["Name"]: render(e["Value"]) for e in container["Environment"]} == {
        "AUTOML_BUCKET": f"<{synth.id(synth.stack.storage.bucket)}>",
        "AUTOML_EVENT_BUS": f"<{synth.id(synth.stack.training.bus)}>",
    }
    assert container["LinuxParameters"] == {"InitProcessEnabled": True}
    assert container["RuntimePlatform"]["CpuArchitecture"] == "X86_64"
    logging = container["LogConfiguration"]
    assert logging["LogDriver"] == "awslogs"
    assert render(logging["Options"]["awslogs-group"]) == f"<{synth.id(training.log_group)}>"
    assert render(container["JobRoleArn"]) == f"<{synth.id(training.job_role)}.Arn>"
    assert render(container["ExecutionRoleArn"]) == f"<{synth.id(training.execution_role)}.Arn>"
    assert "container-assets" in render(container["Image"])


def test_retry_strategy_follows_the_contract(synth: Synth) -> None:
    retry = synth.props(synth.stack.training.job_definition)["RetryStrategy"]
    assert retry["Attempts"] == 3
    conditions = [
        (rule["Action"], {k: v for k, v in rule.items() if k != "Action"})
        for rule in retry["EvaluateOnExit"]
    ]
    assert conditions == [
        ("RETRY", {"OnExitCode": "3"}),
        ("RETRY", {"OnStatusReason": "Your Spot Task was interrupted*"}),
        ("RETRY", {"OnStatusReason": "Task failed to start*"}),
        ("EXIT", {"OnExitCode": "2"}),
        ("EXIT", {"OnReason": "*"}),
    ]
    # Batch's own limit: at most 5 conditions.
    assert len(conditions) <= 5


def test_job_role_has_no_s3_and_may_only_ask_for_its_credentials_and_publish(
    synth: Synth,
) -> None:
    bus = synth.id(synth.stack.training.bus)
    allowed = synth.allowed(synth.stack.training.job_role)
    assert not any(action.startswith("s3:") for action, _ in allowed)
    assert allowed == {
        ("lambda:InvokeFunction", f"{ARN_PREFIX}:lambda:{REGION_ACCOUNT}:function:{ISSUER}"),
        ("events:PutEvents", f"<{bus}.Arn>"),
    }


def test_credential_issuer_lambda(synth: Synth) -> None:
    functions_ = synth.stack.functions
    issuer = synth.props(functions_.issuer)
    assert issuer["FunctionName"] == ISSUER
    assert issuer["Handler"] == "bot.aws_lambda.job_credentials.handler"
    assert issuer["Runtime"] == "python3.11"
    assert issuer["Code"] == synth.props(functions_.bot)["Code"]  # the same zip
    assert _environment(synth, functions_.issuer) == {
        "AUTOML_BUCKET": f"<{synth.id(synth.stack.storage.bucket)}>",
        "AUTOML_JOB_QUEUE": f"<{synth.id(synth.stack.training.queue)}.JobQueueArn>",
        "AUTOML_JOB_DATA_ROLE": f"<{synth.id(functions_.job_data_role)}.Arn>",
    }


def test_credential_issuer_may_describe_jobs_and_assume_the_data_role_only(
    synth: Synth,
) -> None:
    functions_ = synth.stack.functions
    own_logs = f"<{synth.id(functions_.issuer_log_group)}.Arn>"
    assert synth.allowed(functions_.issuer_role) == {
        ("batch:DescribeJobs", "*"),
        ("sts:AssumeRole", f"<{synth.id(functions_.job_data_role)}.Arn>"),
        ("logs:CreateLogStream", own_logs),
        ("logs:PutLogEvents", own_logs),
    }


def test_job_data_role_trusts_only_the_issuer_and_reaches_only_datasets_and_runs(
    synth: Synth,
) -> None:
    functions_ = synth.stack.functions
    bucket = synth.id(synth.stack.storage.bucket)
    trust = synth.props(functions_.job_data_role)["AssumeRolePolicyDocument"]["Statement"]
    assert [(s["Effect"], s["Action"], render(s["Principal"]["AWS"])) for s in trust] == [
        ("Allow", "sts:AssumeRole", f"<{synth.id(functions_.issuer_role)}.Arn>")
    ]
    assert synth.allowed(functions_.job_data_role) == {
        ("s3:GetObject", f"<{bucket}.Arn>/datasets/*"),
        ("s3:GetObject", f"<{bucket}.Arn>/runs/*"),
        ("s3:PutObject", f"<{bucket}.Arn>/runs/*"),
        ("s3:AbortMultipartUpload", f"<{bucket}.Arn>/runs/*"),
    }


def test_training_events_have_a_bus_only_the_job_role_may_put_to(synth: Synth) -> None:
    training = synth.stack.training
    assert synth.props(training.bus)["Name"] == "automl-training"
    env = synth.props(training.job_definition)["ContainerProperties"]["Environment"]
    assert {"Name": "AUTOML_EVENT_BUS", "Value": {"Ref": synth.id(training.bus)}} in env
    synth.template.has_resource_properties(
        "AWS::Events::EventBusPolicy",
        {
            "EventBusName": {"Ref": synth.id(training.bus)},
            "Statement": {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "events:PutEvents",
                "Resource": {"Fn::GetAtt": [synth.id(training.bus), "Arn"]},
                "Condition": {
                    "ArnNotEquals": {
                        "aws:PrincipalArn": {"Fn::GetAtt": [synth.id(training.job_role), "Arn"]}
                    }
                },
            },
        },
    )


def test_the_bot_may_terminate_only_jobs_tagged_with_its_queue(synth: Synth) -> None:
    stack = synth.stack
    queue = {"Fn::GetAtt": [synth.id(stack.training.queue), "JobQueueArn"]}
    statements = [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": synth.id(stack.functions.bot_role)} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (terminate,) = [s for s in statements if s["Action"] == "batch:TerminateJob"]
    assert terminate["Condition"] == {"StringEquals": {"aws:ResourceTag/automl-queue": queue}}
    (tag,) = [s for s in statements if s["Action"] == "batch:TagResource"]
    assert tag["Condition"] == {
        "StringEquals": {"aws:RequestTag/automl-queue": queue},
        # The queue tag and the cost-allocation tags (job id, channel, person), nothing else.
        "ForAllValues:StringEquals": {
            "aws:TagKeys": ["automl-queue", "automl-job-id", "automl-channel", "automl-user"]
        },
    }


def test_a_failed_lazy_half_goes_to_the_completion_lambda(synth: Synth) -> None:
    functions_ = synth.stack.functions
    synth.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": synth.id(functions_.bot)},
            "MaximumRetryAttempts": 0,
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {"Fn::GetAtt": [synth.id(functions_.completion), "Arn"]}
                }
            },
        },
    )


def test_a_schedule_sweeps_lost_jobs(synth: Synth) -> None:
    rule = synth.props(synth.stack.events.sweep_rule)
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    (target,) = rule["Targets"]
    assert json.loads(target["Input"]) == {"automl": "sweep"}
    assert render(target["Arn"]) == f"<{synth.id(synth.stack.functions.completion)}.Arn>"


def test_execution_role_pulls_the_image_and_writes_logs(synth: Synth) -> None:
    allowed = synth.allowed(synth.stack.training.execution_role)
    log_group = f"<{synth.id(synth.stack.training.log_group)}.Arn>"
    assert {a for a, _ in allowed} == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert ("logs:PutLogEvents", log_group) in allowed
    assert {r for a, r in allowed if a == "ecr:GetAuthorizationToken"} == {"*"}
    assert all("container-assets" in r for a, r in allowed if a == "ecr:BatchGetImage")


def test_training_image_is_staged_not_built(synth: Synth) -> None:
    (image,) = synth.assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "training/Dockerfile"
    assert image["source"]["platform"] == "linux/amd64"
    context = synth.outdir / image["source"]["directory"]
    assert (context / "training" / "Dockerfile").is_file()  # re-included past .dockerignore
    assert (context / ".dockerignore").is_file()
    assert (context / "requirements" / "training.lock").is_file()
    assert not (context / ".venv").exists()
    assert not (context / "bot").exists()
    # The preview Lambda and the Batch job run the same image.
    preview = synth.props(synth.stack.functions.preview)
    job = synth.props(synth.stack.training.job_definition)["ContainerProperties"]
    assert render(preview["Code"]["ImageUri"]) == render(job["Image"])


# --- Lambdas ----------------------------------------------------------------------------------


def _environment(synth: Synth, function: IConstruct) -> dict[str, str]:
    variables = synth.props(function)["Environment"]["Variables"]
    return {name: render(value) for name, value in variables.items()}


def test_bot_lambda(synth: Synth) -> None:
    functions_ = synth.stack.functions
    bot = synth.props(functions_.bot)
    assert bot["FunctionName"] == "automl-bot"
    assert bot["Runtime"] == "python3.11"
    assert bot["Handler"] == "bot.aws_lambda.bot_handler.handler"
    assert 512 <= bot["MemorySize"] <= 1024
    assert 30 <= bot["Timeout"] <= 900
    assert bot["Architectures"] == ["x86_64"]
    async_configs = {
        render(c["Properties"]["FunctionName"]): c["Properties"]
        for c in synth.resources("AWS::Lambda::EventInvokeConfig").values()
    }
    # The lazy half (a self-invocation) is not retried: no duplicate answers in Slack.
    assert async_configs[f"<{synth.id(functions_.bot)}>"]["MaximumRetryAttempts"] == 0
    env = _environment(synth, functions_.bot)
    assert set(env) == SHARED_ENV | {
        "AUTOML_PREVIEW_FUNCTION",
        "AUTOML_JOB_CREDENTIALS_FUNCTION",
        "AUTOML_SIGNING_SECRET_SECRET",
        "AUTOML_PUBLIC_URL",
    }
    # Report and model links point at the bot's own API, which serves them.
    assert env["AUTOML_PUBLIC_URL"] == f"<{synth.id(synth.stack.api.api)}.ApiEndpoint>"
    assert env["AUTOML_BACKEND"] == "aws"
    assert env["AUTOML_BUCKET"] == f"<{synth.id(synth.stack.storage.bucket)}>"
    assert env["AUTOML_TABLE"] == f"<{synth.id(synth.stack.storage.table)}>"
    assert env["AUTOML_JOB_QUEUE"] == f"<{synth.id(synth.stack.training.queue)}.JobQueueArn>"
    assert env["AUTOML_JOB_DEFINITION"] == f"<{synth.id(synth.stack.training.job_definition)}>"
    assert env["AUTOML_PREVIEW_FUNCTION"] == "automl-preview"
    assert env["AUTOML_JOB_CREDENTIALS_FUNCTION"] == "automl-job-credentials"
    assert env["AUTOML_BOT_TOKEN_SECRET"] == "automl/slack-bot-token"
    assert env["AUTOML_SIGNING_SECRET_SECRET"] == "automl/slack-signing-secret"
    assert env["AUTOML_RUN_EXPIRY_DAYS"] == "30"


def test_completion_lambda(synth: Synth) -> None:
    functions_ = synth.stack.functions
    completion = synth.props(functions_.completion)
    assert completion["FunctionName"] == "automl-completion"
    assert completion["Handler"] == "bot.aws_lambda.completion_handler.handler"
    assert completion["Runtime"] == "python3.11"
    assert completion["Code"] == synth.props(functions_.bot)["Code"]  # the same zip
    assert render(completion["DeadLetterConfig"]["TargetArn"]) == (
        f"<{synth.id(synth.stack.dead_letters)}.Arn>"
    )
    env = _environment(synth, functions_.completion)
    # No prices: bot/cost.py picks the region's (the Lambda's AWS_REGION).
    assert set(env) == SHARED_ENV | {
        "AUTOML_JOB_LOG_GROUP",
        "AUTOML_SIGNING_SECRET_SECRET",
        "AUTOML_PUBLIC_URL",
        # it submits jobs that waited for a slot, naming the credential issuer as the bot does
        "AUTOML_JOB_CREDENTIALS_FUNCTION",
    }
    # The links it writes into the results open on the bot's API; it signs with the same key.
    assert env["AUTOML_PUBLIC_URL"] == f"<{synth.id(synth.stack.api.api)}.ApiEndpoint>"
    assert env["AUTOML_SIGNING_SECRET_SECRET"] == "automl/slack-signing-secret"
    assert env["AUTOML_JOB_LOG_GROUP"] == f"<{synth.id(synth.stack.training.log_group)}>"


def test_preview_lambda_runs_the_training_image(synth: Synth) -> None:
    preview = synth.props(synth.stack.functions.preview)
    assert preview["FunctionName"] == "automl-preview"
    assert preview["PackageType"] == "Image"
    assert preview["ImageConfig"] == {
        "EntryPoint": ["python", "-m", "awslambdaric"],
        "Command": ["training.aws.preview_lambda.preview_handler"],
    }
    assert preview["MemorySize"] >= 3008
    assert preview["Timeout"] == 120
    assert preview["Architectures"] == ["x86_64"]


def test_bot_may_invoke_itself_by_name_and_the_previewer(synth: Synth) -> None:
    invoke = {
        r for a, r in synth.allowed(synth.stack.functions.bot_role) if a == "lambda:InvokeFunction"
    }
    completion = f"<{synth.id(synth.stack.functions.completion)}.Arn>"
    assert invoke == {
        f"{ARN_PREFIX}:lambda:{REGION_ACCOUNT}:function:automl-bot",
        f"<{synth.id(synth.stack.functions.preview)}.Arn>",
        completion,  # the failure destination of its lazy half
        f"{completion}:*",
    }


def test_bot_role_is_least_privilege(synth: Synth) -> None:
    stack = synth.stack
    bucket = synth.id(stack.storage.bucket)
    table = f"<{synth.id(stack.storage.table)}.Arn>"
    table_and_indexes = {table} | {f"{table}/index/{name}" for name in JOB_TABLE.indexes}
    allowed = synth.allowed(stack.functions.bot_role)
    by_action: dict[str, set[str]] = {}
    for action, resource in allowed:
        by_action.setdefault(action, set()).add(resource)
    datasets, runs = f"<{bucket}.Arn>/datasets/*", f"<{bucket}.Arn>/runs/*"
    expected = {
        "s3:GetObject": {datasets, runs},
        "s3:PutObject": {datasets, runs},
        "s3:DeleteObject": {datasets},
        "s3:AbortMultipartUpload": {datasets},
        "s3:ListBucket": {f"<{bucket}.Arn>"},
        "batch:SubmitJob": {
            f"<{synth.id(stack.training.queue)}.JobQueueArn>",
            f"<{synth.id(stack.training.job_definition)}>",
        },
        "batch:TerminateJob": {f"{ARN_PREFIX}:batch:{REGION_ACCOUNT}:job/*"},
        "batch:TagResource": {f"{ARN_PREFIX}:batch:{REGION_ACCOUNT}:job/*"},
        "batch:ListJobs": {"*"},
        "lambda:InvokeFunction": {
            f"{ARN_PREFIX}:lambda:{REGION_ACCOUNT}:function:automl-bot",
            f"<{synth.id(stack.functions.preview)}.Arn>",
            # its failure destination: the completion Lambda
            f"<{synth.id(stack.functions.completion)}.Arn>",
            f"<{synth.id(stack.functions.completion)}.Arn>:*",
        },
        "logs:CreateLogStream": {f"<{synth.id(stack.functions.bot_log_group)}.Arn>"},
        "logs:PutLogEvents": {f"<{synth.id(stack.functions.bot_log_group)}.Arn>"},
        "secretsmanager:GetSecretValue": {
            f"{ARN_PREFIX}:secretsmanager:{REGION_ACCOUNT}:secret:automl/slack-bot-token-??????",
            f"{ARN_PREFIX}:secretsmanager:{REGION_ACCOUNT}:secret:automl/slack-signing-secret-??????",
        },
        **dict.fromkeys(JOB_TABLE_ACTIONS, table_and_indexes),
    }
    expected["secretsmanager:DescribeSecret"] = expected["secretsmanager:GetSecretValue"]
    assert by_action == expected


def test_completion_role_is_least_privilege(synth: Synth) -> None:
    stack = synth.stack
    bucket = synth.id(stack.storage.bucket)
    table = f"<{synth.id(stack.storage.table)}.Arn>"
    job_logs = synth.id(stack.training.log_group)
    own_logs = f"<{synth.id(stack.functions.completion_log_group)}.Arn>"
    by_action: dict[str, set[str]] = {}
    for action, resource in synth.allowed(stack.functions.completion_role):
        by_action.setdefault(action, set()).add(resource)
    secrets = {
        f"{ARN_PREFIX}:secretsmanager:{REGION_ACCOUNT}:secret:automl/slack-bot-token-??????",
        # The signing secret: its links and model signatures use keys derived from it.
        f"{ARN_PREFIX}:secretsmanager:{REGION_ACCOUNT}:secret:automl/slack-signing-secret-??????",
    }
    assert by_action == {
        # datasets: their size, to submit a job that waited for a slot
        "s3:GetObject": {f"<{bucket}.Arn>/runs/*", f"<{bucket}.Arn>/datasets/*"},
        # signs models and keeps what each job cost, writes nothing else
        "s3:PutObject": {f"<{bucket}.Arn>/runs/*/model.sig", f"<{bucket}.Arn>/runs/*/cost.json"},
        "s3:ListBucket": {f"<{bucket}.Arn>"},
        "logs:GetLogEvents": {
            f"<{job_logs}.Arn>",
            f"{ARN_PREFIX}:logs:{REGION_ACCOUNT}:log-group:<{job_logs}>",
        },
        "logs:CreateLogStream": {own_logs},
        "logs:PutLogEvents": {own_logs},
        "secretsmanager:GetSecretValue": secrets,
        "secretsmanager:DescribeSecret": secrets,
        "sqs:SendMessage": {f"<{synth.id(stack.dead_letters)}.Arn>"},
        "batch:ListJobs": {"*"},
        "batch:DescribeJobs": {"*"},
        # submits the jobs that waited for a slot when one ends (AUTOML_MAX_CONCURRENT_JOBS)
        "batch:SubmitJob": {
            f"<{synth.id(stack.training.queue)}.JobQueueArn>",
            f"<{synth.id(stack.training.job_definition)}>",
        },
        "batch:TagResource": {f"{ARN_PREFIX}:batch:{REGION_ACCOUNT}:job/*"},
        **dict.fromkeys(
            JOB_TABLE_ACTIONS, {table} | {f"{table}/index/{n}" for n in JOB_TABLE.indexes}
        ),
    }


def test_preview_role_has_no_s3_access(synth: Synth) -> None:
    """It reads the one file it previews through the bot's presigned GET."""
    stack = synth.stack
    own_logs = f"<{synth.id(stack.functions.preview_log_group)}.Arn>"
    assert synth.allowed(stack.functions.preview_role) == {
        ("logs:CreateLogStream", own_logs),
        ("logs:PutLogEvents", own_logs),
    }


def test_bucket_listing_has_no_condition(synth: Synth) -> None:
    """A prefix condition would turn 404s for missing keys back into 403s."""
    roles = (synth.stack.functions.bot_role, synth.stack.functions.completion_role)
    for role in roles:
        (listing,) = [
            s
            for p in synth.resources("AWS::IAM::Policy").values()
            if {"Ref": synth.id(role)} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Action"] == "s3:ListBucket"
        ]
        assert "Condition" not in listing
        assert render(listing["Resource"]) == f"<{synth.id(synth.stack.storage.bucket)}.Arn>"


def test_no_managed_policies(synth: Synth) -> None:
    for role in synth.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_log_groups_go_with_the_stack_so_it_can_be_deployed_again(synth: Synth) -> None:
    """A kept `/aws/lambda/automl-bot` would make the next deploy of the stage fail."""
    groups = synth.resources("AWS::Logs::LogGroup")
    assert groups
    assert {g.get("DeletionPolicy") for g in groups.values()} == {"Delete"}
    # What is kept has no fixed name, so a new stack of the same stage gets new ones.
    kept = {k: r for k, r in synth.raw["Resources"].items() if r.get("DeletionPolicy") == "Retain"}
    assert {r["Type"] for r in kept.values()} == {"AWS::S3::Bucket", "AWS::DynamoDB::Table"}
    assert not any({"BucketName", "TableName"} & set(r["Properties"]) for r in kept.values())


def test_every_log_group_has_a_retention(synth: Synth) -> None:
    groups = synth.resources("AWS::Logs::LogGroup")
    assert len(groups) == 6  # four Lambdas, the training job, the API's access log
    assert {g["Properties"].get("RetentionInDays") for g in groups.values()} == {30}
    names = {g["Properties"].get("LogGroupName") for g in groups.values()}
    assert {"/aws/lambda/automl-bot", "/aws/lambda/automl-completion"} <= names
    for function in synth.resources("AWS::Lambda::Function").values():
        assert render(function["Properties"]["LoggingConfig"]["LogGroup"]).strip("<>") in groups


def test_every_lambda_logs_json_at_info(synth: Synth) -> None:
    functions = synth.resources("AWS::Lambda::Function").values()
    configs = [function["Properties"]["LoggingConfig"] for function in functions]
    assert len(configs) == 4  # preview, bot, completion, credential issuer
    for config in configs:
        assert config["LogFormat"] == "JSON"
        assert config["ApplicationLogLevel"] == "INFO"
        assert config["SystemLogLevel"] == "INFO"


# --- events and API ---------------------------------------------------------------------------


def test_batch_state_changes_of_our_queue_reach_the_completion_lambda(synth: Synth) -> None:
    stack = synth.stack
    rule = synth.props(stack.events.batch_rule)
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.batch"]
    assert pattern["detail-type"] == ["Batch Job State Change"]
    assert [render(q) for q in pattern["detail"]["jobQueue"]] == [
        f"<{synth.id(stack.training.queue)}.JobQueueArn>"
    ]
    assert set(pattern["detail"]["status"]) == {"RUNNING", "SUCCEEDED", "FAILED"}
    _assert_targets_completion_with_dead_letters(synth, rule)


def test_training_events_reach_the_completion_lambda(synth: Synth) -> None:
    rule = synth.props(synth.stack.events.training_rule)
    assert rule["EventPattern"] == {
        "source": ["automl.training"],
        "detail-type": ["AutoML Training Event"],
    }
    _assert_targets_completion_with_dead_letters(synth, rule)


def _assert_targets_completion_with_dead_letters(synth: Synth, rule: dict[str, Any]) -> None:
    (target,) = rule["Targets"]
    assert render(target["Arn"]) == f"<{synth.id(synth.stack.functions.completion)}.Arn>"
    assert (
        render(target["DeadLetterConfig"]["Arn"]) == f"<{synth.id(synth.stack.dead_letters)}.Arn>"
    )
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_dead_letter_queue_is_encrypted_and_ssl_only(synth: Synth) -> None:
    queue = synth.props(synth.stack.dead_letters)
    assert queue["SqsManagedSseEnabled"] is True
    synth.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_http_api_routes_slack_and_the_links_to_the_bot(synth: Synth) -> None:
    stack = synth.stack
    routes = synth.resources("AWS::ApiGatewayV2::Route").values()
    # Slack's requests, and the report and model links people open (GET only).
    assert {r["Properties"]["RouteKey"] for r in routes} == {
        "POST /slack/events",
        "GET /artifacts/{proxy+}",
    }
    ((integration_id, integration),) = synth.resources("AWS::ApiGatewayV2::Integration").items()
    assert {render(r["Properties"]["Target"]) for r in routes} == {
        f"integrations/<{integration_id}>"
    }
    assert (
        render(integration["Properties"]["IntegrationUri"])
        == f"<{synth.id(stack.functions.bot)}.Arn>"
    )
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    stage = synth.props(stack.api.stage)
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    assert (
        render(stage["AccessLogSettings"]["DestinationArn"])
        == f"<{synth.id(stack.api.access_logs)}.Arn>"
    )
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    synth.template.resource_count_is("AWS::ApiGatewayV2::Api", 1)


def test_outputs(synth: Synth) -> None:
    outputs = {name: render(output["Value"]) for name, output in synth.raw["Outputs"].items()}
    api = synth.id(synth.stack.api.api)
    assert outputs == {
        "SlackRequestUrl": f"https://<{api}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/slack/events",
        "BucketName": f"<{synth.id(synth.stack.storage.bucket)}>",
        "JobQueue": f"<{synth.id(synth.stack.training.queue)}.JobQueueArn>",
        "AlarmTopic": f"<{synth.id(synth.stack.alarms.topic)}>",
    }


# --- checks -----------------------------------------------------------------------------------


def test_cdk_nag_finds_no_unacknowledged_errors(synth: Synth) -> None:
    """cdk-nag 3 reports through CDK's policy validation, not annotations: ask it directly.

    (The synth in the fixture ran the same checks and would have failed on an error.)
    """
    report = AwsSolutionsChecks().validate_scope(synth.stack)
    errors = [
        f"{v.rule_name} on {[r.construct_path for r in v.violating_resources]}: {v.description}"
        for v in report.violations
        if v.severity == "error"
    ]
    assert errors == []


def test_cdk_nag_check_is_not_vacuous(tmp_path: Path) -> None:
    """The same plugin fails a synth that has a finding (a bucket that allows plain HTTP)."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bad")
    s3.Bucket(stack, "Plain")
    add_nag(app)
    with pytest.raises(RuntimeError, match="AwsSolutions-S10"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert "AwsSolutions-S10" in rules


def test_every_acknowledgement_has_a_reason(synth: Synth) -> None:
    reasons: dict[str, str] = {}
    for construct in synth.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in dict(entry.data).items():
                    reasons[f"{construct.node.path} {rule}"] = str(reason)
    assert reasons, "no acknowledgements found: the metadata key changed?"
    assert all(len(reason) >= 40 for reason in reasons.values()), reasons


def test_cfn_lint_passes(synth: Synth, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text(json.dumps(synth.raw))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", str(template)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_cdk_errors_or_unexpected_warnings(synth: Synth) -> None:
    artifact = json.loads((synth.outdir / "manifest.json").read_text())["artifacts"][STACK_NAME]
    metadata = json.loads((synth.outdir / artifact["additionalMetadataFile"]).read_text())
    entries = [entry for path in metadata.values() for entry in path]
    assert any(e["type"] == "aws:cdk:logicalId" for e in entries)  # the right file
    assert [e for e in entries if e["type"] == "aws:cdk:error"] == []
    warnings = [str(e["data"]) for e in entries if e["type"] == "aws:cdk:warning"]
    # Only the placeholder's, in a clone where `make bundle` has not run.
    assert all("placeholder" in w for w in warnings), warnings
    assert bool(warnings) is not synth.stack.functions.bundled


def test_placeholder_code_when_the_bundle_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(functions, "BOT_BUNDLE", REPO_ROOT / "dist" / "no-such-bundle.zip")
    code, bundled = functions.bot_code()
    assert not bundled
    assert code is not None
    placeholder = REPO_ROOT / "infra" / "placeholder_lambda" / "bot" / "aws_lambda"
    assert (placeholder / "bot_handler.py").is_file()
    assert (placeholder / "completion_handler.py").is_file()
    assert (placeholder / "job_credentials.py").is_file()


def test_cdk_json_runs_the_same_app() -> None:
    config = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert config["app"].endswith("python -m infra.app")


# --- alarms -------------------------------------------------------------------------------------


def _alarm_metrics(synth: Synth) -> dict[tuple[str, str], set[str]]:
    """(namespace, metric) -> what each alarm on it watches, rendered."""
    found: dict[tuple[str, str], set[str]] = {}
    for alarm in synth.resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        assert [render(a) for a in props["AlarmActions"]] == [
            f"<{synth.id(synth.stack.alarms.topic)}>"
        ]
        (dimension,) = props["Dimensions"]
        key = (props["Namespace"], props["MetricName"])
        found.setdefault(key, set()).add(render(dimension["Value"]))
    return found


def test_alarms_watch_the_dead_letters_the_lambdas_and_the_lazy_half(synth: Synth) -> None:
    stack = synth.stack
    functions_ = stack.functions
    lambdas = {
        f"<{synth.id(f)}>"
        for f in (functions_.bot, functions_.completion, functions_.preview, functions_.issuer)
    }
    bot = {f"<{synth.id(functions_.bot)}>"}
    assert _alarm_metrics(synth) == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): {
            f"<{synth.id(stack.dead_letters)}.QueueName>"
        },
        ("AWS/Lambda", "Errors"): lambdas,
        ("AWS/Lambda", "Throttles"): lambdas,
        ("AWS/Lambda", "AsyncEventsDropped"): bot,  # the lazy half failed
        ("AWS/Lambda", "DestinationDeliveryFailures"): bot,  # ... and nobody was told
    }


def test_failed_batch_jobs_of_our_queue_go_to_the_alarm_topic(synth: Synth) -> None:
    stack = synth.stack
    rule = synth.props(stack.alarms.batch_failed_rule)
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.batch"]
    assert pattern["detail"]["status"] == ["FAILED"]
    assert [render(q) for q in pattern["detail"]["jobQueue"]] == [
        f"<{synth.id(stack.training.queue)}.JobQueueArn>"
    ]
    (target,) = rule["Targets"]
    assert render(target["Arn"]) == f"<{synth.id(stack.alarms.topic)}>"
    template = target["InputTransformer"]["InputTemplate"]
    assert "<detail-jobName>" in template and "<detail-statusReason>" in template


def test_alarm_topic_mails_the_address_from_context_and_is_ssl_only(synth: Synth) -> None:
    (subscription,) = synth.resources("AWS::SNS::Subscription").values()
    props = subscription["Properties"]
    assert (props["Protocol"], props["Endpoint"]) == ("email", ALARM_EMAIL)
    assert render(props["TopicArn"]) == f"<{synth.id(synth.stack.alarms.topic)}>"
    synth.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


# --- stages -------------------------------------------------------------------------------------

# Properties that are an AWS resource's own name, unique in an account and region.
PHYSICAL_NAMES = {
    "FunctionName",
    "LogGroupName",
    "BucketName",
    "TableName",
    "QueueName",
    "TopicName",
    "RoleName",
    "AlarmName",
    "JobQueueName",
    "ComputeEnvironmentName",
    "JobDefinitionName",
}


def _physical_names(template: dict[str, Any]) -> set[str]:
    """Names the template fixes (strings); a reference to a generated name is no fixed name."""
    names = set()
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        for key, value in props.items():
            named = key in PHYSICAL_NAMES or (
                key == "Name"
                and resource["Type"] in {"AWS::Events::EventBus", "AWS::ApiGatewayV2::Api"}
            )
            if named and isinstance(value, str):
                names.add(value)
    return names


def _secret_names(template: dict[str, Any]) -> set[str]:
    return {
        render(value)
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        for name, value in resource["Properties"]
        .get("Environment", {})
        .get("Variables", {})
        .items()
        if name.endswith("_SECRET")
    }


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> tuple[AutomlStack, dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("cdk.out.staging")
    app, stack = build_app(outdir=str(outdir), context={"automl:stage": "staging"}, nag=False)
    return stack, app.synth().get_stack_by_name(stack.stack_name).template


def test_a_second_stage_shares_no_physical_name_with_the_first(
    synth: Synth, staging: tuple[AutomlStack, dict[str, Any]]
) -> None:
    stack, template = staging
    assert (synth.stack.stack_name, stack.stack_name) == ("AutomlBot", "AutomlBot-staging")
    prod_names, staging_names = _physical_names(synth.raw), _physical_names(template)
    assert len(prod_names) >= 10  # four functions and their log groups, the bus, the API
    assert len(staging_names) == len(prod_names)
    assert prod_names.isdisjoint(staging_names), prod_names & staging_names
    assert "automl-bot-staging" in staging_names
    # Its own secrets, and its bot names its own previewer and credential issuer.
    assert _secret_names(template) == {
        "automl/slack-bot-token-staging",
        "automl/slack-signing-secret-staging",
    }
    assert _secret_names(synth.raw) == {"automl/slack-bot-token", "automl/slack-signing-secret"}
    (bot,) = [
        r["Properties"]["Environment"]["Variables"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("FunctionName") == "automl-bot-staging"
    ]
    assert bot["AUTOML_PREVIEW_FUNCTION"] == "automl-preview-staging"
    assert bot["AUTOML_JOB_CREDENTIALS_FUNCTION"] == "automl-job-credentials-staging"


def test_stage_names_are_checked() -> None:
    with pytest.raises(ValueError, match="automl:stage"):
        DeployConfig(stage="Staging!")
    assert DeployConfig(stage="qa").named("automl-bot") == "automl-bot-qa"
    assert DeployConfig().named("automl-bot") == "automl-bot"
    app = App(context={"automl:stage": "qa", "automl:alarm_email": "a@b.c"})
    config = DeployConfig.from_context(app.node)
    assert (config.stack_name, config.alarm_email) == ("AutomlBot-qa", "a@b.c")
