"""EventBridge rules that feed the completion Lambda, and the queue for what it cannot take."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_batch as batch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.aws import (
    BATCH_EVENT_DETAIL_TYPE,
    BATCH_EVENT_SOURCE,
    BATCH_FAILED,
    BATCH_RUNNING,
    BATCH_SUCCEEDED,
    SWEEP_EVENT,
    SWEEP_EVERY_MINUTES,
    TRAINING_EVENT_DETAIL_TYPE,
    TRAINING_EVENT_SOURCE,
)

# RUNNING says the job started (it may have waited for capacity); SUCCEEDED and FAILED end
# it (FAILED is final: Batch has already retried what the retry strategy allows).
BATCH_STATUSES = [BATCH_RUNNING, BATCH_SUCCEEDED, BATCH_FAILED]


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """Events the completion Lambda could not take, kept two weeks for a person to look at."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )


class CompletionEvents(Construct):
    """Batch job state changes of our queue, and the training job's own events."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_queue: batch.IJobQueue,
        training_bus: events.IEventBus,
        completion: lambda_.IFunction,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        target = targets.LambdaFunction(
            completion,
            dead_letter_queue=dead_letters,
            retry_attempts=8,
            max_event_age=Duration.hours(2),
        )
        self.batch_rule = events.Rule(
            self,
            "BatchJobStateChange",
            description="AutoML training jobs started, succeeded or failed",
            event_pattern=events.EventPattern(
                source=[BATCH_EVENT_SOURCE],
                detail_type=[BATCH_EVENT_DETAIL_TYPE],
                detail={"jobQueue": [job_queue.job_queue_arn], "status": BATCH_STATUSES},
            ),
            targets=[target],
        )
        self.training_rule = events.Rule(
            self,
            "TrainingEvent",
            description="AutoML training jobs' own started/progress/finished events",
            event_bus=training_bus,
            event_pattern=events.EventPattern(
                source=[TRAINING_EVENT_SOURCE], detail_type=[TRAINING_EVENT_DETAIL_TYPE]
            ),
            targets=[target],
        )
        # Reconciles queued and running jobs with Batch: a job whose events were lost ends.
        self.sweep_rule = events.Rule(
            self,
            "Sweep",
            description="AutoML: end jobs Batch no longer runs (their events were lost)",
            schedule=events.Schedule.rate(Duration.minutes(SWEEP_EVERY_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    completion,
                    event=events.RuleTargetInput.from_object(SWEEP_EVENT),
                    dead_letter_queue=dead_letters,
                    retry_attempts=2,
                    max_event_age=Duration.minutes(SWEEP_EVERY_MINUTES),
                )
            ],
        )
