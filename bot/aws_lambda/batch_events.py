"""AWS Batch "Batch Job State Change" events, read for how a job ended (`JobEnding`).

The event's shape is AWS's (see the Batch user guide, "EventBridge"): `detail` holds the
job as `DescribeJobs` would return it, with one entry in `attempts` per task that ran.
"""

from __future__ import annotations

import re
from typing import Any

from bot.backends.aws.launcher import job_id_from_batch_name
from bot.cost import Attempt, FargatePrices, job_cost
from bot.messages.failure import AWS_NO_RESULT, AWS_REASONS, aws_exit_code
from bot.ports import JobEnding
from contract.aws import BATCH_FAILED

# Batch's and ECS's status reasons, by kind; `AWS_REASONS` explains each kind to a person.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Job attempt duration exceeded timeout", re.I), "timeout"),
    (re.compile(r"Spot.*interrupt|interrupt.*Spot", re.I), "spot"),
    (re.compile(r"CAPACITY:|INSUFFICIENT", re.I), "capacity"),
    (re.compile(r"MISCONFIGURATION:", re.I), "misconfiguration"),
    (re.compile(r"CannotPullContainer|ResourceInitializationError|CannotStart", re.I), "container"),
    (re.compile(r"OutOfMemory|OOM", re.I), "memory"),
    (re.compile(r"Cancel|Terminat", re.I), "stopped"),
)


def job_id_of(detail: dict[str, Any]) -> str | None:
    """Our job id, from the Batch job's name (`automl-<job id>`); None for other jobs."""
    return job_id_from_batch_name(str(detail.get("jobName") or ""))


def _resources(detail: dict[str, Any]) -> tuple[float, int] | None:
    container = detail.get("container") or {}
    found = {r.get("type"): r.get("value") for r in container.get("resourceRequirements") or []}
    try:
        return float(found["VCPU"]), int(float(found["MEMORY"]))
    except (KeyError, TypeError, ValueError):
        return None


def attempts_of(detail: dict[str, Any]) -> list[Attempt]:
    """Every attempt that ran a task, with its vCPU, memory and running time."""
    resources = _resources(detail)
    if resources is None:
        return []
    vcpu, memory_mib = resources
    out = []
    for attempt in detail.get("attempts") or []:
        started, stopped = attempt.get("startedAt"), attempt.get("stoppedAt")
        if isinstance(started, int | float) and isinstance(stopped, int | float) and started:
            out.append(Attempt(vcpu, memory_mib, max(0.0, (stopped - started) / 1000)))
    return out


def _containers(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The attempts' containers, the latest first, then the job's own."""
    attempts = detail.get("attempts") or []
    containers = [a.get("container") for a in reversed(attempts)]
    return [c or {} for c in (*containers, detail.get("container"))]


def exit_code_of(detail: dict[str, Any]) -> int | None:
    codes = (c.get("exitCode") for c in _containers(detail))
    return next((code for code in codes if isinstance(code, int)), None)


def log_stream_of(detail: dict[str, Any]) -> str | None:
    streams = (c.get("logStreamName") for c in _containers(detail))
    return next((str(stream) for stream in streams if stream), None)


def reason_sentence(detail: dict[str, Any]) -> str:
    """Why a job ended without a result, in words; Batch's own reason goes to the log."""
    reasons = [str(detail.get("statusReason") or "")]
    reasons += [str(a.get("statusReason") or "") for a in detail.get("attempts") or []]
    for pattern, kind in _REASONS:
        if any(pattern.search(reason) for reason in reasons):
            return AWS_REASONS[kind]
    code = exit_code_of(detail)
    if code is not None and code != 0:
        return aws_exit_code(code)
    return AWS_NO_RESULT


def ending_of(detail: dict[str, Any], *, prices: FargatePrices, log_tail: str = "") -> JobEnding:
    cost = job_cost(attempts_of(detail), prices)
    return JobEnding(
        exit_code=exit_code_of(detail),
        detail=reason_sentence(detail) if detail.get("status") == BATCH_FAILED else "",
        log_tail=log_tail,
        cost=cost.sentence() if cost else "",
    )
