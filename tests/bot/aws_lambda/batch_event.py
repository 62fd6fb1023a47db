"""Batch Job State Change events shaped as AWS documents them (Batch user guide, EventBridge)."""

from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/automl-jobs"


def attempt(
    started_ms: int, seconds: float, *, exit_code: int | None = 0, reason: str = ""
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/automl/0123456789abcdef",
        "logStreamName": "automl-training/default/0123456789abcdef",
        "networkInterfaces": [],
    }
    if exit_code is not None:
        container["exitCode"] = exit_code
    return {
        "container": container,
        "startedAt": started_ms,
        "stoppedAt": started_ms + int(seconds * 1000),
        "statusReason": reason or "Essential container in task exited",
    }


def batch_event(
    job_id: str,
    status: str,
    *,
    attempts: list[dict[str, Any]] | None = None,
    reason: str = "",
    vcpu: str = "2",
    memory: str = "4096",
    name_prefix: str = "automl-",
) -> dict[str, Any]:
    batch_id = "4c7599ae-0a82-49aa-ba5a-4727fcce14a8"
    attempts = attempts or []
    detail: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{batch_id}",
        "jobName": f"{name_prefix}{job_id}",
        "jobId": batch_id,
        "jobQueue": QUEUE_ARN,
        "status": status,
        "attempts": attempts,
        "createdAt": 1_700_000_000_000,
        "retryStrategy": {"attempts": 3, "evaluateOnExit": []},
        "dependsOn": [],
        "jobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/automl-training:1",
        "parameters": {},
        "container": {
            "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/cdk-assets:abc",
            "command": ["python", "-m", "training", "run", f"s3://bucket/runs/{job_id}/spec.json"],
            "volumes": [],
            "environment": [{"name": "AUTOML_JOB_ID", "value": job_id}],
            "mountPoints": [],
            "ulimits": [],
            "networkInterfaces": [],
            "resourceRequirements": [
                {"value": vcpu, "type": "VCPU"},
                {"value": memory, "type": "MEMORY"},
            ],
            "secrets": [],
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
            "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
        },
        "tags": {},
        "propagateTags": False,
        "platformCapabilities": ["FARGATE"],
    }
    if reason:
        detail["statusReason"] = reason
    if attempts:
        detail["startedAt"] = attempts[0]["startedAt"]
        detail["stoppedAt"] = attempts[-1]["stoppedAt"]
        detail["container"].update(attempts[-1]["container"])
    return {
        "version": "0",
        "id": "c8f9c4b5-76e5-d76a-f980-7011e206042b",
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "account": ACCOUNT,
        "time": "2026-11-26T12:00:00Z",
        "region": REGION,
        "resources": [detail["jobArn"]],
        "detail": detail,
    }
