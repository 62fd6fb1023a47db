"""Alarms, to one SNS topic a person subscribes to (`automl:alarm_email`).

- the completion Lambda's dead-letter queue is not empty: job events nobody acted on;
- any Lambda's errors or throttles;
- the bot's lazy half failed (async events dropped after its one attempt, or not handed to
  the completion Lambda, which tells the person: bot/aws_lambda/failed_requests.py);
- a training job failed on Batch: Batch publishes no CloudWatch metric for that, so an
  EventBridge rule sends each FAILED job of this stack's queue (after Batch's retries) to the
  topic, with its name and Batch's reason.

Missing data is not breaching: an idle stack publishes no Lambda metrics at all.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_batch as batch
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.aws import BATCH_EVENT_DETAIL_TYPE, BATCH_EVENT_SOURCE, BATCH_FAILED
from infra.nag import acknowledge

PERIOD = Duration.minutes(5)
FAILURE_REASON = "$.detail.statusReason"


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        email: str,
        functions: dict[str, lambda_.IFunction],
        lazy_half: lambda_.IFunction,
        dead_letters: sqs.Queue,
        job_queue: batch.IJobQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name="AutoML bot alarms", enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        acknowledge(
            self.topic,
            "AwsSolutions-SNS2",
            "Alarm notices carry metric names and Batch job names, no data. CloudWatch "
            "cannot publish to a topic encrypted with the AWS managed key, and a customer "
            "managed key would cost more than the notices are worth protecting.",
        )
        self._action = actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        self._alarm(
            "DeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            "Job events the completion Lambda could not take are waiting in its dead-letter "
            "queue: their threads were not answered.",
        )
        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                f"The {name} Lambda failed invocations (its log group has the errors).",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                f"The {name} Lambda was throttled: requests were refused or delayed.",
            )
        self._alarm(
            "LazyHalfFailed",
            _lambda_metric(lazy_half, "AsyncEventsDropped"),
            "A request's slow half (the bot's self-invocation) failed; the person was told "
            "in the thread, if the completion Lambda could reach Slack.",
        )
        self._alarm(
            "LazyHalfNotHandedOn",
            _lambda_metric(lazy_half, "DestinationDeliveryFailures"),
            "A failed slow half could not be handed to the completion Lambda: nobody told "
            "the person their request died.",
        )

        self.batch_failed_rule = events.Rule(
            self,
            "TrainingJobFailed",
            description="AutoML training jobs that failed on Batch -> the alarm topic",
            event_pattern=events.EventPattern(
                source=[BATCH_EVENT_SOURCE],
                detail_type=[BATCH_EVENT_DETAIL_TYPE],
                detail={"jobQueue": [job_queue.job_queue_arn], "status": [BATCH_FAILED]},
            ),
            targets=[
                targets.SnsTopic(
                    self.topic,
                    message=events.RuleTargetInput.from_text(
                        f"AutoML training job {events.EventField.from_path('$.detail.jobName')}"
                        f" failed on AWS Batch: {events.EventField.from_path(FAILURE_REASON)}"
                    ),
                )
            ],
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        self.alarms[construct_id] = alarm


def _lambda_metric(function: lambda_.IFunction, name: str) -> cloudwatch.Metric:
    return function.metric(name, period=PERIOD, statistic="Sum")
